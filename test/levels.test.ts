import { describe, expect, it } from 'vitest';
import { listTasks } from '../src/projections/task-list.js';
import type { ReadContext } from '../src/context/read-context.js';
import { sleep, useRedis } from './helpers/fixture.js';

// Every script that puts a task back on a ready stream puts it on its priority level's, and every one that
// removes a task's entry finds it there; the running counts follow every transition, and verify checks them.
const r = useRedis();
const level = (ns: string, p: number, queue = 'q') => `{${ns}}:ready@${p}:${queue}`;
const ctxOf = (q: ReturnType<typeof r.queue>) => (q as unknown as { ctx: ReadContext }).ctx;

describe('priority levels at every push site', () => {
  it('release, stall recovery, retry and a rebuild put the task back on its level', async () => {
    const q = r.queue({ heartbeatTtlMs: 200, recoveryIntervalMs: 0 });
    const raw = r.raw();
    const ns = q.namespace;
    const id = await q.enqueue({ queue: 'q', type: 't', priority: 4 });
    const readyId = async () => String(await raw.hget(`{${ns}}:task:${id}`, 'readyId'));
    await q.dequeue(['q']);
    await q.release(id);
    const entry = await readyId();
    expect(await raw.xrange(level(ns, 4), entry, entry)).toHaveLength(1);
    await q.dequeue(['q']);
    await sleep(250);
    await q.recover(); // stalled: back on level 4
    expect(await raw.xlen(level(ns, 4))).toBe(1);
    const t = await q.dequeue(['q']);
    await q.fail(t.id);
    await q.retry(id);
    expect(await raw.xlen(level(ns, 4))).toBe(1);
    expect(await raw.xlen(`{${ns}}:ready:q`)).toBe(0);
    // The entry gone (a key deleted by hand): rebuild gives the task a new one, on its level.
    await raw.del(level(ns, 4), `{${ns}}:levels`);
    await q.rebuild();
    expect(await raw.xlen(level(ns, 4))).toBe(1);
    expect(await raw.smembers(`{${ns}}:levels`)).toEqual(['4:q']);
    expect((await q.dequeue(['q'])).id).toBe(id);
    expect((await q.verify()).mismatches).toEqual([]);
  });

  it('cancel and delete remove the entry from its level; recovery redelivers entries of any level', async () => {
    const q = r.queue({ deliveryTimeoutMs: 100, recoveryIntervalMs: 0 });
    const raw = r.raw();
    const ns = q.namespace;
    const [a, b] = await q.enqueueMany([
      { queue: 'q', type: 't', priority: 2, references: { k: 1 } },
      { queue: 'q', type: 't', priority: 2 },
    ]);
    await q.cancel(b!);
    await q.deleteByReference({ k: 1 });
    expect(await raw.xlen(level(ns, 2))).toBe(0);
    // An entry claimed and never started (its reader died): redelivered on its level.
    const c = await q.enqueue({ queue: 'q', type: 't', priority: 6 });
    await raw.xreadgroup('GROUP', 'workers', 'taskledger', 'COUNT', 1, 'STREAMS', level(ns, 6), '>');
    await sleep(150);
    const report = await q.recover();
    expect(report!.redelivered).toBe(1);
    expect((await q.dequeue(['q'])).id).toBe(c);
    expect(a).toBeDefined();
    expect((await q.verify()).mismatches).toEqual([]);
  });

  it('a queue lists its waiting tasks of every level, in the order they were made', async () => {
    const q = r.queue();
    const ids = await q.enqueueMany(Array.from({ length: 5 }, (_, i) => ({ queue: 'q', type: 't', priority: i % 3 })));
    await sleep(2);
    const later = await q.enqueue({ queue: 'q', type: 't', priority: 9 });
    const page = await listTasks([ctxOf(q)], { queue: 'q', status: 'waiting', limit: 4, oldest: true });
    // Oldest first: the five of the first call (one id each level, higher level first), then the later one.
    expect(page.tasks).toHaveLength(4);
    expect(page.next).toMatch(/^\d+-\d+@\d$/);
    const all = [...page.tasks];
    const next = await listTasks([ctxOf(q)], {
      queue: 'q',
      status: 'waiting',
      limit: 4,
      oldest: true,
      after: page.next!,
    });
    all.push(...next.tasks);
    expect(all.map((t) => t.id).sort()).toEqual([...ids, later].sort());
    expect(next.next).toBeNull();
  });
});

describe('running counts', () => {
  it('verify finds a wrong count, repair sets it from the log (logged), rebuild recomputes it', async () => {
    const q = r.queue();
    const raw = r.raw();
    const ns = q.namespace;
    await q.enqueueMany([
      { queue: 'q', type: 't' },
      { queue: 'q', type: 't' },
    ]);
    await q.dequeue(['q']);
    await raw.hset(`{${ns}}:controls`, 'active:q', '5', 'active:ghost', '2');
    const report = await q.verify({ repair: true });
    expect(report.indexes.map((m) => [m.index, m.key, m.problem])).toEqual([
      ['controls', 'active:ghost', 'stray'],
      ['controls', 'active:q', 'wrong'],
    ]);
    expect(report.repair!.controls).toBe(2);
    expect(await raw.hget(`{${ns}}:controls`, 'active:q')).toBe('1');
    const repaired = [];
    for await (const e of q.events()) if (e.type === 'repaired') repaired.push(e.data);
    expect(repaired).toEqual([{ indexes: 'controls', controls: { 'active:ghost': '', 'active:q': '1' } }]);
    await raw.hset(`{${ns}}:controls`, 'active:q', '7', 'concurrency:q', '9');
    await q.rebuild();
    expect(await q.getQueueOptions('q')).toMatchObject({ running: 1, concurrency: null });
    expect((await q.verify()).mismatches).toEqual([]);
  });
});
