import { enter, type Context } from '../context.js';
import { validateTaskId } from '../validation.js';
import type { Task } from '../types.js';
import { hashToTask, pairsToObject } from './decode.js';

/** The task's current projection, or null when there is no such task. */
export async function get(ctx: Context, taskId: string): Promise<Task | null> {
  validateTaskId(taskId);
  await enter(ctx);
  const pairs = (await ctx.redis.call('HGETALL', ctx.keys.task(taskId))) as string[];
  return pairs.length ? hashToTask(taskId, pairsToObject(pairs)) : null;
}
