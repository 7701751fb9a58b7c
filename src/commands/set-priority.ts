import { GROUP } from '../redis/keys.js';
import type { ReadContext } from '../context/read-context.js';
import { LuaCode, throwOnCode, ValidationError } from '../errors.js';
import { prioritySchema, validateTaskId } from '../validation.js';
import { operator } from './queue-options.js';
import { placeOf } from './queue-of.js';

/**
 * Changes a waiting task's priority (reprioritize-5.lua; a `reprioritized` event). False when it has that
 * priority already. A due task goes to the tail of its new level; a running or ended one is refused.
 */
export async function setPriority(ctx: ReadContext, taskId: string, priority: number): Promise<boolean> {
  validateTaskId(taskId);
  const parsed = prioritySchema.safeParse(priority);
  if (!parsed.success) throw new ValidationError(parsed.error.issues[0]!.message);
  await ctx.life.whenOpen();
  const k = ctx.keys;
  // The place read may be stale by the call (another setPriority): read again, a few times.
  let code = 0;
  for (let tries = 0; tries < 3; tries++) {
    const place = await placeOf(ctx, taskId);
    code = Number(
      await ctx.scripts.reprioritize(
        k.events,
        k.task(taskId),
        k.ready(place.queue, place.priority),
        k.ready(place.queue, priority),
        k.levels,
        taskId,
        GROUP,
        place.queue,
        String(place.priority),
        String(priority),
        operator(),
      ),
    );
    if (code !== LuaCode.QUEUE_CHANGED) break;
  }
  if (code === 0) return false;
  throwOnCode(code, taskId);
  return true;
}
