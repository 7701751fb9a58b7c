import type { ReadContext } from '../context/read-context.js';

export interface EndedCounts {
  finished: number;
  failed: number;
  cancelled: number;
}

/** All-time counts of tasks that ended, per queue (one HGETALL of the counts index). */
export async function endedCounts(ctx: ReadContext): Promise<Map<string, EndedCounts>> {
  await ctx.life.whenOpen();
  const raw = await ctx.redis.hgetall(ctx.keys.counts);
  const out = new Map<string, EndedCounts>();
  for (const [field, value] of Object.entries(raw)) {
    // Fields are `<status>:<queue>`; a queue name may itself hold ':'.
    const colon = field.indexOf(':');
    const status = field.slice(0, colon);
    if (status !== 'finished' && status !== 'failed' && status !== 'cancelled') continue;
    const queue = field.slice(colon + 1);
    const row = out.get(queue) ?? { finished: 0, failed: 0, cancelled: 0 };
    row[status] = Number(value);
    out.set(queue, row);
  }
  return out;
}
