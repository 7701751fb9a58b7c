import { GROUP } from '../keys.js';
import { pairsToObject, hashToTask } from '../projections/decode.js';
import type { Context } from '../context.js';
import type { Task } from '../types.js';
import type { Claimed } from './claim.js';
import { rememberLease } from './lease.js';

/**
 * Starts claimed tasks in one script call. Entries whose task moved on meanwhile are dropped, so the result
 * may be shorter than the input. This instance remembers each started task's lease.
 */
export async function start(ctx: Context, claimed: readonly Claimed[]): Promise<Task[]> {
  if (claimed.length === 0) return [];
  const keys = [ctx.keys.events, ctx.keys.running];
  const args: string[] = [GROUP, String(ctx.heartbeatTtlMs)];
  for (const c of claimed) {
    keys.push(ctx.keys.task(c.taskId), ctx.keys.ready(c.queue));
    args.push(c.taskId, c.entryId);
  }
  const reply = (await ctx.scripts.start(keys.length, ...keys, ...args)) as (string[] | 0)[];
  const tasks: Task[] = [];
  reply.forEach((hash, i) => {
    if (hash === 0) return;
    const task = hashToTask(claimed[i]!.taskId, pairsToObject(hash));
    rememberLease(ctx, task.id, task.lease!);
    tasks.push(task);
  });
  return tasks;
}
