import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  FORMAT_VERSION,
  PARTITIONED_FORMAT,
  FileArchive,
  PartitionMismatchError,
  PartitionRouteError,
  Scheduler,
  UnknownPartitionError,
  migratePartitions,
  ValidationError,
  Worker,
  type TaskEvent,
} from '../src/index.js';
import { crc16, keySlot } from '../src/partitions/crc16.js';
import { MAX_PARTITIONS, partitionTags } from '../src/partitions/layout.js';
import { idIn, partitionOfId, partitionOfKey } from '../src/partitions/routing.js';
import { scheduleId } from '../src/scheduler/scheduler.js';
import { ownedPartitions } from '../src/partitions/registry.js';
import { namespace, tempDir } from './helpers/redis.js';
import { sleep, until, useRedis } from './helpers/fixture.js';
import { spreadOverPartitions } from './helpers/partitions.js';
import { BIN, run } from './helpers/cli.js';

const r = useRedis();

describe('partition layout and routing', () => {
  it('hashes keys to slots as Redis Cluster does', async () => {
    // Reference values from the Redis Cluster specification and CLUSTER KEYSLOT.
    expect(crc16('123456789')).toBe(0x31c3);
    const raw = r.raw();
    for (const key of ['a', 'foo', '{user1000}.following', 'x{}y', '{}{a}', 'ünïcode', '{taskledger@7.3}:events'])
      expect(keySlot(key)).toBe(Number(await raw.call('CLUSTER', 'KEYSLOT', key).catch(() => keySlot(key))));
  });

  it('keeps the namespace tag for partition 0 and spreads the others over equal ranges of slots', () => {
    for (const P of [1, 2, 3, 6, 16]) {
      const tags = partitionTags('orders', P);
      expect(tags[0]).toBe('orders');
      expect(new Set(tags).size).toBe(P);
      const ranges = tags.map((t) => Math.floor((keySlot(`{${t}}`) * P) / 16384));
      expect(new Set(ranges).size).toBe(P);
      for (const t of tags.slice(1)) expect(t).toMatch(/^orders@\d+(\.\d+)?$/);
    }
    expect(partitionTags('orders', 3)).toEqual(partitionTags('orders', 3));
  });

  it('mints ids that route to the partition asked for, still in order', () => {
    const ids = Array.from({ length: 200 }, (_, i) => idIn(i % 5, 5));
    ids.forEach((id, i) => expect(partitionOfId(id, 5)).toBe(i % 5));
    expect([...ids].sort()).toEqual(ids);
  });

  it('shares partitions among workers by rendezvous hashing, moving few when one leaves', () => {
    const workers = ['a', 'b', 'c', 'd'];
    const owners = (live: string[]) =>
      Array.from({ length: 64 }, (_, p) => live.find((w) => ownedPartitions(w, live, 64).includes(p)));
    const four = owners(workers);
    expect(four.every((w) => w !== undefined)).toBe(true);
    for (const w of workers) expect(four.filter((o) => o === w).length).toBeGreaterThan(5);
    const three = owners(['a', 'b', 'c']);
    // Only d's partitions moved.
    four.forEach((o, p) => {
      if (o !== 'd') expect(three[p]).toBe(o);
    });
  });
});

describe('a namespace of several partitions', () => {
  it('records the count, refuses another, and refuses more partitions on a namespace in use', async () => {
    const ns = namespace();
    const q = r.queue({ namespace: ns, partitions: 3 });
    await q.enqueue({ queue: 'q', type: 't' });
    const raw = r.raw();
    expect(await raw.hget(`{${ns}}:meta`, 'partitions')).toBe('3');
    expect(await raw.hget(`{${ns}}:meta`, 'format')).toBe(String(PARTITIONED_FORMAT));
    for (const wrong of [1, 4]) {
      const other = r.queue({ namespace: ns, partitions: wrong });
      const err = await other.enqueue({ queue: 'q', type: 't' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PartitionMismatchError);
      expect((err as PartitionMismatchError).code).toBe('ERR_PARTITION_MISMATCH');
    }
    // One partition: recorded as 1, format unchanged; more partitions later is a migration.
    const single = r.queue();
    await single.enqueue({ queue: 'q', type: 't' });
    expect(await raw.hget(`{${single.namespace}}:meta`, 'format')).toBe(String(FORMAT_VERSION));
    const wider = r.queue({ namespace: single.namespace, partitions: 2 });
    await expect(wider.stats()).rejects.toThrow(/migration/);
    expect(await raw.exists(`{${single.namespace}@1}:meta`)).toBe(0);
  });

  it('refuses a bad partition count before anything opens', () => {
    for (const bad of [0, -1, 1.5, MAX_PARTITIONS + 1, '3', null])
      expect(() => r.queue({ partitions: bad as number })).toThrow(ValidationError);
  });

  it('runs tasks in every partition: enqueue, dequeue, finish, get, history, stats, verify', async () => {
    const q = r.queue({ partitions: 3 });
    const ids: string[] = [];
    // Three event-loop turns: three batches, one per partition (sticky enqueue).
    for (let b = 0; b < 3; b++) {
      ids.push(
        ...(await q.enqueueMany(Array.from({ length: 10 }, (_, i) => ({ queue: 'q', type: 't', spec: { b, i } })))),
      );
    }
    const parts = ids.map((id) => partitionOfId(id, 3));
    expect(new Set(parts).size).toBe(3);
    // Each batch went to one partition.
    for (let b = 0; b < 3; b++) expect(new Set(parts.slice(b * 10, b * 10 + 10)).size).toBe(1);
    const raw = r.raw();
    const tags = partitionTags(q.namespace, 3);
    for (const [i, id] of ids.entries()) expect(await raw.exists(`{${tags[parts[i]!]!}}:task:${id}`)).toBe(1);
    const stats = await q.stats();
    expect(stats.queues.q!.waiting).toBe(30);
    expect(stats.partitions!.map((p) => p.waiting)).toEqual([10, 10, 10]);
    const seen = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const t = await q.dequeue(['q'], { signal: AbortSignal.timeout(5000) });
      seen.add(t.id);
      await q.heartbeat(t.id, { half: true });
      await q.finish(t.id, { done: true });
    }
    expect(seen).toEqual(new Set(ids));
    expect((await q.get(ids[17]!))?.status).toBe('finished');
    expect((await q.history(ids[17]!)).map((e) => e.type)).toEqual(['enqueued', 'started', 'progress', 'finished']);
    const after = await q.stats();
    expect(after.queues.q).toMatchObject({ waiting: 0, running: 0 });
    expect(after.ended.finished).toBe(30);
    expect(await q.verify()).toMatchObject({ tasks: 30, mismatches: [] });
    expect(await q.rebuild()).toMatchObject({ tasks: 30 });
  });

  it('routes caller ids, partition keys and dedup keys, and refuses routes that disagree', async () => {
    const q = r.queue({ partitions: 4 });
    const id = await q.enqueue({ id: 'order-17', queue: 'q', type: 't' });
    expect(id).toBe('order-17');
    // Idempotent: the same id again stores nothing new.
    expect(await q.enqueue({ id: 'order-17', queue: 'q', type: 't' })).toBe('order-17');
    expect((await q.stats()).queues.q!.waiting).toBe(1);
    const keyed = await q.enqueueMany(
      Array.from({ length: 8 }, (_, i) => ({ queue: 'k', type: 't', spec: i, partitionKey: 'cust-9' })),
    );
    expect(new Set(keyed.map((k) => partitionOfId(k, 4))).size).toBe(1);
    // In order within the key: dequeued in the order enqueued.
    const got: number[] = [];
    for (let i = 0; i < 8; i++) got.push((await q.dequeue(['k'])).spec as number);
    expect(got).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const d1 = await q.enqueue({ queue: 'd', type: 't', dedup: { key: 'once' } });
    const d2 = await q.enqueue({ queue: 'd', type: 't', dedup: { key: 'once' } });
    expect(d2).toBe(d1);
    // An id whose route differs from its partitionKey's.
    const P = 4;
    const key = 'cust-9';
    const clash = ['a', 'b', 'c', 'd', 'e', 'f'].find((c) => partitionOfId(c, P) !== partitionOfId(key, P))!;
    const err = await q.enqueue({ id: clash, queue: 'q', type: 't', partitionKey: key }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PartitionRouteError);
    expect(await q.get(clash)).toBeNull();
    await expect(q.enqueue({ queue: 'q', type: 't', partitionKey: ' ' })).rejects.toThrow(ValidationError);
  });

  it('pins a capped queue to its home partition and keeps the cap across workers', async () => {
    const q = r.queue({ partitions: 3 });
    await q.setQueueOptions('capped', { concurrency: 2 });
    const ids = await q.enqueueMany(Array.from({ length: 20 }, () => ({ queue: 'capped', type: 't' })));
    expect(new Set(ids.map((id) => partitionOfId(id, 3))).size).toBe(1);
    expect((await q.getQueueOptions('capped')).concurrency).toBe(2);
    let running = 0;
    let peak = 0;
    const handler = async () => {
      peak = Math.max(peak, ++running);
      await sleep(20);
      running--;
    };
    const workers = [0, 1].map(() => new Worker(q, handler, { queues: ['capped'], concurrency: 4 }));
    for (const w of workers) w.start();
    await until(async () => (await q.stats()).ended.finished === 20, 20_000);
    await Promise.all(workers.map((w) => w.close()));
    expect(peak).toBe(2);
    // A queue used in another partition already cannot take a cap.
    const used = await q.enqueueMany(Array.from({ length: 9 }, () => ({ queue: 'spread', type: 't' })));
    await sleep(5);
    await q.enqueueMany(Array.from({ length: 9 }, () => ({ queue: 'spread', type: 't' })));
    expect(used.length).toBe(9);
    await expect(q.setQueueOptions('spread', { concurrency: 1 })).rejects.toBeInstanceOf(PartitionRouteError);
    // Pause and resume reach every partition.
    expect(await q.pause('spread')).toBe(true);
    expect((await q.queueControls()).get('spread')?.paused).toBe(true);
    await expect(q.dequeue(['spread'], { signal: AbortSignal.timeout(300) })).rejects.toThrow();
    expect(await q.resume('spread')).toBe(true);
    expect((await q.dequeue(['spread'], { signal: AbortSignal.timeout(3000) })).queue).toBe('spread');
  });

  it('a worker runs every partition, and deleteByReference reaches them all', async () => {
    const q = r.queue({ partitions: 3 });
    const ids: string[] = [];
    for (let b = 0; b < 6; b++)
      ids.push(
        ...(await q.enqueueMany(
          Array.from({ length: 5 }, () => ({ queue: 'w', type: 't', references: { b: b % 2 } })),
        )),
      );
    const removed = await q.deleteByReference({ b: 1 });
    expect(removed.tasks).toBe(15);
    const done: string[] = [];
    const w = new Worker(q, async () => 'ok', { queues: ['w'], concurrency: 4 });
    w.on('task:finished', (t) => done.push(t.id));
    w.start();
    await until(() => done.length === 15, 10_000);
    // A task enqueued while the worker waits is taken from whichever partition it lands in.
    const late = await Promise.all([0, 1, 2].map((i) => q.enqueue({ queue: 'w', type: 't', partitionKey: `k${i}` })));
    await until(() => late.every((id) => done.includes(id)), 10_000);
    await w.close();
    expect((await q.verify()).mismatches).toEqual([]);
    expect(await r.raw().zcard(`{${q.namespace}}:workers`)).toBe(0);
  });
});

describe('schedules across partitions', () => {
  it("live in their queue's home partition and mint their ticks there; one made before a migration stays", async () => {
    const ns = namespace();
    await r.queue({ namespace: ns }).stats();
    const s = new Scheduler({ connection: r.url, namespace: ns, leaseMs: 1000, pollIntervalMs: 50 });
    const legacy = ['a', 'b', 'c', 'd', 'e'].find((name) => partitionOfKey(name, 3) !== 0)!;
    await s.schedule({ queue: legacy, type: 'legacy', cronSchedule: '* * * * * *' });
    expect(await migratePartitions({ connection: r.url, namespace: ns, partitions: 3 })).toBe(true);
    const q = r.queue({ namespace: ns, partitions: 3 });
    const names = Array.from({ length: 12 }, (_, i) => `sq${i}`);
    expect(new Set(names.map((n) => partitionOfKey(n, 3))).size).toBe(3);
    for (const name of names) await s.schedule({ queue: name, type: 't', cronSchedule: '* * * * * *' });
    const tags = partitionTags(ns, 3);
    const raw = r.raw();
    for (const name of names) {
      const at = tags.map((tag) => raw.exists(`{${tag}}:schedule:${scheduleId(name, 't', {})}`));
      expect(await Promise.all(at)).toEqual(tags.map((_, p) => (p === partitionOfKey(name, 3) ? 1 : 0)));
    }
    // The schedule made before the migration is found (and changed) where it is, in partition 0.
    await s.ensureSchedule({ queue: legacy, type: 'legacy' });
    await s.schedule({ queue: legacy, type: 'legacy', cronSchedule: '*/2 * * * * *' });
    expect(await raw.exists(`{${tags[0]!}}:schedule:${scheduleId(legacy, 'legacy', {})}`)).toBe(1);
    expect(await s.countSchedules()).toBe(13);
    expect((await s.listSchedules()).map((x) => x.cronSchedule).sort()[0]).toBe('* * * * * *');
    const ticks: { queue: string; taskId: string }[] = [];
    s.on('tick', (schedule, _late, taskId) => ticks.push({ queue: schedule.queue, taskId }));
    await s.start();
    await until(() => [...names, legacy].every((n) => ticks.some((t) => t.queue === n)), 10_000);
    await s.stop();
    for (const t of ticks) {
      expect(partitionOfId(t.taskId, 3)).toBe(t.queue === legacy ? 0 : partitionOfKey(t.queue, 3));
      expect((await q.get(t.taskId))?.queue).toBe(t.queue);
    }
    const again = new Scheduler({ connection: r.url, namespace: ns });
    expect(await again.unschedule({ queue: legacy, type: 'legacy' })).toBe(true);
    expect(await again.countSchedules()).toBe(12);
    await again.stop();
    expect((await q.verify()).mismatches).toEqual([]);
  });
});

describe('retention across partitions', () => {
  it('archives each partition in its own chain; history and the merged replay read it back', async () => {
    const dir = tempDir('partition-archive');
    onTestFinished(() => dir.remove());
    const archive = new FileArchive(dir.path);
    const q = r.queue({ partitions: 3, archive, retention: { logMs: 1 }, compactIntervalMs: 0 });
    const ids = await spreadOverPartitions(q, 'a');
    expect(new Set(ids.map((id) => partitionOfId(id, 3))).size).toBe(3);
    for (let i = 0; i < 12; i++) {
      const t = await q.dequeue(['a']);
      await (i % 3 ? q.finish(t.id, { i }) : q.fail(t.id, { error: 'no' }));
    }
    const before: string[] = [];
    for await (const e of q.events()) before.push(`${e.id}/${e.partition!}`);
    const histories = await Promise.all(ids.map((id) => q.history(id)));
    await sleep(5);
    const report = await q.compact();
    expect(report.archivedEvents).toBe(before.length);
    // Each partition's log went to its own archive: partition 0's in the directory, the others beside it.
    for (const k of [1, 2]) expect(existsSync(join(dir.path, `partition-${k}`, 'manifest.json'))).toBe(true);
    for (const k of [0, 1, 2]) {
      const v = await archive.partition(k).verify();
      expect(v.ok).toBe(true);
      expect(v.events).toBeGreaterThan(0);
    }
    expect((await q.stats()).log.events).toBeLessThan(before.length);
    // The merged replay gives the archived events first, in the same order, then the log's.
    const after: string[] = [];
    for await (const e of q.events({ archive: true }))
      if (e.type !== 'snapshot' && e.type !== 'compacted') after.push(`${e.id}/${e.partition!}`);
    expect(after).toEqual(before);
    for (const [i, id] of ids.entries()) expect(await q.history(id)).toEqual(histories[i]);
    expect((await q.verify()).mismatches).toEqual([]);
    // `archive verify` checks every partition's chain; a tampered one fails, naming its partition's segment.
    const verify = () => run(process.execPath, [BIN, '--json', 'archive', 'verify', dir.path]);
    const good = await verify();
    expect(good.code).toBe(0);
    const parsed = JSON.parse(good.stdout) as { ok: boolean; partitions: { partition: number; ok: boolean }[] };
    expect(parsed.ok).toBe(true);
    expect(parsed.partitions.map((p) => [p.partition, p.ok])).toEqual([
      [1, true],
      [2, true],
    ]);
    const seg = readdirSync(join(dir.path, 'partition-2')).find((n) => n.startsWith('seg-') && n.endsWith('.gz'))!;
    const bytes = readFileSync(join(dir.path, 'partition-2', seg));
    bytes[10]! ^= 0xff;
    writeFileSync(join(dir.path, 'partition-2', seg), bytes);
    const bad = await verify();
    expect(bad.code).toBe(1);
    expect((JSON.parse(bad.stdout) as typeof parsed).partitions[1]!.ok).toBe(false);
  });
});

describe('the merged replay', () => {
  const place = (e: TaskEvent) => `${e.id}/${e.partition!}`;
  const order = (a: TaskEvent, b: TaskEvent) => {
    const [am, as] = a.id.split('-').map(Number);
    const [bm, bs] = b.id.split('-').map(Number);
    return am! - bm! || as! - bs! || a.partition! - b.partition!;
  };

  it('gives every event of every partition once, in one order, and resumes after any event', async () => {
    const q = r.queue({ partitions: 3 });
    for (let b = 0; b < 6; b++) await q.enqueueMany(Array.from({ length: 4 }, () => ({ queue: 'q', type: 't' })));
    for (let i = 0; i < 6; i++) await q.finish((await q.dequeue(['q'])).id);
    const all: TaskEvent[] = [];
    for await (const e of q.events()) all.push(e);
    expect(all.length).toBe(24 + 12);
    expect(new Set(all.map((e) => e.partition))).toEqual(new Set([0, 1, 2]));
    expect([...all].sort(order)).toEqual(all);
    const cut = all[13]!;
    const rest: TaskEvent[] = [];
    for await (const e of q.events({ after: place(cut) })) rest.push(e);
    expect(rest).toEqual(all.slice(14));
    const fromHere: TaskEvent[] = [];
    for await (const e of q.events({ from: place(cut) })) fromHere.push(e);
    expect(fromHere).toEqual(all.slice(13));
    await expect(q.events({ after: `${cut.id}/3` }).next()).rejects.toBeInstanceOf(UnknownPartitionError);
    await expect(q.events({ after: 'nope' }).next()).rejects.toBeInstanceOf(ValidationError);
  });

  it('follows the partitions live, in order, with no event skipped', async () => {
    const q = r.queue({ partitions: 3 });
    const ac = new AbortController();
    const seen: TaskEvent[] = [];
    const following = (async () => {
      for await (const e of q.events({ follow: true, signal: ac.signal })) seen.push(e);
    })();
    const ids: string[] = [];
    for (let b = 0; b < 30; b++) {
      ids.push(
        ...(await q.enqueueMany([
          { queue: 'q', type: 't' },
          { queue: 'q', type: 't' },
        ])),
      );
      if (b % 5 === 0) await sleep(10);
    }
    await until(() => seen.length === 60, 10_000);
    ac.abort();
    await following;
    expect(seen.map((e) => e.taskId).sort()).toEqual([...ids].sort());
    expect([...seen].sort(order)).toEqual(seen);
  });
});

describe('causality across partitions', () => {
  it('a task enqueued by a handler sorts after the start of the task that enqueued it', async () => {
    const q = r.queue({ partitions: 3 });
    const parents = await q.enqueueMany(Array.from({ length: 30 }, (_, i) => ({ queue: 'p', type: 't', spec: i })));
    const children = new Map<string, string>();
    const w = new Worker(
      q,
      async (task) => {
        // Sent to another partition than the parent's, where a clock behind would put it first.
        const child = await q.enqueue({ queue: 'c', type: 't', partitionKey: `${task.id}-child` });
        children.set(child, task.id);
      },
      { queues: ['p'], concurrency: 8 },
    );
    w.start();
    await until(() => children.size === 30, 10_000);
    await w.close();
    const position = new Map<string, number>();
    let i = 0;
    for await (const e of q.events()) {
      if (e.type === 'started' || e.type === 'enqueued') position.set(`${e.type}:${e.taskId}`, i);
      i++;
    }
    for (const [child, parent] of children)
      expect(position.get(`enqueued:${child}`)!).toBeGreaterThan(position.get(`started:${parent}`)!);
    expect(parents.length).toBe(30);
  });

  it('a partition whose clock is behind still gives the effect a later id than its cause', async () => {
    const q = r.queue({ partitions: 3 });
    await q.enqueue({ queue: 'q', type: 't' });
    // A cause seen one minute ahead of every partition's clock (a primary whose clock runs fast).
    const ahead = Date.now() + 60_000;
    (q as unknown as { floor: { see(t: { startedAt: Date }[]): void } }).floor.see([{ startedAt: new Date(ahead) }]);
    const ids = await q.enqueueMany([0, 1, 2].map((k) => ({ queue: 'q', type: 't', partitionKey: `k${k}` })));
    for (const id of ids) {
      const [enqueued] = await q.history(id);
      expect(Number(enqueued!.id.split('-')[0])).toBeGreaterThan(ahead);
    }
    // The partitions' logs stay in order (later ids only), and the merged replay gives each event once.
    const all: TaskEvent[] = [];
    for await (const e of q.events()) all.push(e);
    expect(all.filter((e) => e.type === 'enqueued')).toHaveLength(4);
  });
});
