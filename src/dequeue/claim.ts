import { CONSUMER, GROUP } from '../redis/keys.js';
import type { Due } from '../commands/promote.js';
import type { DequeueContext } from './context.js';

export interface Claimed {
  queue: string;
  entryId: string;
  taskId: string;
  /** When it was claimed (this process's clock), for prefetched entries that wait. */
  at?: number;
}

export type ClaimResult =
  | { kind: 'claimed'; claimed: Claimed[] }
  | { kind: 'due'; due: Due[] }
  | {
      kind: 'empty';
      /** Streams to wait on (the ready streams and the wake stream), in the order of lastIds. */
      streams: string[];
      /** The queue of each ready stream in `streams`. */
      queues: string[];
      lastIds: string[];
      /** Milliseconds until the next delayed task is due (Redis clock), or null when none is delayed. */
      nextDueInMs: number | null;
    };

/**
 * Takes up to `count` ready entries from the queues through the consumer group, starting at a rotating
 * queue so that no queue starves the others. Due delayed tasks are reported first (promote them, then
 * claim again). When nothing is ready, returns what a blocking wait needs (wait-ready.ts).
 */
export async function claim(ctx: DequeueContext, queues: readonly string[], count: number): Promise<ClaimResult> {
  const order = ctx.rotation.rotate(queues);
  const keys = [...order.map((q) => ctx.keys.ready(q)), ...order.map((q) => ctx.keys.delayed(q)), ctx.keys.wake];
  const reply = (await ctx.scripts.claim(keys.length, ...keys, GROUP, CONSUMER, count)) as (string | number)[];
  const queueAt = (i: string | number) => order[Number(i) - 1]!;
  if (reply[0] === 1) {
    const claimed: Claimed[] = [];
    const at = Date.now();
    for (let i = 1; i + 2 < reply.length; i += 3) {
      claimed.push({ queue: queueAt(reply[i]!), entryId: String(reply[i + 1]), taskId: String(reply[i + 2]), at });
    }
    return { kind: 'claimed', claimed };
  }
  if (reply[0] === 2) {
    const due: Due[] = [];
    for (let i = 1; i + 1 < reply.length; i += 2) due.push({ queue: queueAt(reply[i]!), taskId: String(reply[i + 1]) });
    return { kind: 'due', due };
  }
  const nextDue = Number(reply[order.length + 2]);
  const now = Number(reply[order.length + 3]);
  return {
    kind: 'empty',
    streams: [...order.map((q) => ctx.keys.ready(q)), ctx.keys.wake],
    queues: order,
    lastIds: reply.slice(1, order.length + 2).map(String),
    nextDueInMs: nextDue < 0 ? null : Math.max(0, nextDue - now),
  };
}
