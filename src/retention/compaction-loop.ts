import type { ReadContext } from '../context/read-context.js';
import { PeriodicPass } from '../context/periodic-pass.js';
import { compact, type CompactionReport } from './compact.js';
import type { CompactionConfig } from './options.js';

/**
 * A compaction pass every `intervalMs` in the background. Every instance tries; the lock lets one pass run
 * at a time. A pass that did something is handed to `onPass` (TaskQueue's 'compacted' event).
 */
export const compactionLoop = (
  ctx: ReadContext,
  config: CompactionConfig,
  intervalMs: number,
  onPass: (report: CompactionReport) => void,
): PeriodicPass =>
  new PeriodicPass(ctx, intervalMs, async () => {
    const report = await compact(ctx, config);
    const did = report.removedTasks + report.snapshots + report.archivedEvents + report.trimmedEvents;
    if (!report.skipped && did > 0) onPass(report);
  });
