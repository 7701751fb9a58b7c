import { promote } from '../commands/promote.js';
import { sleep } from '../util/sleep.js';
import type { Task } from '../types.js';
import { claim, type Claimed, type ClaimResult } from './claim.js';
import type { DequeueContext } from './context.js';
import { BLOCK_MS } from './queue-rotation.js';
import { redeliver } from './redeliver.js';
import { start } from './start.js';
import { waitReady } from './wait-ready.js';

export type EmptyClaim = Extract<ClaimResult, { kind: 'empty' }>;

/** Times on this process's monotonic clock (performance.now()), fixed by the claim a chain of waits began with. */
export interface WaitDeadlines {
  /** The next delayed task's due time, or null when none was delayed. */
  dueAt: number | null;
  /**
   * When the chain must claim again: BLOCK_MS after its claim, the longest a blocked reader goes without
   * one anyway. Claims are where due delayed tasks are found, also those no wake entry announced (a
   * rebuild puts delayed tasks back without one).
   */
  until: number;
}

export function deadlinesAfter(empty: EmptyClaim): WaitDeadlines {
  const now = performance.now();
  // A queue held back by a rate window claims again when the window frees a start, as a delayed task would.
  const due = [empty.nextDueInMs, empty.heldForMs].filter((ms): ms is number => ms !== null);
  return { dueAt: due.length === 0 ? null : now + Math.min(...due), until: now + BLOCK_MS };
}

/** The queues to read: those named, or every queue of the namespace; [] after a pause when there are none. */
export async function queuesToRead(
  ctx: DequeueContext,
  named: readonly string[] | undefined,
  signal?: AbortSignal,
): Promise<readonly string[]> {
  const queues = named ?? (await ctx.rotation.known(ctx));
  if (queues.length === 0) await sleep(Math.min(BLOCK_MS, 250), signal, ctx.life.stopSignal);
  return queues;
}

/**
 * Claims up to `count` ready entries. Due delayed tasks are promoted first and the claim made again; a
 * second 'due' (promoters racing) counts as nothing this round.
 */
export async function claimReady(ctx: DequeueContext, queues: readonly string[], count: number): Promise<ClaimResult> {
  const result = await claim(ctx, queues, count);
  if (result.kind !== 'due') return result;
  await promote(ctx, result.due);
  return claim(ctx, queues, count);
}

/**
 * Blocks until entries arrive after `empty.lastIds` (or the next delayed task is due, BLOCK_MS passes, the
 * signal aborts). Returns the arrived entries (not claimed yet), and whether a wake entry came: a task
 * became delayed, which means look again.
 */
export async function waitForArrivals(
  ctx: DequeueContext,
  empty: EmptyClaim,
  deadlines: WaitDeadlines,
  count: number,
  signal: AbortSignal | undefined,
): Promise<{ arrived: Claimed[]; lastIds: string[]; woken: boolean }> {
  const { dueAt, until } = deadlines;
  const now = performance.now();
  const timeout = Math.max(1, Math.ceil(Math.min(BLOCK_MS, until - now, dueAt === null ? BLOCK_MS : dueAt - now)));
  const { arrivals, woken } = await waitReady(ctx, empty.streams, empty.lastIds, timeout, signal, count);
  const lastIds = [...empty.lastIds];
  // Arrivals of one stream come in id order, so the last one seen is the newest.
  for (const a of arrivals) lastIds[a.stream] = a.entryId;
  const arrived = arrivals.map((a) => ({ ...empty.sources[a.stream]!, entryId: a.entryId, taskId: a.taskId }));
  return { arrived, lastIds, woken };
}

/**
 * One round of taking up to `count` tasks without a prefetch buffer (dequeue()'s path): due delayed tasks
 * are promoted, ready ones claimed and started. When nothing is ready it waits on a pooled connection
 * until an entry arrives, the next delayed task is due, BLOCK_MS passes or the signal aborts, then starts
 * what arrived; [] means look again.
 */
export async function takeRound(
  ctx: DequeueContext,
  named: readonly string[] | undefined,
  count: number,
  signal?: AbortSignal,
): Promise<Task[]> {
  if (signal?.aborted || ctx.life.closed) return [];
  const queues = await queuesToRead(ctx, named, signal);
  if (queues.length === 0) return [];
  const result = await claimReady(ctx, queues, count);
  if (result.kind === 'due') return [];
  if (result.kind === 'empty') return waitAndStart(ctx, result, count, signal);
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the signal can abort and close() can run during the awaits above
  if (signal?.aborted || ctx.life.closed) {
    await redeliver(ctx, result.claimed);
    return [];
  }
  const { tasks, held } = await start(ctx, result.claimed);
  // Held back by their queue's controls (paused or limited since the claim): back to their queue.
  await redeliver(ctx, held);
  return tasks;
}

async function waitAndStart(
  ctx: DequeueContext,
  empty: EmptyClaim,
  count: number,
  signal: AbortSignal | undefined,
): Promise<Task[]> {
  const { arrived } = await waitForArrivals(ctx, empty, deadlinesAfter(empty), count, signal);
  if (arrived.length === 0 || signal?.aborted || ctx.life.closed) return [];
  const { tasks, next, held } = await start(ctx, [], undefined, arrived);
  await redeliver(ctx, held);
  // Entries claimed in place of arrivals another reader took are started now rather than given back
  // (which would send them to the tail of their queue).
  const room = Math.max(0, count - tasks.length);
  try {
    if (room > 0 && next.length > 0) tasks.push(...(await start(ctx, next.slice(0, room))).tasks);
    if (next.length > room) await redeliver(ctx, next.slice(room));
  } catch (err) {
    // Tasks already started go to the caller all the same (failing here would leave them running for
    // nobody); entries still claimed stay pending, for redelivery.
    if (tasks.length === 0) throw err;
  }
  return tasks;
}
