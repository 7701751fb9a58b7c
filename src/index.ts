export { TaskQueue } from './task-queue.js';
export { Scheduler, scheduleId } from './scheduler/scheduler.js';
export type { SchedulerOptions, ScheduleRequest, ScheduleKey, Schedule, SchedulerEvents } from './scheduler/scheduler.js';
export { nextRun, validateCron, validateTimezone } from './scheduler/cron.js';
export type { CatchUp } from './scheduler/cron.js';
export { Worker, withError } from './worker.js';
export type { WorkerOptions, WorkerState, TaskHandler, TaskContext } from './worker.js';
export type { WorkerEvents } from './worker-events.js';
export { defineTask } from './task-definition.js';
export type { TaskDefinition } from './task-definition.js';
export { backoffDelay, DEFAULT_BACKOFF } from './backoff.js';
export type { TaskQueueOptions } from './task-queue.js';
export type { DequeueOptions } from './commands/dequeue.js';
export type { LeaseOptions } from './commands/lease.js';
export type { RetryLaterOptions } from './commands/retry-later.js';
export type { RecoveryReport } from './commands/recover.js';
export type { EventsOptions } from './projections/events.js';
export type { VerifyReport, FoldProgressOptions } from './projections/verify.js';
export type { QueueStats, QueueState } from './projections/stats.js';
export type { RebuildReport } from './projections/rebuild.js';
export { foldEvent, foldAll } from './projections/fold.js';
export type { ProjectionHash, RawEvent } from './projections/fold.js';
export { FOLD_RULES } from './projections/fold-rules.js';
export { FORMAT_VERSION } from './connection.js';
export {
  TaskLedgerError,
  TaskCancelledError,
  TaskFinishedError,
  TaskNotRunningError,
  TaskNotFoundError,
  TaskFailedError,
  LeaseLostError,
  QueueNotSpecifiedError,
  TypeNotSpecifiedError,
  NotScheduledError,
  ValidationError,
  FormatVersionError,
  RedisUnavailableError,
  AbortError,
  QueueClosedError,
  InternalError,
  UnrecoverableError,
  TaskTimeoutError,
  NoHandlerError,
  WorkerClosedError,
} from './errors.js';
export { TASK_STATUSES } from './types.js';
export type { JsonValue, References, Task, TaskStatus, TaskEvent, TaskEventType, EnqueueRequest, BackoffOptions } from './types.js';
