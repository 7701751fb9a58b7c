import { describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { RedisOutOfMemoryError, TaskLedgerError, Worker } from '../src/index.js';
import { sleep, until, useRedis } from './helpers/fixture.js';

// CONFIG SET maxmemory: a server of this file's own.
const r = useRedis({ own: true });

/** Puts Redis over its maxmemory, with no eviction: every write that may grow memory is refused. */
async function fill(raw: Redis): Promise<void> {
  // 4 MB in 64 KB values: one big value would sit in the query buffer too, which Redis counts, then frees.
  const value = Buffer.alloc(64 * 1024);
  for (let i = 0; i < 64; i++) await raw.set(`filler:${i}`, value);
  const used = Number(/used_memory:(\d+)/.exec(await raw.info('memory'))?.[1]);
  await raw.config('SET', 'maxmemory-policy', 'noeviction');
  // Below what the filler holds: freeing it makes room again.
  await raw.config('SET', 'maxmemory', String(used - 1024 * 1024));
}

async function free(raw: Redis): Promise<void> {
  await raw.del(...Array.from({ length: 64 }, (_, i) => `filler:${i}`));
  await raw.config('SET', 'maxmemory', '0');
}

const isFull = (err: unknown) => err instanceof TaskLedgerError && err.code === 'ERR_REDIS_OOM';

describe('a full Redis (maxmemory, noeviction)', () => {
  it('refuses enqueue with a typed error; a worker starts no handler until there is room, then runs each task once', async () => {
    const q = r.queue();
    const raw = r.raw();
    const ids = await q.enqueueMany(Array.from({ length: 200 }, (_, i) => ({ queue: 'q', type: 't', spec: { i } })));
    await fill(raw);
    try {
      const refused = await q.enqueue({ queue: 'q', type: 't' }).then(
        () => null,
        (err: unknown) => err,
      );
      expect(refused).toBeInstanceOf(RedisOutOfMemoryError);
      expect((refused as TaskLedgerError).code).toBe('ERR_REDIS_OOM');

      const runs = new Map<string, number>();
      const errors: unknown[] = [];
      const worker = new Worker(
        r.queue({ namespace: q.namespace }),
        async (task) => {
          runs.set(task.id, (runs.get(task.id) ?? 0) + 1);
          await sleep(1);
        },
        { queues: ['q'], concurrency: 8 },
      );
      let finished = 0;
      worker.on('error', (err) => errors.push(err));
      worker.on('task:finished', () => finished++);
      worker.start();
      try {
        // The worker keeps trying (once a second) and is refused each time, starting nothing.
        await until(() => errors.filter(isFull).length >= 3, 20_000);
        expect(runs.size).toBe(0);
        expect(errors.every(isFull)).toBe(true);
        expect((await q.stats()).running).toBe(0);
        await free(raw);
        await until(() => finished === 200, 30_000);
      } finally {
        await worker.close();
      }
      expect([...runs.values()].every((n) => n === 1)).toBe(true);
      expect(runs.size).toBe(200);
      for (const id of ids.slice(0, 50))
        expect((await q.history(id)).map((e) => e.type)).toEqual(['enqueued', 'started', 'finished']);
      expect((await q.verify()).mismatches).toEqual([]);
    } finally {
      await free(raw);
    }
  });

  it('handlers running when Redis fills have their outcome written once there is room: each task runs once', async () => {
    const q = r.queue();
    const raw = r.raw();
    const ids = await q.enqueueMany(Array.from({ length: 300 }, (_, i) => ({ queue: 'q', type: 't', spec: { i } })));
    const runs = new Map<string, number>();
    const errors: unknown[] = [];
    let release = () => {};
    const held = new Promise<void>((res) => (release = res));
    let waiting = 0;
    const worker = new Worker(
      r.queue({ namespace: q.namespace }),
      async (task) => {
        runs.set(task.id, (runs.get(task.id) ?? 0) + 1);
        // The first handlers wait until Redis is full, so their finishes meet it.
        if (runs.size <= 8) {
          waiting++;
          await held;
        }
      },
      { queues: ['q'], concurrency: 8 },
    );
    let finished = 0;
    worker.on('error', (err) => errors.push(err));
    worker.on('task:finished', () => finished++);
    worker.start();
    try {
      await until(() => waiting === 8, 20_000);
      await fill(raw);
      release();
      await until(() => errors.filter(isFull).length >= 3, 20_000);
      expect(runs.size).toBe(8);
      await free(raw);
      await until(() => finished === 300, 30_000);
    } finally {
      release();
      await worker.close();
      await free(raw);
    }
    expect(errors.every(isFull)).toBe(true);
    expect(runs.size).toBe(300);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    for (const id of ids.slice(0, 20))
      expect((await q.history(id)).map((e) => e.type)).toEqual(['enqueued', 'started', 'finished']);
    expect((await q.verify()).mismatches).toEqual([]);
  });

  it('recovery is refused with the typed error: a deadline that passed while heartbeats were refused requeues nothing', async () => {
    const q = r.queue({ heartbeatTtlMs: 100 });
    const raw = r.raw();
    const id = await q.enqueue({ queue: 'q', type: 't' });
    await q.dequeue(['q']);
    await fill(raw);
    try {
      await expect(q.heartbeat(id)).rejects.toBeInstanceOf(RedisOutOfMemoryError);
      await sleep(150); // past the deadline
      await expect(q.recover()).rejects.toBeInstanceOf(RedisOutOfMemoryError);
      expect((await q.get(id))?.status).toBe('running');
    } finally {
      await free(raw);
    }
    await q.heartbeat(id);
    await q.finish(id);
    expect((await q.history(id)).map((e) => e.type)).toEqual(['enqueued', 'started', 'finished']);
  });
});
