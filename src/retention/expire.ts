import type { ReadContext } from '../context/read-context.js';
import type { EndedStatus } from '../redis/keys.js';
import type { References } from '../types.js';
import { taskField } from '../projections/log-reader.js';
import { endedPast, parseEndedMember } from '../projections/ended-index.js';

/** Tasks per expire.lua call: a bounded step, so that compaction never holds Redis for long. */
const BATCH = 200;

/**
 * Removes the projections of tasks that ended in `status` at or before `cutoff` (ms), from the ended index,
 * in bounded steps, each one expire.lua call recorded as one `expired` event. Returns how many went (with
 * `dryRun`, how many members are due: at most what a pass removes). `between` runs after each step (the
 * compaction lock's renewal, and a closing queue's stop).
 *
 * The index alone says which queues have ended tasks: one queue's members run from its first to the first
 * ended after the cutoff, and the next queue's start past the end of its range. So a queue needs no other
 * record to be expired, and one with nothing due costs one read.
 */
export async function expireEnded(
  ctx: ReadContext,
  status: EndedStatus,
  cutoff: number,
  dryRun: boolean,
  between: () => Promise<void>,
): Promise<number> {
  const k = ctx.keys;
  const high = `(${endedPast(status)}`;
  let low = `[${status}:`;
  let removed = 0;
  for (;;) {
    const members = await ctx.redis.zrangebylex(k.endedIndex, low, high, 'LIMIT', 0, BATCH);
    if (members.length === 0) return removed;
    // The due members from the first on, up to the first of their queue that is not due.
    const due: { member: string; id: string }[] = [];
    let notDue: string | undefined;
    for (const member of members) {
      const m = parseEndedMember(member);
      if (m && Number(m.at) <= cutoff) due.push({ member, id: m.taskId });
      else {
        // The rest of this queue ended later: on to the next queue (a member of no known shape is passed).
        notDue = m ? `[${endedPast(status, m.queue)}` : `(${member}`;
        break;
      }
    }
    if (dryRun) removed += due.length;
    else if (due.length) removed += await expireStep(ctx, status, cutoff, due);
    await between();
    if (notDue !== undefined) low = notDue;
    else if (members.length < BATCH) return removed;
    else low = `(${members[members.length - 1]!}`;
  }
}

/** One expire.lua call: the due members' tasks go, each with its reference memberships. */
async function expireStep(
  ctx: ReadContext,
  status: EndedStatus,
  cutoff: number,
  due: readonly { member: string; id: string }[],
): Promise<number> {
  const k = ctx.keys;
  const ids = due.map((d) => d.id);
  // One pipeline, one write: a command of its own per task cost a socket write each (a third of a pass's CPU
  // in Node, profiled).
  const refs = await taskField(ctx, ids, 'references');
  const keys = [k.events, k.endedIndex];
  const args: (string | number)[] = [status, cutoff];
  due.forEach(({ member, id }, i) => {
    const json = refs[i] ?? '{}';
    const own = Object.entries(parseReferences(json)).map(([n, v]) => k.reference(n, v));
    keys.push(k.task(id), ...own);
    args.push(id, member, json, own.length);
  });
  return Number(await ctx.scripts.expire(keys.length, ...keys, ...args));
}

function parseReferences(json: string): References {
  try {
    return JSON.parse(json) as References;
  } catch {
    return {}; // a damaged field: no reference set to tidy by it
  }
}
