import { GROUP } from '../redis/keys.js';
import { validateTaskId } from '../validation.js';
import type { Task } from '../types.js';
import type { WriteContext } from './context.js';
import type { LeaseOptions } from './leases.js';
import { queueOf } from './queue-of.js';

/** Gives a running task back to its queue (a `requeued` event, reason "released"); refused unless ours. */
export async function release(ctx: WriteContext, taskId: string, options?: LeaseOptions): Promise<void> {
  validateTaskId(taskId);
  await ctx.life.whenOpen();
  const queue = await queueOf(ctx, taskId);
  await releaseHeld(ctx, taskId, queue, ctx.leases.held(taskId, options));
}

/**
 * Releases a task dequeue() started for a caller who is no longer there (its signal aborted, or the queue
 * is closing). Skips the format gate: close() waits for this before it closes the connection.
 */
export function releaseStarted(ctx: WriteContext, task: Task): Promise<void> {
  return releaseHeld(ctx, task.id, task.queue, task.lease ?? '');
}

async function releaseHeld(ctx: WriteContext, taskId: string, queue: string, held: string): Promise<void> {
  const k = ctx.keys;
  const code = Number(
    await ctx.scripts.release(k.events, k.running, k.task(taskId), k.ready(queue), taskId, GROUP, held, queue),
  );
  ctx.leases.conclude(taskId, code, held, true);
}
