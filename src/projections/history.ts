import type { ReadContext } from '../context/read-context.js';
import { validateTaskId } from '../validation.js';
import type { TaskEvent } from '../types.js';
import { entryToRawEvent, rawEventToTaskEvent, type StreamEntry } from '../events/codec.js';

/**
 * One task's events, oldest first, read through the event ids its hash keeps: one script call whose cost
 * follows the task's own events, not the log's size. A deleted task has no projection, so no history here;
 * its events stay in the log (events()).
 */
export async function history(ctx: ReadContext, taskId: string): Promise<TaskEvent[]> {
  validateTaskId(taskId);
  await ctx.life.whenOpen();
  const entries = (await ctx.scripts.history(ctx.keys.task(taskId), ctx.keys.events)) as StreamEntry[];
  return entries.map((e) => rawEventToTaskEvent(entryToRawEvent(e)));
}
