import { describe, expect, it } from 'vitest';
import { THROUGHPUT_MINUTES } from '../src/index.js';
import { useRedis } from './helpers/fixture.js';

const r = useRedis();

/** Redis' clock, in minutes since the epoch. */
async function redisMinute(): Promise<number> {
  const [s] = await r.raw().time();
  return Math.floor(Number(s) / 60);
}

describe('per-minute counts of started and ended tasks (throughput)', () => {
  it('counts starts, finishes and fails per minute and queue, from finish, fail and start calls', async () => {
    const q = r.queue();
    await q.enqueueMany([
      { queue: 'mail', type: 'send' },
      { queue: 'mail', type: 'send' },
      { queue: 'mail', type: 'send' },
      { queue: 'img', type: 'resize' },
    ]);
    const a = await q.dequeue(['mail']);
    await q.finish(a.id);
    const b = await q.dequeue(['mail']);
    await q.fail(b.id, { error: 'no' });
    const c = await q.dequeue(['img']);
    await q.finish(c.id);
    const rows = await q.throughput();
    const sum = (queue: string, status: 'started' | 'finished' | 'failed') =>
      rows.filter((x) => x.queue === queue).reduce((n, x) => n + x[status], 0);
    expect([sum('mail', 'finished'), sum('mail', 'failed'), sum('img', 'finished'), sum('img', 'failed')]).toEqual([
      1, 1, 1, 0,
    ]);
    expect([sum('mail', 'started'), sum('img', 'started')]).toEqual([2, 1]);
    for (const row of rows) expect(row.minute.getTime() % 60_000).toBe(0);
    // verify() and rebuild() pass over the throughput hash: it is no task, and rebuild leaves it alone.
    expect((await q.verify()).mismatches).toEqual([]);
    await q.rebuild();
    expect(await q.throughput()).toEqual(rows);
  });

  it(`keeps only the last ${THROUGHPUT_MINUTES} minutes: a new minute's first count drops older ones`, async () => {
    const q = r.queue();
    const raw = r.raw();
    const key = `{${q.namespace}}:throughput`;
    const now = await redisMinute();
    // Counts as an earlier minute left them: one just inside the window, two outside it.
    await raw.hset(key, {
      [`${now - THROUGHPUT_MINUTES - 5}:finished:mail`]: 7,
      [`${now - THROUGHPUT_MINUTES}:failed:mail`]: 3,
      [`${now - THROUGHPUT_MINUTES + 2}:finished:old`]: 2,
    });
    await q.enqueue({ queue: 'mail', type: 'send' });
    const t = await q.dequeue(['mail']);
    await q.finish(t.id);
    const fields = await raw.hkeys(key);
    expect(fields).not.toContain(`${now - THROUGHPUT_MINUTES - 5}:finished:mail`);
    expect(fields).not.toContain(`${now - THROUGHPUT_MINUTES}:failed:mail`);
    expect(fields).toContain(`${now - THROUGHPUT_MINUTES + 2}:finished:old`);
    const minutes = (await q.throughput()).map((x) => x.minute.getTime() / 60_000);
    expect(Math.min(...minutes)).toBeGreaterThan(now - THROUGHPUT_MINUTES);
  });
});
