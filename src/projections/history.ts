import type { ReadContext } from '../context/read-context.js';
import { validateTaskId } from '../validation.js';
import type { TaskEvent } from '../types.js';
import { entryToRawEvent, rawEventToTaskEvent, type StreamEntry } from '../events/codec.js';
import { compareStreamIds } from '../events/stream-id.js';

const SNAPSHOT = 'snapshot';

/**
 * One task's events, oldest first, read through the event ids its hash keeps: one script call whose cost
 * follows the task's own events, not the log's size. With an archive, the events compaction trimmed come
 * from it (its task filter keeps that from reading every segment), and snapshots, which only stood in for
 * them, are left out. Without one, a trimmed task's history starts at its `snapshot`. A task whose
 * projection is gone (deleted, expired) has only its archived events here; the log keeps the rest (events()).
 */
export async function history(ctx: ReadContext, taskId: string): Promise<TaskEvent[]> {
  validateTaskId(taskId);
  await ctx.life.whenOpen();
  const entries = (await ctx.scripts.history(ctx.keys.task(taskId), ctx.keys.events)) as StreamEntry[];
  const live = entries.map((e) => rawEventToTaskEvent(entryToRawEvent(e)));
  const archive = ctx.archive;
  // No snapshot stood in for trimmed events (or nowhere to find them): the log has what there is.
  if (!archive || (live.length > 0 && !live.some((e) => e.type === SNAPSHOT))) return live;
  await archive.open(ctx.keys.tag);
  const archived = await archive.eventsOf(taskId);
  const byId = new Map<string, TaskEvent>();
  for (const e of [...archived, ...live]) if (e.type !== SNAPSHOT) byId.set(e.id, e);
  return [...byId.values()].sort((a, b) => compareStreamIds(a.id, b.id));
}
