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
}
