import { describe, expect, it } from 'vitest';
import { sleep, useRedis } from './helpers/fixture.js';
import { namespace } from './helpers/redis.js';

const r = useRedis();

describe('a running task missing from the running set', () => {
  it('gets a deadline as far off as the longest heartbeat TTL announced, not the sweeper’s own', async () => {
    const ns = namespace();
    const holder = r.queue({ namespace: ns, heartbeatTtlMs: 60_000 });
    const sweeper = r.queue({ namespace: ns, heartbeatTtlMs: 200 });
    const id = await holder.enqueue({ queue: 'q', type: 't' });
    await holder.dequeue(['q']);
    await sweeper.get(id); // opened: both TTLs announced
    await r.raw().zrem(`{${ns}}:running`, id);
    expect((await sweeper.recover())?.repaired).toBe(1);
    await sleep(400);
    await r.raw().del(`{${ns}}:recovery-lock`);
    // The holder heartbeats every 20 s: a deadline of the sweeper's 200 ms would take its task from it.
    expect((await sweeper.recover())?.requeued).toBe(0);
    expect((await holder.get(id))?.status).toBe('running');
  });
});
