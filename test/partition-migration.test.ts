import { describe, expect, it } from 'vitest';
import { finishPartitionMigration, migratePartitions, PartitionMismatchError, Worker } from '../src/index.js';
import { partitionOfId } from '../src/partitions/routing.js';
import { sleep, until, useRedis } from './helpers/fixture.js';

const r = useRedis();

describe('moving a namespace of one partition to three, online', () => {
  it('keeps every task in flight, old and new instances side by side, then ends the migration', async () => {
    const old = r.queue({ heartbeatTtlMs: 5000 });
    const ns = old.namespace;
    const runs = new Map<string, number>();
    const handler = async (task: { id: string }) => {
      runs.set(task.id, (runs.get(task.id) ?? 0) + 1);
      await sleep(2);
    };
    const before = await old.enqueueMany(
      Array.from({ length: 200 }, (_, i) => ({ queue: 'm', type: 't', spec: i, references: { all: 1 } })),
    );
    const oldWorker = new Worker(old, handler, { queues: ['m'], concurrency: 4 });
    oldWorker.start();
    await until(() => runs.size >= 20);
    // Migrate while the old worker runs.
    expect(await migratePartitions({ connection: r.url, namespace: ns, partitions: 3 })).toBe(true);
    expect(await migratePartitions({ connection: r.url, namespace: ns, partitions: 3 })).toBe(false);
    await expect(migratePartitions({ connection: r.url, namespace: ns, partitions: 4 })).rejects.toBeInstanceOf(
      PartitionMismatchError,
    );
    // An instance with one partition can no longer open it; one with three can.
    await expect(r.queue({ namespace: ns }).stats()).rejects.toBeInstanceOf(PartitionMismatchError);
    const q = r.queue({ namespace: ns, partitions: 3, heartbeatTtlMs: 5000 });
    const newWorker = new Worker(q, handler, { queues: ['m'], concurrency: 4 });
    newWorker.start();
    const spread = await q.enqueueMany(
      Array.from({ length: 100 }, () => ({ queue: 'm', type: 't', references: { all: 1 } })),
    );
    await sleep(1);
    spread.push(
      ...(await q.enqueueMany(Array.from({ length: 100 }, () => ({ queue: 'm', type: 't', references: { all: 1 } })))),
    );
    // The old instance still runs and still enqueues, into partition 0.
    const late = await old.enqueueMany(
      Array.from({ length: 50 }, () => ({ queue: 'm', type: 't', references: { all: 1 } })),
    );
    expect(new Set(spread.map((id) => partitionOfId(id, 3))).size).toBeGreaterThan(1);
    const all = [...before, ...spread, ...late];
    await until(() => all.every((id) => runs.has(id)), 30_000);
    await Promise.all([oldWorker.close(), newWorker.close()]);
    // Each ran once, and the new instance finds every task by id, also those made before in partition 0.
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    const tasks = await Promise.all(all.map((id) => q.get(id)));
    expect(tasks.every((t) => t?.status === 'finished')).toBe(true);
    expect((await q.history(before[0]!)).map((e) => e.type)).toEqual(['enqueued', 'started', 'finished']);
    // A caller's id made before the migration stays idempotent.
    expect(await q.enqueue({ id: before[1]!, queue: 'm', type: 't' })).toBe(before[1]);
    expect((await q.stats()).queues.m!.waiting).toBe(0);
    expect((await q.verify()).mismatches).toEqual([]);
    const logged = [];
    for await (const e of q.events()) if (e.type === 'partitioned') logged.push(e);
    expect(logged).toHaveLength(1);
    expect(logged[0]!.data).toMatchObject({ partitions: '3', from: '1' });
    // The migration ends once partition 0 holds no task routed elsewhere.
    const stray = before.concat(late).filter((id) => partitionOfId(id, 3) !== 0).length;
    expect(await finishPartitionMigration({ connection: r.url, namespace: ns })).toBe(stray);
    await q.deleteByReference({ all: 1 });
    expect(await finishPartitionMigration({ connection: r.url, namespace: ns })).toBe(0);
    expect(await r.raw().hget(`{${ns}}:meta`, 'legacy')).toBeNull();
  });
});
