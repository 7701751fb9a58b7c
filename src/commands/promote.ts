import { GROUP } from '../redis/keys.js';
import type { ReadContext } from '../context/read-context.js';

/** A delayed task whose due time has come. */
export interface Due {
  queue: string;
  taskId: string;
}

/** Moves due delayed tasks to their ready streams (promote.lua); returns how many this call moved. */
export async function promote(ctx: ReadContext, due: readonly Due[]): Promise<number> {
  if (due.length === 0) return 0;
  const keys = [ctx.keys.events];
  for (const d of due) keys.push(ctx.keys.task(d.taskId), ctx.keys.delayed(d.queue), ctx.keys.ready(d.queue));
  return Number(await ctx.scripts.promote(keys.length, ...keys, GROUP, ...due.map((d) => d.taskId)));
}
