import type { ReadContext } from '../context/read-context.js';
import { readHashes, scanTaskIds, touchedSince } from '../projections/log-reader.js';
import type { ProjectionHash } from '../events/fold.js';
import { foldLog, type FoldProgressOptions } from './fold-log.js';
import { checkCounts, checkTaskIndexes, indexedIds, readIndexes, type IndexMismatch } from './index-check.js';
import { expectedControls } from '../projections/queue-options.js';
import { checkControls } from './index-check.js';
import { repairIndexes, type IndexRepairReport } from './index-repair.js';

export interface VerifyOptions extends FoldProgressOptions {
  /** Put the index entries found wrong back in step (each fix is logged); projections are left to rebuild(). */
  repair?: boolean;
}

export interface VerifyReport {
  /** Tasks compared. */
  tasks: number;
  /** One line per difference between the live projection or its indexes and the fold of the log. */
  mismatches: string[];
  /** The index differences among them, typed: which index, which task, what is wrong. */
  indexes: IndexMismatch[];
  /** With `repair`: what the repair did. */
  repair?: IndexRepairReport;
}

/**
 * Folds the whole log and compares the result with every live task hash, and every index (ready entries,
 * delayed, running, ended and reference sets, the counts) with what the fold says. Reads the log up to a
 * fixed last id; tasks with events after it changed while verify ran and are left out.
 */
export async function verify(ctx: ReadContext, options: VerifyOptions = {}): Promise<VerifyReport> {
  await ctx.life.whenOpen();
  const { folded, end, counts, queueOptions } = await foldLog(ctx, options.onProgress);
  const liveIds = await scanTaskIds(ctx);
  const known = new Set([...folded.keys(), ...liveIds]);
  const live = await readHashes(ctx, [...known]);
  const state = await readIndexes(ctx, folded, end);
  // Read after the projections: anything that moved on while we read is left out, not reported.
  const moved = await touchedSince(ctx, end);
  const mismatches: string[] = [];
  const indexes: IndexMismatch[] = [];
  const differs = new Set<string>();
  let tasks = 0;
  for (const id of new Set([...known, ...indexedIds(state)])) {
    if (moved.has(id)) continue;
    const f = folded.get(id) ?? null;
    if (known.has(id)) {
      tasks++;
      const projection = compareProjection(id, f, live.get(id) ?? null);
      if (projection.length) differs.add(id);
      mismatches.push(...projection);
    }
    indexes.push(...checkTaskIndexes(ctx, id, f, state));
  }
  indexes.push(...checkCounts(counts, state.counts));
  const controls = {
    live: await ctx.redis.hgetall(ctx.keys.controls),
    expected: expectedControls(folded, queueOptions),
  };
  indexes.push(...checkControls(controls.live, controls.expected));
  mismatches.push(...indexes.map((m) => m.detail));
  const report: VerifyReport = { tasks, mismatches, indexes };
  if (options.repair) report.repair = await repairIndexes(ctx, indexes, { live, differs, counts, state, controls });
  return report;
}

export function compareProjection(
  id: string,
  expected: ProjectionHash | null,
  actual: ProjectionHash | null,
): string[] {
  if (expected === null && actual === null) return [];
  if (expected === null) return [`${id}: live hash exists but the log has no such task (or deleted it)`];
  if (actual === null)
    return [`${id}: missing live hash (the log has it as ${expected.status ?? 'a task without a status'})`];
  const out: string[] = [];
  for (const field of new Set([...Object.keys(expected), ...Object.keys(actual)])) {
    if (expected[field] !== actual[field]) {
      out.push(
        `${id}: ${field} is ${JSON.stringify(actual[field] ?? null)} live but ${JSON.stringify(expected[field] ?? null)} in the log`,
      );
    }
  }
  return out;
}
