export { TaskQueue } from './task-queue.js';
export { Scheduler, scheduleId } from './scheduler/scheduler.js';
export type {
  SchedulerOptions,
  ScheduleRequest,
  ScheduleKey,
  Schedule,
  SchedulerEvents,
} from './scheduler/scheduler.js';
export { nextRun, validateCron, validateTimezone } from './scheduler/cron.js';
export type { CatchUp } from './scheduler/cron.js';
export type { TaskQueueEvents } from './task-queue-events.js';
export { Worker } from './worker/worker.js';
export type { WorkerOptions, WorkerState, TaskHandler } from './worker/worker.js';
export type { TaskContext } from './worker/handler-context.js';
export type { WorkerEvents } from './worker/worker-events.js';
export type { WorkerQueue } from './worker/worker-queue.js';
export { defineTask } from './task-definition.js';
export type { TaskDefinition } from './task-definition.js';
export { backoffDelay, DEFAULT_BACKOFF } from './worker/backoff.js';
export type { ListTasksOptions, TaskQueueOptions } from './task-queue.js';
export type { ListedStatus } from './projections/task-list.js';
export type { DurabilityOptions } from './redis/replication.js';
export type { CompactionReport, CompactOptions } from './retention/compact.js';
export type { CompactionStep } from './retention/log-compaction.js';
export type { RetentionOptions } from './retention/options.js';
export { MAX_RETENTION_MS } from './retention/options.js';
export { MAX_TIMER_MS, MAX_DEADLINE_MS } from './util/long-timer.js';
export type { DequeueOptions } from './dequeue/dequeue.js';
export type { LeaseOptions, ReleaseOptions } from './commands/leases.js';
export type { FinishOptions, FailOptions } from './commands/outcomes.js';
export { MAX_ERROR_TEXT } from './commands/outcomes.js';
export type { RetryLaterOptions } from './commands/retry-later.js';
export type { RecoveryReport } from './worker/recovery.js';
export type { EventsOptions } from './projections/events.js';
export type { VerifyOptions, VerifyReport } from './audit/verify.js';
export type { IndexMismatch, IndexName } from './audit/index-check.js';
export type { IndexRepairReport } from './audit/index-repair.js';
export type { FoldProgressOptions } from './audit/fold-log.js';
export type { QueueStats, QueueState } from './projections/stats.js';
export type { MinuteCount } from './projections/throughput.js';
export { THROUGHPUT_MINUTES } from './projections/throughput.js';
export type { LogStats, CompactionStats, EndedHeld } from './projections/log-stats.js';
export type { RebuildReport } from './audit/rebuild.js';
export { foldEvent, foldAll } from './events/fold.js';
export type { ProjectionHash, RawEvent } from './events/fold.js';
export { FOLD_RULES } from './events/fold-rules.js';
export { FORMAT_VERSION, PARTITIONED_FORMAT } from './redis/connection.js';
export { MAX_PARTITIONS } from './partitions/layout.js';
export { migratePartitions, finishPartitionMigration, type MigrateOptions } from './partitions/migrate.js';
export type { PartitionShare } from './partitions/merge.js';
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
  PayloadTooLargeError,
  TaskQueueChangedError,
  TaskRunningError,
  DedupBusyError,
  PartitionMismatchError,
  NotReplicatedError,
  PartitionRouteError,
  UnknownPartitionError,
  FormatVersionError,
  CompactionLockLostError,
  RedisUnavailableError,
  RedisOutOfMemoryError,
  AbortError,
  DashboardAuthRequiredError,
  QueueClosedError,
  InternalError,
  UnrecoverableError,
  RateLimitedError,
  TaskTimeoutError,
  NoHandlerError,
  WorkerClosedError,
} from './errors.js';
export {
  FileArchive,
  S3Archive,
  ArchiveUnavailableError,
  ArchiveCorruptError,
  type Archive,
  type ArchiveSegment,
  type ArchiveVerifyReport,
  type ArchiveOptions,
  type S3ArchiveOptions,
  type S3ArchiveClient,
} from './archive/index.js';
export { TASK_EVENT_TYPES, TASK_STATUSES } from './types.js';
export {
  DEFAULT_MAX_PAYLOAD_BYTES,
  MAX_PAYLOAD_BYTES,
  MAX_JSON_DEPTH,
  MAX_REFERENCES,
  MAX_NAME_LENGTH,
  MAX_REFERENCE_VALUE_LENGTH,
} from './validation.js';
export type {
  JsonValue,
  References,
  Task,
  TaskError,
  TaskStatus,
  TaskEvent,
  TaskEventType,
  EnqueueRequest,
  BackoffOptions,
  DedupOptions,
  QueueOptions,
  QueueOptionsChange,
} from './types.js';
export type { QueueControls } from './projections/queue-controls.js';
export type { HeldBack } from './dequeue/claim.js';
export { MAX_CONCURRENCY, MAX_RATE } from './commands/queue-options.js';
export { MAX_PRIORITY } from './redis/keys.js';
export { dashboardHandler } from './dashboard/handler.js';
export type { DashboardHandler, DashboardOptions } from './dashboard/handler.js';
export { serveDashboard } from './dashboard/serve.js';
export type { ServeDashboardOptions, ServedDashboard } from './dashboard/serve.js';
export type { DashboardAuth } from './dashboard/auth.js';
