import type { ReadContext } from '../context/read-context.js';

/** Minutes the throughput hash keeps (THROUGHPUT_MINUTES in includes/count-minute.lua). */
export const THROUGHPUT_MINUTES = 60;

export interface MinuteCount {
  /** The start of the minute (Redis clock). */
  minute: Date;
  queue: string;
  started: number;
  finished: number;
  failed: number;
}

/**
 * Tasks that started, finished or failed per minute and queue, oldest first, from the per-minute counts the
 * start, finish and fail scripts keep (the last THROUGHPUT_MINUTES minutes; one HGETALL of at most that many minutes
 * times the queues). Minutes in which a queue ended nothing are absent. `rebuild()` leaves the counts
 * alone: they count calls made, not events in the log.
 */
export async function throughputPerMinute(ctx: ReadContext): Promise<MinuteCount[]> {
  await ctx.life.whenOpen();
  const raw = await ctx.redis.hgetall(ctx.keys.throughput);
  const rows = new Map<string, MinuteCount>();
  for (const [field, value] of Object.entries(raw)) {
    // `<minute>:<status>:<queue>`; a queue name may itself hold ':'.
    const m = /^(\d+):(started|finished|failed):(.*)$/s.exec(field);
    if (!m) continue;
    const [, minute, status, queue] = m as unknown as [string, string, 'started' | 'finished' | 'failed', string];
    const key = `${minute}:${queue}`;
    const row = rows.get(key) ?? {
      minute: new Date(Number(minute) * 60_000),
      queue,
      started: 0,
      finished: 0,
      failed: 0,
    };
    row[status] = Number(value);
    rows.set(key, row);
  }
  return [...rows.values()].sort(
    (a, b) => a.minute.getTime() - b.minute.getTime() || (a.queue < b.queue ? -1 : a.queue > b.queue ? 1 : 0),
  );
}

/**
 * Tasks that ended in the 60 s before `nowMs` (Redis time), per queue: this minute's count so far plus the
 * previous minute's, in proportion to the part of it still within the 60 s (an estimate: counts are kept
 * per minute, not per task).
 */
export async function endedLastMinute(
  ctx: ReadContext,
  nowMs: number,
): Promise<Map<string, { finished: number; failed: number }>> {
  const current = Math.floor(nowMs / 60_000);
  const share = 1 - (nowMs - current * 60_000) / 60_000;
  const out = new Map<string, { finished: number; failed: number }>();
  for (const row of await throughputPerMinute(ctx)) {
    const minute = row.minute.getTime() / 60_000;
    const weight = minute === current ? 1 : minute === current - 1 ? share : 0;
    if (weight === 0) continue;
    const sum = out.get(row.queue) ?? { finished: 0, failed: 0 };
    sum.finished += row.finished * weight;
    sum.failed += row.failed * weight;
    out.set(row.queue, sum);
  }
  for (const sum of out.values()) {
    sum.finished = Math.round(sum.finished);
    sum.failed = Math.round(sum.failed);
  }
  return out;
}
