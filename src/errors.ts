/**
 * Every error taskledger throws is a TaskLedgerError with a stable `code`.
 * Codes are part of the public contract: docs/errors.md lists each one, and a test keeps the two in step.
 */
export class TaskLedgerError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

export class TaskCancelledError extends TaskLedgerError {
  constructor(taskId: string) {
    super('ERR_TASK_CANCELLED', `task ${taskId} has been cancelled`);
  }
}

export class TaskFinishedError extends TaskLedgerError {
  constructor(taskId: string) {
    super('ERR_TASK_FINISHED', `task ${taskId} has finished`);
  }
}

export class TaskNotRunningError extends TaskLedgerError {
  constructor(taskId: string) {
    super('ERR_TASK_NOT_RUNNING', `task ${taskId} is not running (it is waiting to be dequeued)`);
  }
}

export class TaskNotFoundError extends TaskLedgerError {
  constructor(taskId: string) {
    super('ERR_TASK_NOT_FOUND', `task ${taskId} not found`);
  }
}

export class TaskFailedError extends TaskLedgerError {
  constructor(taskId: string) {
    super('ERR_TASK_FAILED', `task ${taskId} has failed`);
  }
}

/** The task was taken from this worker (stalled, re-queued and started again): its writes are fenced off. */
export class LeaseLostError extends TaskLedgerError {
  constructor(taskId: string) {
    super(
      'ERR_TASK_LEASE_LOST',
      `task ${taskId} is no longer held by this caller's lease (it stalled, was re-queued and started again)`,
    );
  }
}

export class QueueNotSpecifiedError extends TaskLedgerError {
  constructor() {
    super('ERR_QUEUE_NOT_SPECIFIED', 'task queue name cannot be blank');
  }
}

export class TypeNotSpecifiedError extends TaskLedgerError {
  constructor() {
    super('ERR_TYPE_NOT_SPECIFIED', 'task type cannot be blank');
  }
}

export class NotScheduledError extends TaskLedgerError {
  constructor(what: string) {
    super('ERR_NOT_SCHEDULED', `task not currently scheduled: ${what}`);
  }
}

export class ValidationError extends TaskLedgerError {
  /** `code` is for subclasses, which name a kind of bad input of their own. */
  constructor(message: string, options?: { code?: string }) {
    super(options?.code ?? 'ERR_VALIDATION', message);
  }
}

/**
 * A spec, progress or result whose JSON text is larger than the queue's `maxPayloadBytes`. A ValidationError
 * (bad input, nothing sent) with a code of its own, so a caller can tell it apart from a malformed value.
 */
export class PayloadTooLargeError extends ValidationError {
  constructor(what: string, bytes: number, limit: number) {
    super(`${what} is ${bytes} bytes of JSON, more than maxPayloadBytes (${limit}); nothing was sent`, {
      code: 'ERR_PAYLOAD_TOO_LARGE',
    });
  }
}

/**
 * The task's queue was not the one read just before the call: the task was deleted and enqueued again under
 * the same id in another queue meanwhile. Nothing was written; the call may be made again.
 */
export class TaskQueueChangedError extends TaskLedgerError {
  constructor(taskId: string) {
    super(
      'ERR_TASK_QUEUE_CHANGED',
      `task ${taskId} moved to another queue during the call (deleted and enqueued again); nothing was written`,
    );
  }
}

/**
 * Other enqueues kept changing a dedup key between this call's read of it and its write, many times over:
 * nothing was stored, and the call may be made again.
 */
export class DedupBusyError extends TaskLedgerError {
  constructor(key: string, tries: number) {
    super('ERR_DEDUP_BUSY', `dedup key ${JSON.stringify(key)} kept changing under ${tries} tries; nothing was stored`);
  }
}

/** The task is running: only a waiting task's priority can change (setPriority). Nothing was written. */
export class TaskRunningError extends TaskLedgerError {
  constructor(taskId: string) {
    super('ERR_TASK_RUNNING', `task ${taskId} is running: only a waiting task's priority can change`);
  }
}

/** The namespace was written by a newer taskledger whose stored format this version cannot read. */
export class FormatVersionError extends TaskLedgerError {
  constructor(namespace: string, found: number, supported: number) {
    super(
      'ERR_FORMAT_VERSION',
      `namespace "${namespace}" uses storage format ${found}, but this taskledger supports up to ${supported}; upgrade taskledger`,
    );
  }
}

/**
 * The namespace records another partition count than this instance was given (or holds tasks and records
 * none, so it must be migrated first). Nothing was written.
 */
export class PartitionMismatchError extends TaskLedgerError {
  constructor(namespace: string, recorded: number, given: number, detail = '') {
    super(
      'ERR_PARTITION_MISMATCH',
      `namespace "${namespace}" has ${recorded} partition${recorded === 1 ? '' : 's'}, but this instance was given ${given}${detail}`,
    );
  }
}

/** A cursor, an export line or a call names a partition the namespace does not have. */
export class UnknownPartitionError extends TaskLedgerError {
  constructor(partition: unknown, partitions: number, where: string) {
    super(
      'ERR_UNKNOWN_PARTITION',
      `${where} names partition ${JSON.stringify(partition)}, but the namespace has partitions 0 to ${partitions - 1}`,
    );
  }
}

/**
 * A request's routes disagree: a caller-chosen id routes to one partition and its partitionKey, dedup key
 * or pinned queue to another. Nothing was stored.
 */
export class PartitionRouteError extends TaskLedgerError {
  constructor(message: string) {
    super('ERR_PARTITION_ROUTE', message);
  }
}

/**
 * `durability` was set and WAIT saw fewer replicas acknowledge the write than asked within its timeout. The
 * write is on the primary; a failover before it reaches a replica may lose it.
 */
export class NotReplicatedError extends TaskLedgerError {
  constructor(acked: number, replicas: number, timeoutMs: number) {
    super(
      'ERR_NOT_REPLICATED',
      `the write reached ${acked} of ${replicas} replica${replicas === 1 ? '' : 's'} within ${timeoutMs} ms; it is on the primary, not yet safe from a failover`,
    );
  }
}

export class RedisUnavailableError extends TaskLedgerError {
  constructor(message: string, cause?: unknown) {
    super('ERR_REDIS_UNAVAILABLE', message, { cause });
  }
}

/** dequeue() was stopped by its AbortSignal (events() just ends). */
/** A dashboard asked to listen beyond loopback without auth: it would show and act on every task to anyone. */
export class DashboardAuthRequiredError extends TaskLedgerError {
  constructor(host: string) {
    super(
      'ERR_DASHBOARD_AUTH_REQUIRED',
      `a dashboard on ${host} (not loopback) needs auth: a token or a username and password`,
    );
  }
}

export class AbortError extends TaskLedgerError {
  constructor(message = 'the operation was aborted') {
    super('ERR_ABORTED', message);
  }
}

/** The queue was closed while the call was in progress, or used after close(). */
export class QueueClosedError extends TaskLedgerError {
  constructor() {
    super('ERR_QUEUE_CLOSED', 'the task queue is closed');
  }
}

/** Thrown by a handler to fail its task at once, without the retries it would otherwise get. */
export class UnrecoverableError extends TaskLedgerError {
  constructor(message: string) {
    super('ERR_UNRECOVERABLE', message);
  }
}

/**
 * Thrown by a handler when a downstream service limits it (an HTTP 429): the task goes back to waiting
 * without using up an attempt, and its whole queue starts nothing for `delayMs` (Redis clock), across every
 * worker.
 */
export class RateLimitedError extends TaskLedgerError {
  readonly delayMs: number;
  constructor(delayMs: number, message = `rate limited: the queue waits ${delayMs} ms`) {
    super('ERR_RATE_LIMITED', message);
    if (typeof delayMs !== 'number' || !Number.isInteger(delayMs) || delayMs < 0 || delayMs > 2 ** 31 - 1)
      throw new ValidationError('RateLimitedError delayMs must be a whole number of ms from 0 to 2147483647');
    this.delayMs = delayMs;
  }
}

/** A handler ran past its deadline (the reason its signal aborts with). */
export class TaskTimeoutError extends TaskLedgerError {
  constructor(taskId: string, timeoutMs: number) {
    super('ERR_TASK_TIMEOUT', `task ${taskId} timed out after ${timeoutMs} ms`);
  }
}

/** The worker has no handler for the task's type; the task fails with this reason. */
export class NoHandlerError extends TaskLedgerError {
  constructor(type: string) {
    super('ERR_NO_HANDLER', `no handler for task type "${type}"`);
  }
}

/** The worker closed before the handler ended (the reason its signal aborts with); the task went back to waiting. */
export class WorkerClosedError extends TaskLedgerError {
  constructor(taskId: string) {
    super(
      'ERR_WORKER_CLOSED',
      `the worker closed before task ${taskId} ended; the task was released back to its queue`,
    );
  }
}

/**
 * Redis is over its maxmemory and may not evict (`maxmemory-policy noeviction`): it refused a write, which
 * wrote nothing. Free memory (or raise maxmemory); writes go through again as soon as there is room.
 */
export class RedisOutOfMemoryError extends TaskLedgerError {
  constructor(cause?: unknown) {
    super(
      'ERR_REDIS_OOM',
      'Redis is out of memory (over maxmemory, with no eviction) and refused the write; nothing was written',
      { cause },
    );
  }
}

/**
 * The library error a Redis error reply stands for, or the error itself when none does: the one place
 * Redis' own errors become library errors (extend it here, not at the call sites).
 */
export function fromRedisError(err: unknown): unknown {
  // Redis' reply code leads the message, also when a script's redis.call met it ("OOM command not allowed...").
  if (err instanceof Error && err.message.startsWith('OOM ')) return new RedisOutOfMemoryError(err);
  return maxRetriesError(err) ?? err;
}

/**
 * ioredis gave up on a command after `maxRetriesPerRequest` reconnects (Redis down or unreachable). Matched
 * by name: ioredis does not export the class.
 */
export function maxRetriesError(err: unknown): RedisUnavailableError | undefined {
  if (!(err instanceof Error) || err.name !== 'MaxRetriesPerRequestError') return undefined;
  return new RedisUnavailableError(`Redis did not answer: ${err.message}`, err);
}

/** A script answered with something this version does not understand: a bug, never a user error. */
export class InternalError extends TaskLedgerError {
  constructor(message: string) {
    super('ERR_INTERNAL', message);
  }
}

/**
 * Status codes returned by the Lua transition scripts (src/lua/includes/codes.lua), mapped to error classes
 * here and nowhere else.
 */
export const LuaCode = {
  OK: 1,
  NOT_FOUND: -1,
  NOT_RUNNING: -2,
  CANCELLED: -3,
  FINISHED: -4,
  FAILED: -5,
  LEASE_LOST: -6,
  QUEUE_CHANGED: -7,
  RUNNING: -8,
} as const;

export function errorFromCode(code: number, taskId: string): TaskLedgerError | null {
  switch (code) {
    case LuaCode.OK:
      return null;
    case LuaCode.NOT_FOUND:
      return new TaskNotFoundError(taskId);
    case LuaCode.NOT_RUNNING:
      return new TaskNotRunningError(taskId);
    case LuaCode.CANCELLED:
      return new TaskCancelledError(taskId);
    case LuaCode.FINISHED:
      return new TaskFinishedError(taskId);
    case LuaCode.FAILED:
      return new TaskFailedError(taskId);
    case LuaCode.LEASE_LOST:
      return new LeaseLostError(taskId);
    case LuaCode.QUEUE_CHANGED:
      return new TaskQueueChangedError(taskId);
    case LuaCode.RUNNING:
      return new TaskRunningError(taskId);
    default:
      return new InternalError(`unexpected script status ${code} for task ${taskId}`);
  }
}

/**
 * True for the errors of a transition Redis refused because the task is not the caller's to change any
 * more (cancelled, finished, failed, lease lost, not found...): not for bad input, an unreachable Redis or
 * a closed queue, which say nothing about the task.
 */
export function isRefusal(err: unknown): err is TaskLedgerError {
  return (
    err instanceof TaskLedgerError &&
    err.code !== 'ERR_VALIDATION' &&
    err.code !== 'ERR_PAYLOAD_TOO_LARGE' &&
    err.code !== 'ERR_REDIS_UNAVAILABLE' &&
    err.code !== 'ERR_REDIS_OOM' &&
    err.code !== 'ERR_QUEUE_CLOSED'
  );
}

/** Throws the error a Lua status code stands for. */
export function throwOnCode(code: number, taskId: string): void {
  const err = errorFromCode(code, taskId);
  if (err) throw err;
}

/** The archive's place cannot be used: a directory missing or unwritable, a bucket unreachable or refused. */
export class ArchiveUnavailableError extends TaskLedgerError {
  constructor(message: string, cause?: unknown) {
    super('ERR_ARCHIVE_UNAVAILABLE', message, { cause });
  }
}

/**
 * The archive holds what it did not write: a manifest that does not parse, another namespace's archive, a
 * segment that fails its checksum or signature.
 */
export class ArchiveCorruptError extends TaskLedgerError {
  constructor(message: string, cause?: unknown) {
    super('ERR_ARCHIVE_CORRUPT', message, { cause });
  }
}

/**
 * A compaction pass lost its lock (its process stalled past the lock's 30 s, and another pass took it): it
 * stopped, and its fenced writes were refused. The next pass goes on from where the log is.
 */
export class CompactionLockLostError extends TaskLedgerError {
  constructor(why: string) {
    super('ERR_COMPACTION_LOCK_LOST', `the compaction lock was lost (${why}): this pass stopped`);
  }
}
