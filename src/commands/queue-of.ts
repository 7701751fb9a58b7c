import type { ReadContext } from '../context/read-context.js';
import { TaskNotFoundError } from '../errors.js';

/**
 * The queue of a task, read before a script that needs the queue's keys among its KEYS (the script then
 * checks that the queue is still the same). TaskNotFoundError when there is no such task.
 */
export async function queueOf(ctx: ReadContext, taskId: string): Promise<string> {
  const queue = await ctx.redis.hget(ctx.keys.task(taskId), 'queue');
  if (queue === null) throw new TaskNotFoundError(taskId);
  return queue;
}
