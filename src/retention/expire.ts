import type { ReadContext } from '../context/read-context.js';
import type { EndedStatus } from '../redis/keys.js';
import type { References } from '../types.js';
import { taskField } from '../projections/log-reader.js';
import { endedPlace, endedPrefix } from '../projections/ended-index.js';

/** Tasks per expire.lua call: a bounded step, so that compaction never holds Redis for long. */
const BATCH = 200;

/**
 * Removes the projections of tasks that ended in `status` at or before `cutoff` (ms), queue by queue from
 * the ended index, in bounded steps, each one expire.lua call recorded as one `expired` event. Returns how
 * many went (with `dryRun`, how many would go). `between` runs after each step (the compaction lock's
 * renewal).
 */
export async function expireEnded(
  ctx: ReadContext,
  status: EndedStatus,
  cutoff: number,
  dryRun: boolean,
  between: () => Promise<void>,
): Promise<number> {
  const k = ctx.keys;
  let removed = 0;
  for (const queue of await ctx.redis.smembers(k.queues)) {
    // The queue's members of the status that ended at or before the cutoff: a member's place starts with
    // its end time, so the range ends before the first place of cutoff + 1 ms.
    const prefix = endedPrefix(status, queue);
    const low = `[${prefix}`;
    const high = `(${prefix}${endedPlace(cutoff + 1, '')}`;
    if (dryRun) {
      removed += await ctx.redis.zlexcount(k.endedIndex, low, high);
      continue;
    }
    for (;;) {
      const members = await ctx.redis.zrangebylex(k.endedIndex, low, high, 'LIMIT', 0, BATCH);
      if (members.length === 0) break;
      const ids = members.map((m) => m.slice(prefix.length + endedPlace(0, '').length));
      // One pipeline, one write: a command of its own per task cost a socket write each (a third of a pass's
      // CPU in Node, profiled).
      const refs = await taskField(ctx, ids, 'references');
      const keys = [k.events, k.endedIndex];
      const args: (string | number)[] = [status, cutoff];
      ids.forEach((id, i) => {
        const json = refs[i] ?? '{}';
        const own = Object.entries(parseReferences(json)).map(([n, v]) => k.reference(n, v));
        keys.push(k.task(id), ...own);
        args.push(id, members[i]!, json, own.length);
      });
      const [n, left] = (await ctx.scripts.expire(keys.length, ...keys, ...args)) as [number, number];
      removed += n;
      await between();
      // Every member of a step leaves the index, but for a task whose references changed meanwhile: a step
      // from which none left would only repeat.
      if (members.length < BATCH || left === 0) break;
    }
  }
  return removed;
}

function parseReferences(json: string): References {
  try {
    return JSON.parse(json) as References;
  } catch {
    return {}; // a damaged field: no reference set to tidy by it
  }
}
