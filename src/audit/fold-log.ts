import type { ReadContext } from '../context/read-context.js';
import { foldAll, type ProjectionHash } from '../events/fold.js';
import { lastEventId, readLog } from '../projections/log-reader.js';

export interface FoldProgressOptions {
  /** Called as the log is read: events folded so far, and the log's length when the read began. */
  onProgress?: (events: number, total: number) => void;
}

/**
 * Folds the log up to its newest event now (`end`): every task's projection, and the all-time counts of
 * ended tasks by `<status>:<queue>`, as the log tells them.
 */
export async function foldLog(
  ctx: ReadContext,
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
