import { CONSUMER, GROUP } from '../redis/keys.js';
import { answerAll } from '../redis/batcher.js';
import { hashToTask } from '../events/codec.js';
import {
  decodeClaims,
  decodeStartFinishes,
  decodeStartReply,
  encodeStart,
  startedHash,
} from '../redis/protocols/start.js';
import type { Task } from '../types.js';
import type { Claimed } from './claim.js';
import type { DequeueContext } from './context.js';

export interface ClaimAhead {
  /** Queues to claim the next entries from, in visiting order. */
  queues: readonly string[];
  count: number;
}

export interface Started {
  tasks: Task[];
  /** Entries claimed for next time (a worker's prefetch, or in place of arrivals another reader took). */
  next: Claimed[];
  /** Entries whose queue's controls held them back (paused, capped, rate-limited): still claimed, to give back. */
  held: Claimed[];
}

/**
 * Starts claimed tasks in one script call, and optionally claims the next entries in the same call (a
 * worker's prefetch). Entries whose task moved on meanwhile are dropped, so fewer tasks may come back than
 * were claimed. This instance remembers each started task's lease. Finishes waiting to be sent go along in
 * the same call, answered as if finish.lua had run them.
 *
 * `arrived` are entries a blocking read saw arrive (not claimed yet): the script claims them through the
 * group and starts those it gets. Entries it claims from their streams whose task it could not start come
 * back in `next` with the prefetched ones.
 */
export async function start(
  ctx: DequeueContext,
  claimed: readonly Claimed[],
  ahead?: ClaimAhead,
  arrived: readonly Claimed[] = [],
): Promise<Started> {
  if (claimed.length === 0 && arrived.length === 0 && !ahead?.count) return { tasks: [], next: [], held: [] };
  const finishes = ctx.writes.finish.drain();
  const order = ahead?.count ? ctx.rotation.rotate(ahead.queues) : [];
  const levelsOf = await ctx.rotation.levels(ctx);
  // The layout is protocols/start.ts': the claimed entries, then the arrived ones, then the queues.
  const { keys, args, sources } = encodeStart(ctx.keys, {
    group: GROUP,
    consumer: CONSUMER,
    ttlMs: ctx.settings.heartbeatTtlMs,
    finishes: finishes.map((f) => f.item),
    claimed,
    arrived,
    claimFrom: order.map((queue) => ({ queue, levels: levelsOf(queue) })),
    levelsOf,
    prefetch: ahead?.count ?? 0,
  });
  const reply = ctx.scripts.start(keys.length, ...keys, ...args);
  answerAll(finishes, reply.then(decodeStartFinishes));
  const { starts, claims, extra } = decodeStartReply(await reply);
  // In the script's order: the claimed entries, then the arrived ones.
  const started = claimed.concat(arrived);
  const tasks: Task[] = [];
  const held: Claimed[] = [];
  starts.forEach((result, i) => {
    if (result === 0) return;
    if (result === 1) {
      held.push(started[i]!);
      return;
    }
    const taskId = started[i]!.taskId;
    // The kept fields with the started event folded in: the hash as Redis now holds it.
    const task = hashToTask(taskId, startedHash(result, taskId));
    ctx.leases.remember(task.id, task.lease!);
    tasks.push(task);
  });
  const next: Claimed[] = [];
  const at = Date.now();
  decodeClaims(extra, (index) => arrived[index - 1]!, at, next);
  decodeClaims(claims, (index) => sources[index - 1]!, at, next);
  return { tasks, next, held };
}
