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

/** A task's queue and priority level: which ready stream it goes back to. */
export interface Place {
  queue: string;
  priority: number;
}

/** The queue and priority of a task (as queueOf), for a script that declares its level's ready stream. */
export async function placeOf(ctx: ReadContext, taskId: string): Promise<Place> {
  const [queue, priority] = await ctx.redis.hmget(ctx.keys.task(taskId), 'queue', 'priority');
  if (queue === null || queue === undefined) throw new TaskNotFoundError(taskId);
  return { queue, priority: Number(priority ?? 0) };
}
