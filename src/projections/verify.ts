import { enter, type Context } from '../context.js';
import { foldAll, type ProjectionHash } from './fold.js';
import { lastEventId, readHashes, readLog, scanTaskIds, touchedSince } from './read.js';

export interface VerifyReport {
  /** Tasks compared. */
  tasks: number;
  /** One line per difference between the live projection and the fold of the log. */
  mismatches: string[];
}

/**
 * Folds the whole log and compares the result with every live task hash, and the running and delayed
 * indexes with the running and not-yet-due tasks. Reads the log up to a fixed last id; tasks with events after it changed while verify ran and are left out.
 */
export interface FoldProgressOptions {
  /** Called as the log is read: events folded so far, and the log's length when the read began. */
  onProgress?: (events: number, total: number) => void;
}

export async function verify(ctx: Context, options: FoldProgressOptions = {}): Promise<VerifyReport> {
  await enter(ctx);
  const { folded, end } = await foldLog(ctx, options.onProgress);
  const liveIds = await scanTaskIds(ctx);
  const ids = [...new Set([...folded.keys(), ...liveIds])];
  const live = await readHashes(ctx, ids);
  const running = new Set(await ctx.redis.zrange(ctx.keys.running, 0, -1));
  const delayed = new Set<string>();
  for (const queue of await ctx.redis.smembers(ctx.keys.queues)) {
    for (const id of await ctx.redis.zrange(ctx.keys.delayed(queue), 0, -1)) delayed.add(id);
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
    if (isRunning !== running.has(id)) mismatches.push(`${id}: running index ${running.has(id) ? 'has' : 'lacks'} a ${f?.status ?? 'missing'} task`);
    const isDelayed = f?.status === 'waiting' && f.runAt !== undefined;
    if (isDelayed !== delayed.has(id)) mismatches.push(`${id}: delayed index ${delayed.has(id) ? 'has' : 'lacks'} the task`);
  }
  return { tasks, mismatches };
}

export async function foldLog(
  ctx: Context,
  onProgress?: (events: number, total: number) => void,
): Promise<{ folded: Map<string, ProjectionHash>; end: string; events: number; counts: Map<string, number> }> {
  const end = await lastEventId(ctx);
  const total = onProgress ? await ctx.redis.xlen(ctx.keys.events) : 0;
  const folded = new Map<string, ProjectionHash>();
  // The all-time counts of ended tasks ({ns}:counts), as the log tells them.
  const counts = new Map<string, number>();
  let events = 0;
  if (end !== '0-0') {
    for await (const page of readLog(ctx, '-', end)) {
      for (const e of page) {
        if (e.type !== 'finished' && e.type !== 'failed' && e.type !== 'cancelled') continue;
        // Logs written before ended events carried their queue: the task's queue, while its projection lives.
        const queue = e.fields.queue ?? folded.get(e.taskId)?.queue;
        if (queue !== undefined) counts.set(`${e.type}:${queue}`, (counts.get(`${e.type}:${queue}`) ?? 0) + 1);
      }
      foldAll(page, folded);
      events += page.length;
      onProgress?.(events, total);
    }
  }
  return { folded, end, events, counts };
}

export function compareProjection(id: string, expected: ProjectionHash | null, actual: ProjectionHash | null): string[] {
  if (expected === null && actual === null) return [];
  if (expected === null) return [`${id}: live hash exists but the log has no such task (or deleted it)`];
  if (actual === null) return [`${id}: missing live hash (the log has it as ${expected.status})`];
  const out: string[] = [];
  for (const field of new Set([...Object.keys(expected), ...Object.keys(actual)])) {
    if (expected[field] !== actual[field]) {
      out.push(`${id}: ${field} is ${JSON.stringify(actual[field] ?? null)} live but ${JSON.stringify(expected[field] ?? null)} in the log`);
    }
  }
  return out;
}
