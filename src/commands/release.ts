import { GROUP } from '../redis/keys.js';
import { validateTaskId } from '../validation.js';
import type { Task } from '../types.js';
import type { WriteContext } from './context.js';
import type { LeaseOptions } from './leases.js';
import { placeOf, type Place } from './queue-of.js';

/**
 * Gives a running task back to its queue (a `requeued` event, reason "released"); refused unless ours.
 * With `holdMs` (a handler's RateLimitedError, from the worker) the reason is "rate-limited", the start does
 * not use up an attempt, and the whole queue starts nothing for that long.
 */
export async function release(ctx: WriteContext, taskId: string, options?: LeaseOptions, holdMs = 0): Promise<void> {
  validateTaskId(taskId);
  await ctx.life.whenOpen();
  const place = await placeOf(ctx, taskId);
  await releaseHeld(ctx, taskId, place, ctx.leases.held(taskId, options), holdMs);
}

/**
 * Releases a task dequeue() started for a caller who is no longer there (its signal aborted, or the queue
 * is closing). Skips the format gate: close() waits for this before it closes the connection.
 */
export function releaseStarted(ctx: WriteContext, task: Task): Promise<void> {
  return releaseHeld(ctx, task.id, task, task.lease ?? '', 0);
}

async function releaseHeld(
  ctx: WriteContext,
  taskId: string,
  place: Place,
  held: string,
  holdMs: number,
): Promise<void> {
  const k = ctx.keys;
  const { queue, priority } = place;
  const code = Number(
    await ctx.scripts.release(
      k.events,
      k.running,
      k.task(taskId),
      k.ready(queue, priority),
      k.controls,
      k.wake,
      taskId,
      GROUP,
      held,
      queue,
      String(priority),
      holdMs,
    ),
  );
  ctx.leases.conclude(taskId, code, held, true);
}
