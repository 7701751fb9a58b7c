import { partitionArchive } from '../archive/archive.js';
import type { ReadContext } from '../context/read-context.js';
import { ENDED_STATUSES } from '../redis/keys.js';
import { redisNow } from '../redis/time.js';
import { expireEnded } from './expire.js';
import { compactLog, type CompactionStep } from './log-compaction.js';
import { CompactionLock } from './compaction-lock.js';
import { hasRetention, type CompactionConfig } from './options.js';

export interface CompactionReport {
  /** Nothing was written: the counts say what a pass would do. */
  dryRun: boolean;
  /** Why nothing was done, when nothing was (no retention configured, another instance compacting). */
  skipped?: string;
  /** Ended tasks whose projection went (retention). */
  removedTasks: number;
  /** Live tasks given a snapshot before their earlier events were trimmed. */
  snapshots: number;
  /** Events put in the archive. */
  archivedEvents: number;
  /** Events removed from the log. */
  trimmedEvents: number;
  /** Log entries before this id are gone; null when nothing was trimmed. */
  trimmedTo: string | null;
  /** The log's size in bytes (MEMORY USAGE, sampled) before minus after; an estimate. */
  reclaimedLogBytes: number;
  /** When the pass began (ms, Redis clock) and how long it took (ms). */
  startedAt: number;
  durationMs: number;
}

/** Thrown between steps when the queue closes: the pass stops there. */
class Closing extends Error {}

export interface CompactOptions {
  /** Count what a pass would do; write nothing. */
  dryRun?: boolean;
  /** Told after each step of the pass (for progress, or to see where a pass stopped). */
  onStep?: (step: CompactionStep) => void;
}

/**
 * One compaction pass: ended tasks past their retention lose their projection, then the log is archived,
 * snapshotted and trimmed below `logMs` (log-compaction.ts). One instance at a time (compaction-lock.ts);
 * `skipped` says so when another holds the lock.
 */
export async function compact(
  ctx: ReadContext,
  config: CompactionConfig,
  options: CompactOptions = {},
): Promise<CompactionReport> {
  const dryRun = options.dryRun ?? false;
  const startedAt = await redisNow(ctx.redis);
  const report: CompactionReport = {
    dryRun,
    removedTasks: 0,
    snapshots: 0,
    archivedEvents: 0,
    trimmedEvents: 0,
    trimmedTo: null,
    reclaimedLogBytes: 0,
    startedAt,
    durationMs: 0,
  };
  if (!hasRetention(config)) return { ...report, skipped: 'no retention configured: nothing to compact' };
  const lock = dryRun ? null : await CompactionLock.take(ctx);
  if (lock === null && !dryRun) return { ...report, skipped: 'another instance is compacting' };
  const between = () => {
    if (ctx.life.closed) throw new Closing();
    lock?.check();
    return Promise.resolve();
  };
  try {
    for (const status of ENDED_STATUSES) {
      const ms = config.ended[status];
      if (ms === undefined) continue;
      const removed = await expireEnded(ctx, status, startedAt - ms, dryRun, between);
      report.removedTasks += removed;
      if (!dryRun) options.onStep?.({ step: 'expired', count: removed });
    }
    if (config.logMs !== undefined) {
      // Each partition's log goes to its own archive, bound to its tag (§20; partition 0's is the namespace).
      const archive = config.archive ? partitionArchive(config.archive, ctx.keys.partition) : null;
      if (archive) await archive.open(ctx.keys.tag);
      const before = await logBytes(ctx);
      const log = await compactLog(ctx, {
        point: `${startedAt - config.logMs}-0`,
        archive,
        dryRun,
        retention: config.retention,
        between,
        token: lock?.token ?? '',
        ...(options.onStep ? { onStep: options.onStep } : {}),
      });
      Object.assign(report, log);
      if (!dryRun) report.reclaimedLogBytes = Math.max(0, before - (await logBytes(ctx)));
    }
  } catch (err) {
    // The queue is closing: the pass stops after its current step, which is a safe place to stop at any time.
    if (!(err instanceof Closing)) throw err;
    report.skipped = 'stopped: the queue is closing';
  } finally {
    await lock?.release();
  }
  report.durationMs = (await redisNow(ctx.redis)) - startedAt;
  if (!dryRun) await recordPass(ctx, report);
  return report;
}

async function logBytes(ctx: ReadContext): Promise<number> {
  try {
    return Number(await ctx.redis.memory('USAGE', ctx.keys.events, 'SAMPLES', 5)) || 0;
  } catch {
    return 0; // managed Redis may refuse MEMORY
  }
}

/** The last pass and the bytes reclaimed so far, in the metadata, for stats, metrics and doctor. */
async function recordPass(ctx: ReadContext, report: CompactionReport): Promise<void> {
  await ctx.redis
    .multi()
    .hset(ctx.keys.meta, 'lastCompaction', JSON.stringify(report))
    .hincrby(ctx.keys.meta, 'reclaimedLogBytes', report.reclaimedLogBytes)
    .hincrby(ctx.keys.meta, 'removedTasks', report.removedTasks)
    .exec();
}
