import { GROUP } from '../redis/keys.js';
import { scriptPipeline } from '../redis/pipeline.js';
import type { ReadContext } from '../context/read-context.js';
import type { Claimed } from './claim.js';

/**
 * Redelivers entries that were claimed but not started (redeliver.lua, reason 'given-back'): each leaves
 * the group's pending list and its task, if it still waits for that entry, gets a new one at the tail of
 * its queue. Recovery would do the same once the delivery timeout passed.
 */
export async function redeliver(ctx: ReadContext, claimed: readonly Claimed[]): Promise<void> {
  if (claimed.length === 0) return;
  const pipeline = scriptPipeline(ctx.redis);
  for (const c of claimed) {
    pipeline.script(
      'redeliver',
      ctx.keys.events,
      ctx.keys.task(c.taskId),
      ctx.keys.ready(c.queue, c.priority),
      c.taskId,
      c.entryId,
      GROUP,
      'given-back',
    );
  }
  await pipeline.exec();
}
