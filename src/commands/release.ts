import { GROUP } from '../keys.js';
import { enter, type Context } from '../context.js';
import { queueOf } from './queue-of.js';
import { validateTaskId } from '../validation.js';
import { heldLease, settle, type LeaseOptions } from './lease.js';

/** Gives a running task back to its queue (a `requeued` event, reason "released"); refused unless ours. */
export async function release(ctx: Context, taskId: string, options?: LeaseOptions): Promise<void> {
  validateTaskId(taskId);
  await enter(ctx);
  const queue = await queueOf(ctx, taskId);
  const held = heldLease(ctx, taskId, options);
  const k = ctx.keys;
  const code = Number(await ctx.scripts.requeue(k.events, k.running, k.task(taskId), k.ready(queue), k.counts, taskId, GROUP, 'released', held, queue));
  settle(ctx, taskId, code, held, true);
}
