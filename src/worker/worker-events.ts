import type { TaskLedgerError } from '../errors.js';
import type { JsonValue, Task } from '../types.js';

/** What a worker reports, with each event's arguments. */
export interface WorkerEvents {
  'task:started': [task: Task];
  'task:progress': [task: Task, progress: JsonValue];
  'task:finished': [task: Task, result: JsonValue | null];
  /** The task failed for good (no retries left, or an UnrecoverableError). */
  'task:failed': [task: Task, error: Error];
  /** The handler failed and the task will run again after delayMs. */
  'task:retrying': [task: Task, error: Error, delayMs: number];
  /**
   * The handler threw a RateLimitedError: the task went back to waiting (its attempt not used up) and its
   * queue starts nothing for delayMs.
   */
  'task:rate-limited': [task: Task, delayMs: number];
  /** The handler ran past its deadline: its signal aborted and the task failed (or will retry). */
  'task:timeout': [task: Task, error: Error];
  /** The task is no longer this worker's (cancelled, or stalled and taken by another): nothing more is written. */
  'task:lost': [task: Task, reason: TaskLedgerError];
  /** A problem the worker survived: Redis errors in its loop, or a listener that threw. */
  error: [error: unknown];
  closed: [];
}
