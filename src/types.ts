export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Flat map of names to values that tie a task to other entities (the seed's References). */
export type References = Record<string, string | number | boolean>;

export type TaskStatus = 'waiting' | 'running' | 'cancelled' | 'finished' | 'failed';

export const TASK_STATUSES: readonly TaskStatus[] = ['waiting', 'running', 'cancelled', 'finished', 'failed'];

export interface Task<Spec extends JsonValue = JsonValue> {
  id: string;
  queue: string;
  type: string;
  spec: Spec;
  status: TaskStatus;
  /** The latest progress the handler reported (or a finish or fail carried); never the result or an error. */
  progress: JsonValue;
  /** What the handler returned (the `result` a finish carried), or null. */
  result: JsonValue;
  /**
   * The error of the last failed attempt (a fail, a retry, a stall on the last attempt), or null. Kept when a
   * later attempt finishes; a `retry` (another run) clears it. Every attempt's error stays in history().
   */
  error: TaskError | null;
  references: References;
  /** Number of times the task has been started. */
  attempt: number;
  /**
   * The current holder's fencing token (the id of the `started` event that gave it the task), or null for a
   * task never started. heartbeat/finish/fail with an older lease are refused with LeaseLostError.
   */
  lease: string | null;
  maxAttempts: number;
  /** Priority level, 0 (the default) to 9: higher runs first, FIFO within a level. */
  priority: number;
  /** The deduplication key the task was enqueued with, or null. */
  dedupKey: string | null;
  /** When a waiting task is delayed (or waits to retry): the time it becomes due. */
  runAt: Date | null;
  /** Retry backoff when the task opted into retries of handler errors, else null. */
  backoff: BackoffOptions | null;
  /** Handler deadline in ms for this task, or null. */
  timeoutMs: number | null;
  /** For a task a schedule emitted: the tick it runs for (its references carry the scheduleId). */
  scheduledAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  lastHeartbeatAt: Date | null;
}

/** An attempt's error as stored: what the thrown Error said. */
export interface TaskError {
  message: string;
  /** The error's `code`, when it had a string one (every TaskLedgerError has). */
  code?: string;
  stack?: string;
}

/** Every event type the log holds. */
export const TASK_EVENT_TYPES = [
  'enqueued',
  'started',
  'progress',
  'finished',
  'failed',
  'cancelled',
  'requeued',
  'retrying',
  'promoted',
  'deleted',
  'scheduled',
  'unscheduled',
  'snapshot',
  'expired',
  'compacted',
  'repaired',
  'reprioritized',
  'replaced',
  'queue-options',
  'partitioned',
] as const;

export type TaskEventType = (typeof TASK_EVENT_TYPES)[number];

export interface TaskEvent {
  /** The event's stream id: its position in the log. */
  id: string;
  /** The task it concerns ('' for a schedule's event). */
  taskId: string;
  /** The schedule it concerns, for `scheduled` and `unscheduled` events. */
  scheduleId?: string;
  type: TaskEventType;
  /** Redis time of the transition (the stream id's milliseconds). */
  at: Date;
  data: Record<string, JsonValue>;
  /**
   * The partition whose log holds it, on a namespace of several partitions (§20); `${id}/${partition}` is
   * its place in the merged replay (events({ after })). Absent with one partition.
   */
  partition?: number;
}

export interface EnqueueRequest<Spec extends JsonValue = JsonValue> {
  /**
   * The task id; default a new ULID. Enqueueing an id that exists stores nothing and returns the id, so a
   * caller that retries after a timeout with the same id never creates a duplicate.
   */
  id?: string;
  queue: string;
  type: string;
  spec?: Spec;
  references?: References;
  /**
   * Starts allowed in all. Defaults to the queue's maxAttempts, which only bounds stalls (a worker that died).
   * Giving it here, or giving `backoff`, also opts the task into retries of handler errors.
   */
  maxAttempts?: number;
  /** Retry delays after handler errors (opts into retries). Default when retries are on: exponential from 1 s. */
  backoff?: BackoffOptions;
  /** Not delivered before this many ms from now (Redis clock). */
  delayMs?: number;
  /** Not delivered before this time. */
  runAt?: Date | number;
  /** Handler deadline for this task in ms; past it the worker aborts the handler and fails (or retries) it. */
  timeoutMs?: number;
  /** Priority level, 0 (the default) to 9: higher runs first, FIFO within a level. */
  priority?: number;
  /** Deduplication: a second enqueue with the same key returns the existing task's id and stores nothing. */
  dedup?: DedupOptions;
  /**
   * On a namespace of several partitions, tasks with one partitionKey all go to one partition, in the order
   * they were enqueued (docs/architecture.md §20). Ignored with one partition.
   */
  partitionKey?: string;
}

export interface DedupOptions {
  /** The deduplication key (a name: 1–256 characters). */
  key: string;
  /**
   * Without it the key is held while its task is waiting or running, and freed when the task ends. With it,
   * the key is held for this many ms from the first enqueue, whatever the task's status (a throttle).
   */
  ttlMs?: number;
  /**
   * Debounce: when the task holding the key is still waiting, its spec is replaced by this request's (a
   * `replaced` event); the existing id is returned either way.
   */
  replace?: boolean;
}

/** A queue's controls, enforced in Redis in the call that starts a task, across every worker. */
export interface QueueOptions {
  /** A paused queue starts nothing new; enqueue still works and running tasks finish. */
  paused: boolean;
  /** Most tasks of the queue running at once, across every worker and instance; null for no cap. */
  concurrency: number | null;
  /** At most `max` starts in any window of `perMs` ms (Redis clock); null for no limit. */
  rateLimit: { max: number; perMs: number } | null;
  /**
   * Priority aging: a level whose oldest waiting entry has waited this long is served before higher levels,
   * so no level starves; null for strict priority.
   */
  agingMs: number | null;
}

/** What setQueueOptions takes: the options to change; null removes a cap, a limit or aging. */
export interface QueueOptionsChange {
  concurrency?: number | null;
  rateLimit?: { max: number; perMs: number } | null;
  agingMs?: number | null;
}

export interface BackoffOptions {
  /** 'exponential' (default): delayMs * 2^(attempt - 1); 'fixed': delayMs every time. */
  type?: 'exponential' | 'fixed';
  /** Base delay in ms. Default 1000. */
  delayMs?: number;
  /** Upper bound of one delay in ms. Default 1 hour. */
  maxDelayMs?: number;
  /** Random spread as a fraction of the delay: 0.25 means +/- 25%. Default 0.25. */
  jitter?: number;
}
