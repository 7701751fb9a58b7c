import type { ReadContext } from '../context/read-context.js';
import type { ProjectionHash } from '../events/fold.js';
import { GROUP } from '../redis/keys.js';
import { scriptPipeline } from '../redis/pipeline.js';
import { lastFoldedId } from '../projections/log-reader.js';
import type { References } from '../types.js';

const BATCH = 200;

/** One task whose index entries are to follow its hash (or its absence). */
export interface TaskRepair {
  id: string;
  /** The hash as the caller read it; null when the task has none (its index entries go). */
  hash: ProjectionHash | null;
  /** The queue whose ready stream and delayed set the call looks at (the hash's, when there is one). */
  queue: string;
  /** Reference sets holding the task that its hash does not name. */
  strayReferences?: readonly string[];
  /** The task's members seen in the ended index: all but the one its hash names go. */
  endedMembers?: readonly string[];
}

export interface TaskRepairResult {
  /** Per task fixed: the index names (ready, running, delayed, ended, reference). */
  fixed: Map<string, string[]>;
  /** Tasks that changed since the caller read them: left alone. */
  movedOn: string[];
}

/**
 * Calls repair-task.lua for each task, in pipelines of 200. The script re-reads the hash, does nothing if
 * the task moved on, and logs what it fixed.
 */
export async function repairTasks(ctx: ReadContext, repairs: readonly TaskRepair[]): Promise<TaskRepairResult> {
  const k = ctx.keys;
  const result: TaskRepairResult = { fixed: new Map(), movedOn: [] };
  // A running task's new deadline is as far off as the longest TTL any holder announced: its holder's own
  // TTL may be longer than this instance's, and a heartbeat (ZADD XX) comes only within that.
  const announced = Number(await ctx.redis.zscore(k.heartbeatTtl, 'max'));
  const ttl = Math.max(ctx.settings.heartbeatTtlMs, Number.isFinite(announced) ? announced : 0);
  for (let i = 0; i < repairs.length; i += BATCH) {
    const batch = repairs.slice(i, i + BATCH);
    const pipeline = scriptPipeline(ctx.redis);
    for (const { id, hash, queue, strayReferences = [], endedMembers = [] } of batch) {
      const own = hash ? referenceKeys(ctx, hash) : [];
      const keys = [
        k.events,
        k.running,
        k.task(id),
        k.ready(queue, Number(hash?.priority ?? 0)),
        k.delayed(queue),
        k.endedIndex,
        ...own,
        ...strayReferences,
      ];
      const seen = hash ? (lastFoldedId(hash) ?? '') : '';
      pipeline.script('repairTask', keys.length, ...keys, id, GROUP, ttl, seen, own.length, ...endedMembers);
    }
    const replies = await pipeline.exec();
    batch.forEach(({ id }, j) => {
      const [err, reply] = replies[j]!;
      if (err) throw err;
      const [done, ...indexes] = reply as [number, ...string[]];
      if (done === 0) result.movedOn.push(id);
      else if (indexes.length) result.fixed.set(id, indexes);
    });
  }
  return result;
}

/** The reference sets a task's hash names. */
export function referenceKeys(ctx: ReadContext, hash: ProjectionHash): string[] {
  let refs: References = {};
  try {
    refs = JSON.parse(hash.references ?? '{}') as References;
  } catch {
    // A damaged field: verify reports it as a projection mismatch; no set to name.
  }
  return Object.entries(refs).map(([n, v]) => ctx.keys.reference(n, v));
}
