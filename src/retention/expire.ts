import type { ReadContext } from '../context/read-context.js';
import type { EndedStatus } from '../redis/keys.js';
import type { References } from '../types.js';
import { taskField } from '../projections/log-reader.js';

/** Tasks per expire.lua call: a bounded step, so that compaction never holds Redis for long. */
const BATCH = 200;

/**
 * Removes the projections of tasks that ended in `status` at or before `cutoff` (ms), in bounded steps,
 * each one expire.lua call recorded as one `expired` event. Returns how many went (with `dryRun`, how many
 * would go). `between` runs after each step (the compaction lock's renewal).
 */
export async function expireEnded(
  ctx: ReadContext,
  status: EndedStatus,
  cutoff: number,
  dryRun: boolean,
  between: () => Promise<void>,
): Promise<number> {
  const k = ctx.keys;
  const endedKey = k.endedSet(status);
  if (dryRun) return ctx.redis.zcount(endedKey, '-inf', cutoff);
  let removed = 0;
  for (;;) {
    const ids = await ctx.redis.zrangebyscore(endedKey, '-inf', cutoff, 'LIMIT', 0, BATCH);
    if (ids.length === 0) return removed;
    // One pipeline, one write: a command of its own per task cost a socket write each (a third of a pass's
    // CPU in Node, profiled).
    const refs = await taskField(ctx, ids, 'references');
    const keys = [k.events, endedKey, k.endedIndex];
    const args: (string | number)[] = [status, cutoff];
    ids.forEach((id, i) => {
      const json = refs[i] ?? '{}';
      const own = Object.entries(parseReferences(json)).map(([n, v]) => k.reference(n, v));
      keys.push(k.task(id), ...own);
      args.push(id, json, own.length);
    });
    const n = Number(await ctx.scripts.expire(keys.length, ...keys, ...args));
    removed += n;
    await between();
    // Every id of a step either goes or leaves the set (gone, or no longer in this status), but for one
    // whose references changed meanwhile: a step that removed nothing from a full batch would only repeat.
    if (ids.length < BATCH || n === 0) return removed;
  }
}

function parseReferences(json: string): References {
  try {
    return JSON.parse(json) as References;
  } catch {
    return {}; // a damaged field: no reference set to tidy by it
  }
}
