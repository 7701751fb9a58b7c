import { GROUP } from '../keys.js';
import { enter, type Context } from '../context.js';
import { queueOf } from './queue-of.js';
import { validateTaskId } from '../validation.js';
import type { Task } from '../types.js';
import { heldLease, settle, type LeaseOptions } from './lease.js';

/** Gives a running task back to its queue (a `requeued` event, reason "released"); refused unless ours. */
export async function release(ctx: Context, taskId: string, options?: LeaseOptions): Promise<void> {
  validateTaskId(taskId);
  await enter(ctx);
  const queue = await queueOf(ctx, taskId);
  await requeueHeld(ctx, taskId, queue, heldLease(ctx, taskId, options));
}

/**
 * Gives back a task dequeue() started for a caller who is no longer there (its signal aborted, or the
 * queue is closing). Skips enter(): close() waits for this before it closes the connection.
 */
export function giveBackStarted(ctx: Context, task: Task): Promise<void> {
  return requeueHeld(ctx, task.id, task.queue, task.lease ?? '');
}

async function requeueHeld(ctx: Context, taskId: string, queue: string, held: string): Promise<void> {
  const k = ctx.keys;
  const code = Number(await ctx.scripts.requeue(k.events, k.running, k.task(taskId), k.ready(queue), k.counts, taskId, GROUP, 'released', held, queue));
  settle(ctx, taskId, code, held, true);
}
