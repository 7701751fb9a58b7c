import { AbortError, QueueClosedError } from '../errors.js';
import { GROUP } from '../keys.js';
import { enter, type Context } from '../context.js';
import { validateQueueNames } from '../validation.js';
import type { Task } from '../types.js';
import { claim, type Claimed } from './claim.js';
import { start } from './start.js';
import { waitReady } from './wait-ready.js';
import { promote } from './promote.js';
import { release } from './release.js';

/** Longest single blocking wait; also how often "any queue" looks for queues that appeared meanwhile. */
const BLOCK_MS = 1000;

export interface DequeueOptions {
  signal?: AbortSignal;
}

/**
 * Takes the oldest waiting task of the given queues (any queue when none are given), blocking until one
 * arrives. The task comes back running, with its attempt, startedAt and lastHeartbeatAt set. An aborted
 * signal rejects at once with AbortError; a task claimed or started after that is given back.
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
    takeOne(ctx, named, signal).then(
      async (task) => {
        signal?.removeEventListener('abort', onAbort);
        if (!done) {
          done = true;
          if (task) resolve(task);
          else reject(ctx.closed ? new QueueClosedError() : new AbortError());
        } else if (task) {
          await release(ctx, task.id).catch(() => {});
        }
      },
      (err: unknown) => {
        signal?.removeEventListener('abort', onAbort);
        if (!done) {
          done = true;
          reject(err);
        }
      },
    );
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
 * promoted, ready ones claimed and started in one script call each. When nothing is ready it waits on a
 * pooled connection until an entry arrives, the next delayed task is due, BLOCK_MS passes or the signal
 * aborts, and returns [] so the caller can look again. The worker feeds all its slots through this.
 */
export async function takeBatch(ctx: Context, named: readonly string[] | undefined, count: number, signal?: AbortSignal): Promise<Task[]> {
  if (signal?.aborted || ctx.closed) return [];
  const queues = named ?? (await ctx.redis.smembers(ctx.keys.queues));
  if (queues.length === 0) {
    await sleep(Math.min(BLOCK_MS, 250), signal);
    return [];
  }
  let result = await claim(ctx, queues, count);
  if (result.kind === 'due') {
    await promote(ctx, result.due);
    result = await claim(ctx, queues, count);
    if (result.kind === 'due') return [];
  }
  if (result.kind === 'claimed') {
    if (signal?.aborted || ctx.closed) {
      await giveBack(ctx, result.claimed);
      return [];
    }
    return start(ctx, result.claimed);
  }
  const timeout = Math.max(1, Math.min(BLOCK_MS, result.nextDueInMs ?? BLOCK_MS));
  await waitReady(ctx, result.streams, result.lastIds, timeout, signal);
  return [];
}

/** Hands claimed-but-unstarted entries back to their queues (recovery would, later). */
export async function giveBack(ctx: Context, claimed: readonly Claimed[]): Promise<void> {
  const pipeline = ctx.redis.pipeline() as unknown as Record<string, (...a: string[]) => unknown> & { exec(): Promise<unknown> };
  for (const c of claimed) {
    pipeline.tl_redeliver!(ctx.keys.events, ctx.keys.task(c.taskId), ctx.keys.ready(c.queue), c.taskId, c.entryId, GROUP, 'given-back');
  }
  await pipeline.exec();
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
