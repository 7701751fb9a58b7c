import type { ReadContext } from '../context/read-context.js';
import { validateTaskId } from '../validation.js';
import type { Task } from '../types.js';
import { hashToTask, pairsToObject } from '../events/codec.js';

/** The task's current projection, or null when there is no such task. */
export async function get(ctx: ReadContext, taskId: string): Promise<Task | null> {
  validateTaskId(taskId);
  await ctx.life.whenOpen();
  const pairs = (await ctx.redis.call('HGETALL', ctx.keys.task(taskId))) as string[];
  return pairs.length ? hashToTask(taskId, pairsToObject(pairs)) : null;
}
