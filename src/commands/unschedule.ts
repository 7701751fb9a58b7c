import type { ReadContext } from '../context/read-context.js';
import type { References } from '../types.js';

/** Removes one schedule (schedule-remove.lua); 1 when removed, 0 when there was none. */
export async function unschedule(ctx: ReadContext, id: string): Promise<number> {
  const k = ctx.keys;
  const refsJson = await ctx.redis.hget(k.schedule(id), 'references');
  const refs = Object.entries(JSON.parse(refsJson ?? '{}') as References).map(([n, v]) => k.scheduleReference(n, v));
  const keys = [k.events, k.schedule(id), k.schedules, ...refs];
  return Number(await ctx.scripts.scheduleRemove(keys.length, ...keys, id));
}
