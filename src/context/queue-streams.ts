import type { ReadContext } from './read-context.js';

/** One ready stream: a queue's priority level. */
export interface ReadyStream {
  queue: string;
  priority: number;
  key: string;
}

/** `<p>:<queue>` members of `{ns}:levels` as each queue's levels, highest first, then 0. */
export function parseLevels(members: readonly string[]): Map<string, number[]> {
  const byQueue = new Map<string, number[]>();
  for (const m of members) {
    const at = m.indexOf(':');
    const p = Number(m.slice(0, at));
    if (at < 1 || !Number.isInteger(p) || p < 1) continue;
    const queue = m.slice(at + 1);
    const list = byQueue.get(queue) ?? [];
    if (!list.includes(p)) list.push(p);
    byQueue.set(queue, list);
  }
  for (const list of byQueue.values()) {
    list.sort((a, b) => b - a);
    list.push(0);
  }
  return byQueue;
}

/**
 * Every ready stream of the namespace (or of the queues given): each queue's levels in use, highest first,
 * then level 0. For the readers that visit them all (recovery, stats, verify).
 */
export async function readyStreams(ctx: ReadContext, queues?: readonly string[]): Promise<ReadyStream[]> {
  const [names, members] = await Promise.all([
    queues ? Promise.resolve([...queues]) : ctx.redis.smembers(ctx.keys.queues),
    ctx.redis.smembers(ctx.keys.levels),
  ]);
  const levels = parseLevels(members);
  return names.flatMap((queue) =>
    (levels.get(queue) ?? [0]).map((priority) => ({ queue, priority, key: ctx.keys.ready(queue, priority) })),
  );
}
