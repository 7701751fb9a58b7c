import { describe, expect, it } from 'vitest';
import { sleep, until, useRedis } from './helpers/fixture.js';
import { FORMAT_VERSION } from '../src/index.js';

// Delayed tasks, retries, cancel and stall recovery against the queue controls.
const r = useRedis();
const nothingWithin = (q: ReturnType<typeof r.queue>, queue: string, ms: number) =>
  expect(q.dequeue([queue], { signal: AbortSignal.timeout(ms) })).rejects.toThrow();

describe('controls and the rest of the lifecycle', () => {
  it('a delayed task of a paused queue is promoted when due but does not start until resume', async () => {
    const q = r.queue();
    await q.pause('d');
    const id = await q.enqueue({ queue: 'd', type: 't', delayMs: 50 });
    await nothingWithin(q, 'd', 300);
    const t = await q.get(id);
    expect(t!.status).toBe('waiting');
    expect(t!.runAt).toBeNull(); // promoted: due, waiting for the queue
    await q.resume('d');
    expect((await q.dequeue(['d'], { signal: AbortSignal.timeout(3000) })).id).toBe(id);
  });

  it('a task waiting to retry in a capped queue starts only when a slot frees', async () => {
    const q = r.queue();
    await q.setQueueOptions('c', { concurrency: 1 });
    const [a, b] = await q.enqueueMany([
      { queue: 'c', type: 't', maxAttempts: 3 },
      { queue: 'c', type: 't' },
    ]);
    const first = await q.dequeue(['c']);
    expect(first.id).toBe(a);
    await q.retryLater(a!, { delayMs: 10, error: new Error('try again') });
    // a waits to retry; b takes the slot; a's retry, due, finds the cap full.
    const second = await q.dequeue(['c']);
    expect(second.id).toBe(b);
    await sleep(50);
    await nothingWithin(q, 'c', 300);
    await q.finish(b!);
    const again = await q.dequeue(['c'], { signal: AbortSignal.timeout(3000) });
    expect(again.id).toBe(a);
    expect(again.attempt).toBe(2);
  });

  it('cancelling a running task frees its slot', async () => {
    const q = r.queue();
    await q.setQueueOptions('x', { concurrency: 1 });
    const [a, b] = await q.enqueueMany([
      { queue: 'x', type: 't' },
      { queue: 'x', type: 't' },
    ]);
    expect((await q.dequeue(['x'])).id).toBe(a);
    await nothingWithin(q, 'x', 200);
    await q.cancel(a!);
    expect((await q.getQueueOptions('x')).running).toBe(0);
    expect((await q.dequeue(['x'], { signal: AbortSignal.timeout(3000) })).id).toBe(b);
  });

  it('a stalled task counts against the cap until recovery requeues it', async () => {
    const q = r.queue({ heartbeatTtlMs: 200, recoveryIntervalMs: 0 });
    await q.setQueueOptions('s', { concurrency: 1 });
    const [a, b] = await q.enqueueMany([
      { queue: 's', type: 't' },
      { queue: 's', type: 't' },
    ]);
    expect((await q.dequeue(['s'])).id).toBe(a); // and then never heartbeats
    await sleep(300);
    await nothingWithin(q, 's', 200);
    expect((await q.getQueueOptions('s')).running).toBe(1);
    await q.recover();
    expect((await q.getQueueOptions('s')).running).toBe(0);
    // b was first in line; a went back to the tail.
    expect((await q.dequeue(['s'], { signal: AbortSignal.timeout(3000) })).id).toBe(b);
    await until(async () => (await q.get(a!))!.status === 'waiting');
  });
});

describe('format 3 -> 4', () => {
  it('counts the running tasks by queue when it opens a namespace an older version wrote', async () => {
    const q = r.queue();
    await q.enqueueMany([
      { queue: 'a', type: 't' },
      { queue: 'a', type: 't' },
      { queue: 'b', type: 't' },
    ]);
    await q.dequeue(['a']);
    await q.dequeue(['a']);
    await q.dequeue(['b']);
    await q.close();
    const raw = r.raw();
    // As a format-3 instance left it: no running counts.
    await raw.del(`{${q.namespace}}:controls`);
    await raw.hset(`{${q.namespace}}:meta`, 'format', '3');
    const q2 = r.queue({ namespace: q.namespace });
    expect((await q2.getQueueOptions('a')).running).toBe(2);
    expect((await q2.getQueueOptions('b')).running).toBe(1);
    expect(await raw.hget(`{${q.namespace}}:meta`, 'format')).toBe(String(FORMAT_VERSION));
    expect((await q2.verify()).mismatches).toEqual([]);
  });
});
