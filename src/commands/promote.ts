import { GROUP, MAX_PRIORITY } from '../redis/keys.js';
import type { ReadContext } from '../context/read-context.js';

/** A delayed task whose due time has come. */
export interface Due {
  queue: string;
  taskId: string;
}

const LEVELS = Array.from({ length: MAX_PRIORITY + 1 }, (_, p) => p);

/**
 * Moves due delayed tasks to their ready streams (promote.lua); returns how many this call moved. Each
 * queue's streams of every level are declared: the script reads each task's priority.
 */
export async function promote(ctx: ReadContext, due: readonly Due[]): Promise<number> {
  if (due.length === 0) return 0;
  const k = ctx.keys;
  const keys = [k.events];
  const place = new Map<string, number>();
  for (const d of due) {
    if (place.has(d.queue)) continue;
    place.set(d.queue, place.size + 1);
    keys.push(k.delayed(d.queue), ...LEVELS.map((p) => k.ready(d.queue, p)));
  }
  const args: (string | number)[] = [GROUP, place.size];
  for (const d of due) {
    keys.push(k.task(d.taskId));
    args.push(d.taskId, place.get(d.queue)!);
  }
  return Number(await ctx.scripts.promote(keys.length, ...keys, ...args));
}
