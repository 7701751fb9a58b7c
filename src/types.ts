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
  progress: JsonValue;
  references: References;
  /** Number of times the task has been started. */
  attempt: number;
  /**
   * The current holder's fencing token (the id of the `started` event that gave it the task), or null for a
   * task never started. heartbeat/finish/fail with an older lease are refused with LeaseLostError.
   */
  lease: string | null;
  maxAttempts: number;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  lastHeartbeatAt: Date | null;
}

export type TaskEventType =
  | 'enqueued'
  | 'started'
  | 'progress'
  | 'finished'
  | 'failed'
  | 'cancelled'
  | 'requeued'
  | 'deleted';

export interface TaskEvent {
  /** The event's stream id: its position in the log. */
  id: string;
  taskId: string;
  type: TaskEventType;
  /** Redis time of the transition (the stream id's milliseconds). */
  at: Date;
  data: Record<string, JsonValue>;
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
  /** Starts allowed before a stalled task is failed; defaults to the queue's maxAttempts. */
  maxAttempts?: number;
}
