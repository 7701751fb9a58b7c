import type { HeldBack } from './dequeue/claim.js';
import type { CompactionReport } from './retention/compact.js';

/** What a TaskQueue reports, with each event's arguments. */
export interface TaskQueueEvents {
  /**
   * Background work failed: a recovery pass, or giving back a task started for a dequeue() caller that was
   * gone. Nothing is lost (the next pass tries again; a task not given back stalls and is recovered), but
   * an app should log these. With no listener they are dropped.
   */
  error: [error: unknown];
  /** A compaction pass on the timer did something (on-demand passes answer compact()'s caller). */
  compacted: [report: CompactionReport];
  /**
   * A reader of this instance found queues held back by their controls (paused, a RateLimitedError hold, a
   * concurrency cap or a rate limit reached): one event per claim that found any, with each queue's ready
   * entries left waiting. The metrics count the starts held back from it.
   */
  held: [held: readonly HeldBack[]];
}
