import type { LeaseOptions, ReleaseOptions } from '../commands/leases.js';
import type { FailOptions, FinishOptions } from '../commands/outcomes.js';
import type { RetryLaterOptions } from '../commands/retry-later.js';
import type { Feed } from '../partitions/feed.js';
import type { TaskDefinition } from '../task-definition.js';
import type { JsonValue } from '../types.js';

/** What a Worker needs of its TaskQueue. */
export interface WorkerQueue {
  readonly heartbeatTtlMs: number;
  /** The most bytes of JSON a progress or result may take (checked before the handler's value is sent). */
  readonly maxPayloadBytes?: number;
  definition(type: string): TaskDefinition | undefined;
  /**
   * A feed of started tasks for one worker (any queue when `queues` is undefined).
   * @internal
   */
  prefetcher(queues: readonly string[] | undefined): Feed;
  heartbeat(taskId: string, progress?: JsonValue, options?: LeaseOptions): Promise<void>;
  finish(taskId: string, progress?: JsonValue, options?: FinishOptions): Promise<void>;
  fail(taskId: string, progress?: JsonValue, options?: FailOptions): Promise<void>;
  release(taskId: string, options?: ReleaseOptions): Promise<void>;
  retryLater(taskId: string, options: RetryLaterOptions): Promise<void>;
}
