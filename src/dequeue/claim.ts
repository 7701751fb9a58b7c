import { CONSUMER, GROUP } from '../redis/keys.js';
import type { Due } from '../commands/promote.js';
import type { DequeueContext } from './context.js';

/** A ready stream: one priority level of one queue. */
export interface Source {
  queue: string;
  priority: number;
}

export interface Claimed extends Source {
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
      /** Streams to wait on (the ready streams of queues not held back by their controls, then the wake stream), in the order of lastIds. */
      streams: string[];
      /** The queue and level of each ready stream in `streams`. */
      sources: Source[];
      lastIds: string[];
      /** Milliseconds until the next delayed task is due (Redis clock), or null when none is delayed. */
      nextDueInMs: number | null;
      /** Milliseconds until a queue held back by a rate limit or a hold may claim again, or null. */
      heldForMs: number | null;
      /** The queues whose controls held them back. */
      held: HeldBack[];
    };

/** A queue a claim found held back by its controls. */
export interface HeldBack {
  queue: string;
  reason: 'paused' | 'hold' | 'concurrency' | 'rate';
  /** Its ready entries no reader got yet: the starts held back. */
  waiting: number;
}

/** The ready streams of the queues, in order, each queue's highest level first; and their keys. */
export async function sourcesOf(ctx: DequeueContext, queues: readonly string[], refresh = false): Promise<Source[][]> {
  const levels = await ctx.rotation.levels(ctx, refresh);
  return queues.map((queue) => levels(queue).map((priority) => ({ queue, priority })));
}

/**
 * Takes up to `count` ready entries from the queues through the consumer group, starting at a rotating
 * queue so that no queue starves the others, and within a queue from its highest priority level. Each
 * queue's controls (pause, cap, rate limit) are checked in the script. Due delayed tasks are reported first
 * (promote them, then claim again). When nothing is ready, returns what a blocking wait needs (wait-ready.ts).
 */
export async function claim(
  ctx: DequeueContext,
  queues: readonly string[],
  count: number,
  refresh = false,
): Promise<ClaimResult> {
  const order = ctx.rotation.rotate(queues);
  const perQueue = await sourcesOf(ctx, order, refresh);
  const k = ctx.keys;
  const keys = [k.wake, k.controls, k.levels];
  const args: (string | number)[] = [GROUP, CONSUMER, count, order.length, ctx.rotation.levelsKnown];
  const sources: Source[] = [];
  perQueue.forEach((streams, i) => {
    const queue = order[i]!;
    keys.push(k.delayed(queue), k.rate(queue));
    for (const s of streams) {
      keys.push(k.ready(queue, s.priority));
      sources.push(s);
    }
    args.push(queue, streams.length);
  });
  const reply = (await ctx.scripts.claim(keys.length, ...keys, ...args)) as (string | number)[];
  // A priority level used for the first time since the levels were read: read them again, claim again.
  if (reply[0] === 3) return claim(ctx, queues, count, true);
  if (reply[0] === 1) {
    const claimed: Claimed[] = [];
    const at = Date.now();
    for (let i = 1; i + 2 < reply.length; i += 3) {
      const source = sources[Number(reply[i]) - 1]!;
      claimed.push({ ...source, entryId: String(reply[i + 1]), taskId: String(reply[i + 2]), at });
    }
    return { kind: 'claimed', claimed };
  }
  if (reply[0] === 2) {
    const due: Due[] = [];
    for (let i = 1; i + 1 < reply.length; i += 2)
      due.push({ queue: order[Number(reply[i]) - 1]!, taskId: String(reply[i + 1]) });
    return { kind: 'due', due };
  }
  const n = sources.length;
  const nextDue = Number(reply[n + 2]);
  const now = Number(reply[n + 3]);
  const tail = reply.slice(n + 4);
  const held = order.map((_, i) => Number(tail[3 * i]));
  const heldBack: HeldBack[] = [];
  order.forEach((queue, i) => {
    if (held[i]! >= 0)
      heldBack.push({ queue, reason: tail[3 * i + 1] as HeldBack['reason'], waiting: Number(tail[3 * i + 2]) });
  });
  if (heldBack.length > 0) ctx.onHeld?.(heldBack);
  // The streams of held queues are left out of the wait: their entries could not be claimed anyway. A
  // finish or a resume writes to the wake stream; a rate window's end comes as heldForMs.
  const streams: string[] = [];
  const waitSources: Source[] = [];
  const lastIds: string[] = [];
  const untils = held.filter((until) => until > 0);
  const heldUntil = untils.length > 0 ? Math.min(...untils) : null;
  let at = 0;
  perQueue.forEach((list, i) => {
    const until = held[i]!;
    list.forEach((s, j) => {
      if (until < 0) {
        streams.push(k.ready(s.queue, s.priority));
        waitSources.push(s);
        lastIds.push(String(reply[1 + at + j]));
      }
    });
    at += list.length;
  });
  streams.push(k.wake);
  lastIds.push(String(reply[n + 1]));
  return {
    kind: 'empty',
    streams,
    sources: waitSources,
    lastIds,
    nextDueInMs: nextDue < 0 ? null : Math.max(0, nextDue - now),
    heldForMs: heldUntil === null ? null : Math.max(1, heldUntil - now),
    held: heldBack,
  };
}
