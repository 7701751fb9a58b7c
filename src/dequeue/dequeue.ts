import { AbortError, isRefusal, QueueClosedError } from '../errors.js';
import { validateQueueNames } from '../validation.js';
import { releaseStarted } from '../commands/release.js';
import type { Task } from '../types.js';
import type { DequeueContext } from './context.js';
import { takeRound } from './round.js';

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
export async function dequeue(
  ctx: DequeueContext,
  queues: readonly string[] | undefined,
  options: DequeueOptions = {},
  /** How a task is taken: one partition's rounds by default; several partitions' (partitions/dequeue.ts). */
  take: TakeOne = (named, signal) => takeOne(ctx, named, signal),
  /** The context a task taken is given back through (its partition's). */
  ctxOf: (task: Task) => DequeueContext = () => ctx,
): Promise<Task> {
  const named = queues && queues.length > 0 ? validateQueueNames(queues) : undefined;
  const { signal } = options;
  if (signal?.aborted) throw new AbortError();
  await ctx.life.whenOpen();
  return new Promise<Task>((resolve, reject) => {
    let done = false;
    const onAbort = () => {
      done = true;
      reject(new AbortError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const taking = take(named, signal).then(
      async (task) => {
        signal?.removeEventListener('abort', onAbort);
        if (!done && task && !ctx.life.closed) {
          done = true;
          resolve(task);
          return;
        }
        if (!done) {
          done = true;
          reject(ctx.life.closed ? new QueueClosedError() : new AbortError());
        }
        // Nobody holds it: back to its queue now, rather than after a heartbeat deadline. A refusal means
        // it moved on meanwhile (cancelled, say): nothing to give back. Any other failure is reported; the
        // task then stalls and recovery brings it back.
        if (task)
          await releaseStarted(ctxOf(task), task).catch((err: unknown) => isRefusal(err) || ctx.life.report(err));
      },
      (err: unknown) => {
        signal?.removeEventListener('abort', onAbort);
        if (!done) {
          done = true;
          reject(err);
        }
      },
    );
    // Kept until the round ends, so that close() waits for what it gives back.
    ctx.life.track(taking);
  });
}

export type TakeOne = (named: readonly string[] | undefined, signal?: AbortSignal) => Promise<Task | null>;

async function takeOne(
  ctx: DequeueContext,
  named: readonly string[] | undefined,
  signal?: AbortSignal,
): Promise<Task | null> {
  for (;;) {
    if (signal?.aborted || ctx.life.closed) return null;
    const [task] = await takeRound(ctx, named, 1, signal);
    if (task) return task;
  }
}
