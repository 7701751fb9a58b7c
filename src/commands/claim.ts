import { CONSUMER, GROUP } from '../keys.js';
import type { Context } from '../context.js';

export interface Claimed {
  queue: string;
  entryId: string;
  taskId: string;
}

export type ClaimResult = { claimed: Claimed[] } | { claimed: []; lastIds: string[]; queues: string[] };

/**
 * Takes up to `count` ready entries from the queues through the consumer group, starting at a rotating
 * queue so that no queue starves the others. When nothing is ready, returns each stream's last id for a
 * blocking wait (wait-ready.ts).
 */
export async function claim(ctx: Context, queues: readonly string[], count: number): Promise<ClaimResult> {
  const shift = ctx.rotation++ % queues.length;
  const order = [...queues.slice(shift), ...queues.slice(0, shift)];
  const keys = order.map((q) => ctx.keys.ready(q));
  const reply = (await ctx.scripts.claim(keys.length, ...keys, GROUP, CONSUMER, count)) as (string | number)[];
  if (reply[0] === 0) return { claimed: [], lastIds: reply.slice(1).map(String), queues: order };
  const claimed: Claimed[] = [];
  for (let i = 1; i + 2 < reply.length; i += 3) {
    claimed.push({ queue: order[Number(reply[i]) - 1]!, entryId: String(reply[i + 1]), taskId: String(reply[i + 2]) });
  }
  return { claimed };
}
