import { describe, expect, it } from 'vitest';
import type { TaskEvent, TaskQueue } from '../src/index.js';
import { useRedis } from './helpers/fixture.js';
import { runCli } from './helpers/cli.js';

const r = useRedis();

async function collect(iter: AsyncIterable<TaskEvent>): Promise<TaskEvent[]> {
  const out: TaskEvent[] = [];
  for await (const e of iter) out.push(e);
  return out;
}

/** Every task in a state of its own: waiting (three), delayed, running, finished. */
async function workload(q: TaskQueue) {
  const [running, finished] = [
    await q.enqueue({ queue: 'q', type: 't', references: { acct: 1 } }),
    await q.enqueue({ queue: 'q', type: 't', references: { acct: 1 } }),
  ];
  expect((await q.dequeue(['q'])).id).toBe(running);
  expect((await q.dequeue(['q'])).id).toBe(finished);
  await q.finish(finished);
  const acked = await q.enqueue({ queue: 'q', type: 't' });
  const waiting = await q.enqueue({ queue: 'q', type: 't', references: { acct: 2 } });
  const unread = await q.enqueue({ queue: 'q', type: 't' });
  const delayed = await q.enqueue({ queue: 'q', type: 't', delayMs: 1000 });
  return { running, finished, waiting, unread, acked, delayed };
}

describe('verify checks the indexes', () => {
  it('names each broken index entry, repair fixes each (logged), and the tasks then run', async () => {
    const q = r.queue({ heartbeatTtlMs: 60_000 });
    const t = await workload(q);
    expect(await q.verify()).toEqual({ tasks: 6, mismatches: [], indexes: [] });
    const raw = r.raw();
    const k = (s: string) => `{${q.namespace}}:${s}`;
    const readyId = async (id: string) => (await raw.hget(k(`task:${id}`), 'readyId'))!;
    // A ready entry deleted; another delivered and acknowledged with no start: no reader gets either again.
    await raw.xdel(k('ready:q'), await readyId(t.unread));
    const ackedEntry = await readyId(t.acked);
    const read = (await raw.xreadgroup('GROUP', 'workers', 'x', 'COUNT', 1, 'STREAMS', k('ready:q'), '>')) as [
      string,
      [string, string[]][],
    ][];
    expect(read[0]![1].map(([id]) => id)).toEqual([ackedEntry]);
    await raw.xack(k('ready:q'), 'workers', ackedEntry);
    await raw.zrem(k('delayed:q'), t.delayed);
    await raw.zrem(k('running'), t.running);
    await raw.del(k('ended-by-queue'));
    await raw.srem(k('ref:acct=2'), t.waiting);
    await raw.sadd(k('ref:acct=1'), t.delayed);
    await raw.zadd(k('running'), 1, '01STRAYSTRAYSTRAYSTRAYSTRA');
    await raw.hincrby(k('counts'), 'finished:q', 4);

    const report = await q.verify();
    const found = report.indexes.map((m) => [m.index, m.taskId, m.problem]);
    expect(found).toEqual(
      expect.arrayContaining([
        ['ready', t.unread, 'missing'],
        ['ready', t.acked, 'wrong'],
        ['delayed', t.delayed, 'missing'],
        ['running', t.running, 'missing'],
        ['ended', t.finished, 'missing'],
        ['reference', t.waiting, 'missing'],
        ['reference', t.delayed, 'stray'],
        ['running', '01STRAYSTRAYSTRAYSTRAYSTRA', 'stray'],
        ['counts', '', 'wrong'],
      ]),
    );
    expect(found).toHaveLength(9);
    expect(report.mismatches).toEqual(report.indexes.map((m) => m.detail));
    expect(report.mismatches).toContain(
      `${t.unread}: ready index lacks the waiting task's entry ${await readyId(t.unread)}`,
    );
    expect(report.mismatches).toContain('counts finished:q is 5 live but 1 in the log');

    const repaired = await q.verify({ repair: true });
    expect(repaired.repair).toEqual({ tasks: 7, counts: 1, controls: 0, movedOn: 0, needRebuild: 0 });
    expect(await q.verify()).toEqual({ tasks: 6, mismatches: [], indexes: [] });
    expect(await raw.hget(k('counts'), 'finished:q')).toBe('1');

    // Each repair is an event: a new ready entry is `requeued` (reason `repair`), the rest `repaired`.
    const log = await collect(q.events());
    const repairs = log.filter((e) => e.type === 'repaired' || e.data.reason === 'repair');
    expect(repairs.map((e) => [e.type, e.taskId, e.data.indexes ?? e.data.reason])).toEqual(
      expect.arrayContaining([
        ['requeued', t.unread, 'repair'],
        ['requeued', t.acked, 'repair'],
        ['repaired', t.delayed, 'delayed reference'],
        ['repaired', t.running, 'running'],
        ['repaired', t.finished, 'ended'],
        ['repaired', t.waiting, 'reference'],
        ['repaired', '01STRAYSTRAYSTRAYSTRAYSTRA', 'running'],
        ['repaired', '', 'counts'],
      ]),
    );
    expect(repairs).toHaveLength(8);
    expect(repairs.find((e) => e.data.indexes === 'counts')?.data.counts).toEqual({ 'finished:q': 1 });
    // The fold passes over `repaired`: a rebuild from this log leaves every projection as it is.
    const before = await Promise.all(Object.values(t).map((id) => q.get(id)));
    await q.rebuild();
    expect(await Promise.all(Object.values(t).map((id) => q.get(id)))).toEqual(before);
    expect((await q.verify()).mismatches).toEqual([]);

    // The waiting tasks are delivered again, the delayed one when due; the running one is in the running
    // set, so a stall would be caught.
    expect(await raw.zscore(k('delayed:q'), t.delayed)).toBe(String((await q.get(t.delayed))!.runAt!.getTime()));
    const got = new Set<string>();
    for (let i = 0; i < 4; i++) got.add((await q.dequeue(['q'], { signal: AbortSignal.timeout(5000) })).id);
    expect(got).toEqual(new Set([t.unread, t.acked, t.waiting, t.delayed]));
    expect(await raw.zscore(k('running'), t.running)).not.toBeNull();
    await q.finish(t.running);
    expect(await q.deleteByReference({ acct: 2 })).toEqual({ tasks: 1, schedules: 0 });
  });

  it('repair leaves a task that moved on alone, and one whose hash differs from the log to rebuild', async () => {
    const q = r.queue();
    const a = await q.enqueue({ queue: 'q', type: 't' });
    const b = await q.enqueue({ queue: 'q', type: 't' });
    const raw = r.raw();
    const k = (s: string) => `{${q.namespace}}:${s}`;
    await raw.xtrim(k('ready:q'), 'MAXLEN', 0);
    await raw.hset(k(`task:${b}`), 'type', 'changed');
    const report = await q.verify({ repair: true });
    expect(report.repair).toEqual({ tasks: 1, counts: 0, controls: 0, movedOn: 0, needRebuild: 1 });
    expect((await q.dequeue(['q'], { signal: AbortSignal.timeout(5000) })).id).toBe(a);
    expect((await q.verify()).indexes.map((m) => [m.index, m.taskId])).toEqual([['ready', b]]);
    await q.rebuild();
    expect((await q.dequeue(['q'], { signal: AbortSignal.timeout(5000) })).id).toBe(b);
  });
});

describe('the recovery pass sweeps for tasks no transition would reach', () => {
  it('gives a waiting task whose ready entry is gone a new one, and a running one its deadline back', async () => {
    const q = r.queue({ heartbeatTtlMs: 200 });
    const running = await q.enqueue({ queue: 'q', type: 't' });
    expect((await q.dequeue(['q'])).id).toBe(running);
    const waiting = await q.enqueue({ queue: 'q', type: 't' });
    const raw = r.raw();
    const k = (s: string) => `{${q.namespace}}:${s}`;
    await raw.del(k('ready:q'));
    await raw.zrem(k('running'), running);
    expect(await q.recover()).toEqual({ requeued: 0, failed: 0, redelivered: 0, repaired: 2, deadlinesReset: 0 });
    expect((await q.dequeue(['q'], { signal: AbortSignal.timeout(5000) })).id).toBe(waiting);
    // Both stall (no heartbeats) and recovery sees both: the running one is in the running set again.
    await expect.poll(async () => (await q.recover())?.requeued, { timeout: 5000 }).toBe(2);
    const again = [await q.dequeue(['q']), await q.dequeue(['q'])].map((x) => x.id);
    expect(new Set(again)).toEqual(new Set([running, waiting]));
    expect((await q.history(waiting)).map((e) => e.data.reason ?? e.type)).toEqual([
      'enqueued',
      'repair',
      'started',
      'stalled',
      'started',
    ]);
    expect(await q.verify()).toEqual({ tasks: 2, mismatches: [], indexes: [] });
  });
});

describe('taskledger verify --repair', () => {
  it('names a lost ready entry, repairs it, and exits 0 when nothing is left', async () => {
    const q = r.queue();
    const id = await q.enqueue({ queue: 'q', type: 't' });
    await r.raw().del(`{${q.namespace}}:ready:q`);
    const check = await runCli(r.url, ['--namespace', q.namespace, 'verify']);
    expect(check.code).toBe(1);
    expect(check.stdout).toContain(`${id}: ready index lacks the waiting task's entry`);
    const fix = await runCli(r.url, ['--namespace', q.namespace, '--json', 'verify', '--repair']);
    expect(fix.code).toBe(0);
    expect(JSON.parse(fix.stdout)).toMatchObject({
      indexes: [{ index: 'ready', taskId: id, problem: 'missing' }],
      repair: { tasks: 1, counts: 0, movedOn: 0, needRebuild: 0 },
    });
    expect((await runCli(r.url, ['--namespace', q.namespace, 'verify'])).code).toBe(0);
    expect((await q.dequeue(['q'], { signal: AbortSignal.timeout(5000) })).id).toBe(id);
  });
});
