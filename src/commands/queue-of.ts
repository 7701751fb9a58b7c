import type { Context } from '../context.js';
import { TaskNotFoundError } from '../errors.js';

/**
 * The queue of a task, read before a script that needs the queue's keys among its KEYS (the script then
 * checks that the queue is still the same). TaskNotFoundError when there is no such task.
 */
export async function queueOf(ctx: Context, taskId: string): Promise<string> {
  const queue = await ctx.redis.hget(ctx.keys.task(taskId), 'queue');
  if (queue === null) throw new TaskNotFoundError(taskId);
  return queue;
}
