import { AbortError, QueueClosedError } from '../errors.js';
import { GROUP } from '../keys.js';
import { enter, track, type Context } from '../context.js';
import { validateQueueNames } from '../validation.js';
import type { Task } from '../types.js';
import { claim, type Claimed, type ClaimResult } from './claim.js';
import { start } from './start.js';
import { waitReady } from './wait-ready.js';
import { promote } from './promote.js';
import { sleep } from '../sleep.js';
import { giveBackStarted } from './release.js';

/** Entries a worker claimed ahead, to start in its next round; and when it last looked for due tasks. */
export interface PrefetchBuffer {
  claims: Claimed[];
  dueCheckedAt: number;
  /** Set after a wake-up whose start found nothing more to claim: the next round may wait again at once. */
  resume?: Resume;
}

/**
 * What a reader needs to block again without claiming first. After a start that claimed ahead and got
 * nothing, the group had no undelivered entry left, so every entry the group can still hand out comes
 * after the ids seen so far: a claim then would only find nothing (one script call per task at low rates).
 */
interface Resume {
  queues: readonly string[];
  wait: EmptyClaim;
  deadlines: WaitDeadlines;
}

/** Times on this process's monotonic clock (performance.now()), fixed by the claim a chain of waits began with. */
interface WaitDeadlines {
  /** The next delayed task's due time, or null when none was delayed. */
  dueAt: number | null;
  /**
   * When the chain must claim again: BLOCK_MS after its claim, the longest a blocked reader goes without
   * one anyway. Claims are where due delayed tasks are found, also those no wake entry announced (a
   * rebuild puts delayed tasks back without one).
   */
  until: number;
}

type EmptyClaim = Extract<ClaimResult, { kind: 'empty' }>;

/** How often a worker with prefetched entries still looks for due delayed tasks. */
const DUE_CHECK_MS = 50;

/** Longest single blocking wait; also how often "any queue" looks for queues that appeared meanwhile. */
const BLOCK_MS = 1000;

export interface DequeueOptions {
  signal?: AbortSignal;
}

/**
 * Takes the oldest waiting task of the given queues (any queue when none are given), blocking until one
 * arrives. The task comes back running, with its attempt, startedAt and lastHeartbeatAt set. An aborted
 * signal rejects at once with AbortError. close() rejects it with QueueClosedError once the round in flight
 * ends (a blocked read ends at once). A task claimed or started for a caller no longer waiting is given
 * back, and close() waits until it has been.
 */
export async function dequeue(ctx: Context, queues: readonly string[] | undefined, options: DequeueOptions = {}): Promise<Task> {
  const named = queues && queues.length > 0 ? validateQueueNames(queues) : undefined;
  const { signal } = options;
  if (signal?.aborted) throw new AbortError();
  await enter(ctx);
  return new Promise<Task>((resolve, reject) => {
    let done = false;
    const onAbort = () => {
      done = true;
      reject(new AbortError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const taking = takeOne(ctx, named, signal).then(
      async (task) => {
        signal?.removeEventListener('abort', onAbort);
        if (!done && task && !ctx.closed) {
          done = true;
          resolve(task);
          return;
        }
        if (!done) {
          done = true;
          reject(ctx.closed ? new QueueClosedError() : new AbortError());
        }
        // Nobody holds it: back to its queue now, rather than after a heartbeat deadline.
        if (task) await giveBackStarted(ctx, task).catch(() => undefined);
      },
      (err: unknown) => {
        signal?.removeEventListener('abort', onAbort);
        if (!done) {
          done = true;
          reject(err);
        }
      },
    );
    track(ctx, taking);
  });
}

async function takeOne(ctx: Context, named: readonly string[] | undefined, signal?: AbortSignal): Promise<Task | null> {
  for (;;) {
    if (signal?.aborted || ctx.closed) return null;
    const [task] = await takeBatch(ctx, named, 1, signal);
    if (task) return task;
  }
}

/**
 * One round of taking up to `count` tasks (any queue when `named` is undefined): due delayed tasks are
 * promoted, ready ones claimed and started. When nothing is ready it waits on a pooled connection until an
 * entry arrives, the next delayed task is due, BLOCK_MS passes or the signal aborts, and returns [] so the
 * caller can look again.
 *
 * With a `prefetch` buffer (the worker's), each start also claims the next `count` entries into it, and
 * the next round starts those directly: one round trip per batch instead of two. Entries that waited in
 * the buffer longer than half the delivery timeout are handed back first, so recovery never has to.
 * With `wait` false it returns [] at once instead of waiting.
 *
 * A woken reader starts the entries it saw arrive in one call; when that call's claim-ahead finds nothing
 * more, the next round waits again straight away (PrefetchBuffer.resume) instead of claiming first.
 */
export async function takeBatch(
  ctx: Context,
  named: readonly string[] | undefined,
  count: number,
  signal?: AbortSignal,
  prefetch?: PrefetchBuffer,
  wait = true,
): Promise<Task[]> {
  if (signal?.aborted || ctx.closed) return [];
  if (prefetch?.claims.length) {
    const stale = Date.now() - ctx.deliveryTimeoutMs / 2;
    const old = prefetch.claims.filter((c) => (c.at ?? Date.now()) < stale);
    if (old.length) {
      prefetch.claims = prefetch.claims.filter((c) => (c.at ?? Date.now()) >= stale);
      await giveBack(ctx, old);
    }
  }
  const queues = named ?? (await knownQueues(ctx));
  if (queues.length === 0) {
    await sleep(Math.min(BLOCK_MS, 250), signal, ctx.stop.signal);
    return [];
  }
  let claimed: Claimed[];
  const resume = wait ? prefetch?.resume : undefined;
  if (resume) {
    prefetch!.resume = undefined;
    const { dueAt, until } = resume.deadlines;
    const now = performance.now();
    if (resume.queues === queues && !prefetch!.claims.length && now < until && (dueAt === null || now < dueAt)) {
      return waitAndStart(ctx, queues, count, resume.wait, resume.deadlines, signal, prefetch);
    }
  }
  // A full buffer skips the claim step, which is where due delayed tasks are promoted: look at least every
  // DUE_CHECK_MS all the same.
  if (prefetch?.claims.length && Date.now() - prefetch.dueCheckedAt < DUE_CHECK_MS) {
    claimed = prefetch.claims.splice(0, count);
  } else {
    if (prefetch) prefetch.dueCheckedAt = Date.now();
    let result = await claim(ctx, queues, count);
    if (result.kind === 'due') {
      await promote(ctx, result.due);
      result = await claim(ctx, queues, count);
      if (result.kind === 'due') return [];
    }
    const fresh = result.kind === 'claimed' ? result.claimed : [];
    // Older prefetched entries first; what does not fit this round goes back to the buffer.
    claimed = prefetch ? [...prefetch.claims.splice(0), ...fresh] : fresh;
    if (claimed.length === 0 && result.kind === 'empty') {
      if (!wait) return [];
      const now = performance.now();
      const deadlines = { dueAt: result.nextDueInMs === null ? null : now + result.nextDueInMs, until: now + BLOCK_MS };
      return waitAndStart(ctx, queues, count, result, deadlines, signal, prefetch);
    }
    if (prefetch && claimed.length > count) prefetch.claims = claimed.splice(count);
  }
  if (signal?.aborted || ctx.closed) {
    await giveBack(ctx, claimed);
    return [];
  }
  const { tasks, next } = await start(ctx, claimed, prefetch ? { queues, count: Math.max(0, count - prefetch.claims.length) } : undefined);
  prefetch?.claims.push(...next);
  return tasks;
}

/**
 * Blocks until entries arrive after `empty.lastIds` (or the next delayed task is due, BLOCK_MS passes, the
 * signal aborts), then claims and starts the arrived entries in one call.
 */
async function waitAndStart(
  ctx: Context,
  queues: readonly string[],
  count: number,
  empty: EmptyClaim,
  deadlines: WaitDeadlines,
  signal: AbortSignal | undefined,
  prefetch: PrefetchBuffer | undefined,
): Promise<Task[]> {
  const { dueAt, until } = deadlines;
  const now = performance.now();
  const timeout = Math.max(1, Math.ceil(Math.min(BLOCK_MS, until - now, dueAt === null ? BLOCK_MS : dueAt - now)));
  // Only ready streams carry task entries: a wake entry (a task became delayed) is `woken`, and means look again.
  const { arrivals, woken } = await waitReady(ctx, empty.streams, empty.lastIds, timeout, signal, count);
  const arrived = arrivals.map((a) => ({ queue: empty.queues[a.stream]!, entryId: a.entryId, taskId: a.taskId }));
  if (arrived.length === 0 || signal?.aborted || ctx.closed) return [];
  const ahead = prefetch ? Math.max(0, count - prefetch.claims.length) : 0;
  const { tasks, next } = await start(ctx, [], prefetch ? { queues, count: ahead } : undefined, arrived);
  if (prefetch) {
    prefetch.claims.push(...next);
    // Nothing more to claim and no word from the wake stream: wait on from the entries seen (arrivals of
    // one stream come in id order, so the last one seen is the newest), within the same deadlines.
    if (ahead > 0 && next.length === 0 && !woken) {
      const lastIds = [...empty.lastIds];
      for (const a of arrivals) lastIds[a.stream] = a.entryId;
      prefetch.resume = { queues, wait: { ...empty, lastIds }, deadlines };
    }
    return tasks;
  }
  // No buffer to keep them in: entries claimed in place of arrivals another reader took are started
  // now rather than given back (which would send them to the tail of their queue).
  const room = Math.max(0, count - tasks.length);
  try {
    if (room > 0 && next.length > 0) tasks.push(...(await start(ctx, next.slice(0, room))).tasks);
    if (next.length > room) await giveBack(ctx, next.slice(room));
  } catch (err) {
    // Tasks already started go to the caller all the same (failing here would leave them running for
    // nobody); entries still claimed stay pending, for redelivery.
    if (tasks.length === 0) throw err;
  }
  return tasks;
}

/**
 * Every queue of the namespace, for readers of any queue: read at most once per BLOCK_MS, not on every
 * batch (a new queue is noticed within that time).
 */
async function knownQueues(ctx: Context): Promise<string[]> {
  const now = Date.now();
  if (!ctx.queueList || now - ctx.queueList.at > BLOCK_MS) {
    ctx.queueList = { at: now, names: await ctx.redis.smembers(ctx.keys.queues) };
  }
  return ctx.queueList.names;
}

/** Hands claimed-but-unstarted entries back to their queues (recovery would, later). */
export async function giveBack(ctx: Context, claimed: readonly Claimed[]): Promise<void> {
  const pipeline = ctx.redis.pipeline() as unknown as Record<string, (...a: string[]) => unknown> & { exec(): Promise<unknown> };
  for (const c of claimed) {
    pipeline.tl_redeliver!(ctx.keys.events, ctx.keys.task(c.taskId), ctx.keys.ready(c.queue), c.taskId, c.entryId, GROUP, 'given-back');
  }
  await pipeline.exec();
}
