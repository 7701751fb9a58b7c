import type { ReadContext } from '../context/read-context.js';
import { taskEventToFields } from '../events/codec.js';
import { FORMAT_VERSION } from '../redis/connection.js';
import type { TaskEvent } from '../types.js';
import { logLength } from '../projections/log-reader.js';

const BATCH = 1000;

/** Whether the namespace's log is empty: only an empty namespace takes an import. */
export async function logIsEmpty(ctx: ReadContext): Promise<boolean> {
  return (await logLength(ctx)) === 0;
}

/**
 * Appends exported events to the log with their own ids, in batches, and returns how many were sent. The
 * projections are not written here: a rebuild() folds them from the imported log.
 */
export async function appendEvents(
  ctx: ReadContext,
  events: AsyncIterable<Pick<TaskEvent, 'id' | 'type' | 'taskId' | 'scheduleId' | 'data'>>,
): Promise<number> {
  await ctx.redis.hsetnx(ctx.keys.meta, 'format', String(FORMAT_VERSION));
  let count = 0;
  let p = ctx.redis.pipeline();
  for await (const event of events) {
    p.xadd(ctx.keys.events, event.id, ...taskEventToFields(event));
    if (++count % BATCH === 0) {
      await p.exec();
      p = ctx.redis.pipeline();
    }
  }
  await p.exec();
  return count;
}
