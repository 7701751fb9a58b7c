import { GROUP } from '../keys.js';
import type { Context } from '../context.js';
import type { Due } from './claim.js';

/** Moves due delayed tasks to their ready streams (promote.lua); returns how many this call moved. */
export async function promote(ctx: Context, due: readonly Due[]): Promise<number> {
  if (due.length === 0) return 0;
  const keys = [ctx.keys.events];
  for (const d of due) keys.push(ctx.keys.task(d.taskId), ctx.keys.delayed(d.queue), ctx.keys.ready(d.queue));
  return Number(await ctx.scripts.promote(keys.length, ...keys, GROUP, ...due.map((d) => d.taskId)));
}
