import type { ReadContext } from '../context/read-context.js';
import { ENDED_STATUSES, type EndedStatus } from '../redis/keys.js';
import type { ProjectionHash } from '../events/fold.js';
import { readHashes, scanTaskIds, touchedSince } from '../projections/log-reader.js';
import { foldLog, type FoldProgressOptions } from './fold-log.js';

export interface VerifyReport {
  /** Tasks compared. */
  tasks: number;
  /** One line per difference between the live projection and the fold of the log. */
  mismatches: string[];
}

/**
 * Folds the whole log and compares the result with every live task hash, and the running and delayed
 * indexes with the running and not-yet-due tasks. Reads the log up to a fixed last id; tasks with events
 * after it changed while verify ran and are left out.
 */
export async function verify(ctx: ReadContext, options: FoldProgressOptions = {}): Promise<VerifyReport> {
  await ctx.life.whenOpen();
  const { folded, end } = await foldLog(ctx, options.onProgress);
  const liveIds = await scanTaskIds(ctx);
  const ids = [...new Set([...folded.keys(), ...liveIds])];
  const live = await readHashes(ctx, ids);
  const running = new Set(await ctx.redis.zrange(ctx.keys.running, 0, -1));
  const delayed = new Set<string>();
  for (const queue of await ctx.redis.smembers(ctx.keys.queues)) {
    for (const id of await ctx.redis.zrange(ctx.keys.delayed(queue), 0, -1)) delayed.add(id);
  }
  const ended = new Map<string, { status: string; at: string }>();
  for (const status of ENDED_STATUSES) {
    const flat = await ctx.redis.zrange(ctx.keys.endedSet(status), 0, -1, 'WITHSCORES');
    for (let i = 0; i < flat.length; i += 2) ended.set(flat[i]!, { status, at: flat[i + 1]! });
  }
  // Read after the projections: anything that moved on while we read is left out, not reported.
  const moved = await touchedSince(ctx, end);
  const mismatches: string[] = [];
  let tasks = 0;
  for (const id of ids) {
    if (moved.has(id)) continue;
    const l = live.get(id) ?? null;
    tasks++;
    mismatches.push(...compareProjection(id, folded.get(id) ?? null, l));
    const f = folded.get(id) ?? null;
    const isRunning = f?.status === 'running';
    if (isRunning !== running.has(id))
      mismatches.push(`${id}: running index ${running.has(id) ? 'has' : 'lacks'} a ${f?.status ?? 'missing'} task`);
    const isDelayed = f?.status === 'waiting' && f.runAt !== undefined;
    if (isDelayed !== delayed.has(id))
      mismatches.push(`${id}: delayed index ${delayed.has(id) ? 'has' : 'lacks'} the task`);
    const e = ended.get(id);
    const endedAs = f && ENDED_STATUSES.includes(f.status as EndedStatus) ? f.status : undefined;
    if (e?.status !== endedAs || (e && e.at !== f?.finishedAt))
      mismatches.push(
        `${id}: ended index has ${e ? `${e.status} at ${e.at}` : 'nothing'} for a ${f?.status ?? 'missing'} task` +
          (endedAs ? ` ended at ${f?.finishedAt ?? '?'}` : ''),
      );
  }
  return { tasks, mismatches };
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
