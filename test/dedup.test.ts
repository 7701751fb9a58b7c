import { describe, expect, it } from 'vitest';
import { ValidationError } from '../src/index.js';
import { sleep, useRedis } from './helpers/fixture.js';

const r = useRedis();

const taskCount = async (ns: string) => (await r.raw().keys(`{${ns}}:task:*`)).length;

describe('deduplication', () => {
  it('20 concurrent enqueues of one key from separate connections give one task and one id', async () => {
    const first = r.queue();
    const queues = [first, ...Array.from({ length: 19 }, () => r.queue({ namespace: first.namespace }))];
    const ids = await Promise.all(
      queues.map((q, i) => q.enqueue({ queue: 'd', type: 't', spec: i, dedup: { key: 'order-7' } })),
    );
    expect(new Set(ids).size).toBe(1);
    expect(await taskCount(first.namespace)).toBe(1);
    const enqueued = [];
    for await (const e of first.events()) if (e.type === 'enqueued') enqueued.push(e);
    expect(enqueued).toHaveLength(1);
    expect((await first.get(ids[0]!))!.dedupKey).toBe('order-7');
  });

  it('a duplicate stores nothing while the holder waits or runs; once it ended the key is free', async () => {
    const q = r.queue();
    const a = await q.enqueue({ queue: 'd', type: 't', dedup: { key: 'k' } });
    const before = await r.raw().xlen(`{${q.namespace}}:events`);
    expect(await q.enqueue({ queue: 'd', type: 't', dedup: { key: 'k' } })).toBe(a);
    expect(await r.raw().xlen(`{${q.namespace}}:events`)).toBe(before);
    const t = await q.dequeue(['d']);
    expect(await q.enqueue({ queue: 'd', type: 't', dedup: { key: 'k' } })).toBe(a); // running
    await q.finish(t.id);
    const b = await q.enqueue({ queue: 'd', type: 't', dedup: { key: 'k' } });
    expect(b).not.toBe(a);
    expect(await taskCount(q.namespace)).toBe(2);
  });

  it('with ttlMs the key is held for that long whatever the status (a throttle)', async () => {
    const q = r.queue();
    const a = await q.enqueue({ queue: 'd', type: 't', dedup: { key: 'x', ttlMs: 300 } });
    const t = await q.dequeue(['d']);
    await q.finish(t.id);
    expect(await q.enqueue({ queue: 'd', type: 't', dedup: { key: 'x', ttlMs: 300 } })).toBe(a);
    await sleep(350);
    expect(await q.enqueue({ queue: 'd', type: 't', dedup: { key: 'x', ttlMs: 300 } })).not.toBe(a);
  });

  it('replace: a waiting holder takes the newer spec (debounce), as a replaced event; a running one does not', async () => {
    const q = r.queue();
    const a = await q.enqueue({ queue: 'd', type: 't', spec: { v: 1 }, dedup: { key: 'r', replace: true } });
    expect(await q.enqueue({ queue: 'd', type: 't', spec: { v: 2 }, dedup: { key: 'r', replace: true } })).toBe(a);
    expect((await q.get(a))!.spec).toEqual({ v: 2 });
    expect((await q.history(a)).map((e) => e.type)).toEqual(['enqueued', 'replaced']);
    await q.dequeue(['d']);
    expect(await q.enqueue({ queue: 'd', type: 't', spec: { v: 3 }, dedup: { key: 'r', replace: true } })).toBe(a);
    expect((await q.get(a))!.spec).toEqual({ v: 2 });
    expect((await q.verify()).mismatches).toEqual([]);
  });

  it('two requests with one key in one enqueueMany give one task; others in the call are enqueued as usual', async () => {
    const q = r.queue();
    const ids = await q.enqueueMany([
      { queue: 'd', type: 't', dedup: { key: 'same' } },
      { queue: 'd', type: 't' },
      { queue: 'd', type: 't', dedup: { key: 'same' } },
    ]);
    expect(ids[2]).toBe(ids[0]);
    expect(ids[1]).not.toBe(ids[0]);
    expect(await taskCount(q.namespace)).toBe(2);
  });

  it.each([
    [{ key: '' }, /dedup.key/],
    [{ key: 'x'.repeat(300) }, /dedup.key/],
    [{ key: 'k', ttlMs: 0 }, /dedup.ttlMs/],
    [{ key: 'k', replace: 'yes' }, /dedup.replace/],
    [{ key: 'k', ttl: 5 }, /ttl/],
  ])('refuses dedup %j with a ValidationError and stores nothing', async (dedup, message) => {
    const q = r.queue();
    const p = q.enqueue({ queue: 'd', type: 't', dedup: dedup as never });
    await expect(p).rejects.toThrow(ValidationError);
    await expect(q.enqueue({ queue: 'd', type: 't', dedup: dedup as never })).rejects.toThrow(message);
    expect(await r.raw().exists(`{${q.namespace}}:events`)).toBe(0);
  });
});

describe('priority at enqueue', () => {
  it.each([-1, 10, 1.5, '3'])('refuses priority %j, naming it, and stores nothing', async (priority) => {
    const q = r.queue();
    await expect(q.enqueue({ queue: 'p', type: 't', priority: priority as never })).rejects.toThrow(/priority/);
    expect(await r.raw().exists(`{${q.namespace}}:events`)).toBe(0);
  });

  it('puts a task on its level stream and names the level', async () => {
    const q = r.queue();
    const id = await q.enqueue({ queue: 'p', type: 't', priority: 7 });
    expect(await r.raw().xlen(`{${q.namespace}}:ready@7:p`)).toBe(1);
    expect(await r.raw().smembers(`{${q.namespace}}:levels`)).toEqual(['7:p']);
    expect((await q.get(id))!.priority).toBe(7);
  });
});

describe('dedup and priority edges', () => {
  it('replace takes a new spec only from the same type; another type is a plain duplicate', async () => {
    const q = r.queue();
    const a = await q.enqueue({ queue: 'd', type: 'sync', spec: { s: 1 }, dedup: { key: 'x', replace: true } });
    expect(await q.enqueue({ queue: 'd', type: 'email', spec: { e: 1 }, dedup: { key: 'x', replace: true } })).toBe(a);
    expect((await q.get(a))!.spec).toEqual({ s: 1 });
  });

  it('a queue named like a level is a queue of its own', async () => {
    const q = r.queue();
    const [a, b] = await q.enqueueMany([
      { queue: '3:a', type: 't' },
      { queue: 'a', type: 't', priority: 3 },
    ]);
    expect((await q.get(a!))!).toMatchObject({ queue: '3:a', priority: 0 });
    expect((await q.get(b!))!).toMatchObject({ queue: 'a', priority: 3 });
    expect((await r.raw().smembers(`{${q.namespace}}:queues`)).sort()).toEqual(['3:a', 'a']);
  });
});
