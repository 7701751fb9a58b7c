import type { ReadContext } from '../context/read-context.js';
import type { ProjectionHash } from '../events/fold.js';
import { scriptPipeline } from '../redis/pipeline.js';
import type { IndexMismatch, IndexState } from './index-check.js';
import { repairTasks, type TaskRepair } from './repair.js';

export interface IndexRepairReport {
  /** Tasks whose index entries were put back in step with their hash. */
  tasks: number;
  /** Fields of `{ns}:counts` set to the log's count. */
  counts: number;
  /** Fields of `{ns}:controls` (running counts, queue options) set to what the log says. */
  controls: number;
  /** Tasks and counts that changed since verify read them: left alone (verify again to see them). */
  movedOn: number;
  /** Tasks whose hash differs from the log: their indexes follow the hash, so `rebuild()` must fix them. */
  needRebuild: number;
}

/**
 * Fixes the index mismatches verify found: each task in one repair-task.lua call (it re-checks the task),
 * and the counts in one repair-counts-2.lua call (each field set only if unchanged since read).
 */
export async function repairIndexes(
  ctx: ReadContext,
  found: readonly IndexMismatch[],
  seen: {
    live: Map<string, ProjectionHash | null>;
    differs: ReadonlySet<string>;
    counts: Map<string, number>;
    state: IndexState;
    controls: { live: Record<string, string>; expected: ReadonlyMap<string, string> };
  },
): Promise<IndexRepairReport> {
  const report: IndexRepairReport = { tasks: 0, counts: 0, controls: 0, movedOn: 0, needRebuild: 0 };
  const byTask = new Map<string, IndexMismatch[]>();
  for (const m of found)
    if (m.index !== 'counts' && m.index !== 'controls') byTask.set(m.taskId, [...(byTask.get(m.taskId) ?? []), m]);
  const repairs: TaskRepair[] = [];
  for (const [id, list] of byTask) {
    // Indexes follow the hash: a hash unlike the log would lead the repair astray.
    if (seen.differs.has(id)) {
      report.needRebuild++;
      continue;
    }
    const hash = seen.live.get(id) ?? null;
    const queue = hash?.queue ?? seen.state.delayed.get(id)?.[0]?.[0] ?? '';
    const strayReferences = list.filter((m) => m.index === 'reference' && m.problem === 'stray').map((m) => m.key);
    // Every member seen: the script keeps the one its hash names.
    repairs.push({ id, hash, queue, strayReferences, endedMembers: seen.state.endedIndex.get(id) ?? [] });
  }
  const { fixed, movedOn } = await repairTasks(ctx, repairs);
  report.tasks = fixed.size;
  report.movedOn = movedOn.length;

  const fields = found.filter((m) => m.index === 'counts').map((m) => m.key);
  if (fields.length) {
    const { live, tail } = seen.state.countsRead;
    const args = fields.flatMap((f) => [f, live[f] ?? '', (seen.counts.get(f) ?? 0) + (tail.get(f) ?? 0)]);
    const pipeline = scriptPipeline(ctx.redis);
    pipeline.script('repairCounts', ctx.keys.events, ctx.keys.counts, ...args);
    const [[err, set]] = (await pipeline.exec()) as [[Error | null, unknown]];
    if (err) throw err;
    report.counts = Number(set);
    report.movedOn += fields.length - report.counts;
  }

  const controls = found.filter((m) => m.index === 'controls').map((m) => m.key);
  if (controls.length) {
    const { live, expected } = seen.controls;
    const args = controls.flatMap((f) => [f, live[f] ?? '', expected.get(f) ?? '']);
    const set = Number(await ctx.scripts.repairControls(ctx.keys.events, ctx.keys.controls, ...args));
    report.controls = set;
    report.movedOn += controls.length - set;
  }
  return report;
}
