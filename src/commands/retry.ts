import { GROUP } from '../redis/keys.js';
import type { ReadContext } from '../context/read-context.js';
import { throwOnCode } from '../errors.js';
import { validateTaskId } from '../validation.js';
import { placeOf } from './queue-of.js';

/**
 * Gives a failed or cancelled task another run: back to waiting at the tail of its queue (a `requeued`
 * event, reason 'retry'). False when it is waiting or running already; a finished task answers with
 * TaskFinishedError.
 */
export async function retry(ctx: ReadContext, taskId: string): Promise<boolean> {
  validateTaskId(taskId);
  await ctx.life.whenOpen();
  const { queue, priority } = await placeOf(ctx, taskId);
  const k = ctx.keys;
  const code = Number(
    await ctx.scripts.retry(
      k.events,
      k.task(taskId),
      k.ready(queue, priority),
      k.endedIndex,
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
