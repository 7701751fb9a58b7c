import { GROUP } from '../redis/keys.js';
import type { ReadContext } from '../context/read-context.js';
import { throwOnCode } from '../errors.js';
import { validateTaskId } from '../validation.js';
import { placeOf } from './queue-of.js';

/**
 * Cancels a waiting or running task. Returns true when this call cancelled it, false when it was cancelled
 * already; a finished or failed task answers with its error.
 */
export async function cancel(ctx: ReadContext, taskId: string): Promise<boolean> {
  validateTaskId(taskId);
  await ctx.life.whenOpen();
  // The script needs the queue's ready stream among its keys, so the queue is read first and checked there.
  const { queue, priority } = await placeOf(ctx, taskId);
  const k = ctx.keys;
  const code = Number(
    await ctx.scripts.cancel(
      k.events,
      k.running,
      k.task(taskId),
      k.ready(queue, priority),
      k.delayed(queue),
      k.counts,
      k.endedIndex,
      k.controls,
      k.wake,
      taskId,
      GROUP,
      queue,
      String(priority),
    ),
  );
  if (code === 0) return false;
  throwOnCode(code, taskId);
  return true;
}
