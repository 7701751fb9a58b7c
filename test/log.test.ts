import { describe, expect, it } from 'vitest';
import { ValidationError, type TaskEvent } from '../src/index.js';
import { commandCalls, sleep, useRedis } from './helpers/fixture.js';

const r = useRedis();

async function collect(iter: AsyncIterable<TaskEvent>, n = Infinity): Promise<TaskEvent[]> {
  const out: TaskEvent[] = [];
  for await (const e of iter) {
    out.push(e);
    if (out.length >= n) break;
  }
  return out;
}

describe('history', () => {
  it('returns one task’s events, oldest first, with decoded data', async () => {
    const q = r.queue();
    const id = await q.enqueue({ queue: 'q', type: 'resize', spec: { w: 10 }, references: { image: 7 } });
    await q.enqueue({ queue: 'q', type: 'other' }); // another task's events must not show up
    await q.dequeue(['q']);
    await q.heartbeat(id, { pct: 50 });
    await q.finish(id, { pct: 100 });
    const h = await q.history(id);
    expect(h.map((e) => e.type)).toEqual(['enqueued', 'started', 'progress', 'finished']);
    expect(h.every((e) => e.taskId === id)).toBe(true);
    expect(h[0]!.data).toMatchObject({
      queue: 'q',
      type: 'resize',
      spec: { w: 10 },
      references: { image: 7 },
      maxAttempts: 3,
    });
    expect(h[1]!.data).toEqual({ attempt: 1 });
    expect(h[2]!.data).toEqual({ progress: { pct: 50 } });
    const ids = h.map((e) => e.id);
    expect(
      [...ids].sort((a, b) =>
        BigInt(a.split('-')[0]!) === BigInt(b.split('-')[0]!)
          ? Number(a.split('-')[1]) - Number(b.split('-')[1])
          : Number(BigInt(a.split('-')[0]!) - BigInt(b.split('-')[0]!)),
      ),
    ).toEqual(ids);
    // Event time is the stream id's time, and the projection's updatedAt is the last event's.
    expect(h[3]!.at.getTime()).toBe(Number(h[3]!.id.split('-')[0]));
    expect((await q.get(id))?.updatedAt).toEqual(h[3]!.at);
  });

  it('reads through the task’s own event ids, not the whole log', async () => {
    // Counts the whole server's commands: on a server of this process's own, never REDIS_URL's (shared).
    const own = await r.ownServer();
    const q = own.queue();
    const id = await q.enqueue({ queue: 'q', type: 't' });
    await q.enqueueMany(Array.from({ length: 3000 }, () => ({ queue: 'q', type: 'noise' })));
    const raw = own.raw();
    const before = await commandCalls(raw, 'xrange');
    expect(await q.history(id)).toHaveLength(1);
    // One XRANGE per event of this task, however long the log is.
    expect((await commandCalls(raw, 'xrange')) - before).toBe(1);
  });
});

describe('events()', () => {
  it('replays the whole log in order, from an id, or after one', async () => {
    const q = r.queue();
    const a = await q.enqueue({ queue: 'q', type: 't' });
    const b = await q.enqueue({ queue: 'q', type: 't' });
    await q.cancel(a);
    const all = await collect(q.events());
    expect(all.map((e) => [e.taskId, e.type])).toEqual([
      [a, 'enqueued'],
      [b, 'enqueued'],
      [a, 'cancelled'],
    ]);
    expect((await collect(q.events({ from: all[1]!.id }))).map((e) => e.id)).toEqual([all[1]!.id, all[2]!.id]);
    expect((await collect(q.events({ after: all[1]!.id }))).map((e) => e.id)).toEqual([all[2]!.id]);
    await expect(collect(q.events({ from: 'yesterday' }))).rejects.toBeInstanceOf(ValidationError);
  });

  it('follows the log live until its signal aborts', async () => {
    const q = r.queue();
    const first = await q.enqueue({ queue: 'q', type: 't' });
    const ctrl = new AbortController();
    const seen: TaskEvent[] = [];
    const following = (async () => {
      for await (const e of q.events({ follow: true, signal: ctrl.signal })) seen.push(e);
    })();
    await sleep(100);
    const second = await q.enqueue({ queue: 'q', type: 't' });
    await q.cancel(second);
    for (let i = 0; i < 50 && seen.length < 3; i++) await sleep(20);
    ctrl.abort();
    await following;
    expect(seen.map((e) => [e.taskId, e.type])).toEqual([
      [first, 'enqueued'],
      [second, 'enqueued'],
      [second, 'cancelled'],
    ]);
  });
});

describe('verify and rebuild', () => {
  async function workload() {
    const q = r.queue({ heartbeatTtlMs: 100 });
    const ids = await q.enqueueMany(
      Array.from({ length: 12 }, (_, i) => ({
        queue: `q${i % 3}`,
        type: 't',
        spec: { i },
        references: { batch: i % 2 },
      })),
    );
    for (let i = 0; i < 9; i++) {
      const t = await q.dequeue();
      if (i % 3 === 0) await q.finish(t.id, { ok: i });
      else if (i % 3 === 1) await q.fail(t.id, { error: 'x' });
      else await q.heartbeat(t.id, { half: true });
    }
    await q.cancel(ids[11]!);
    return { q, ids };
  }

  it('verify is clean after real work and names each damaged field', async () => {
    const { q, ids } = await workload();
    expect(await q.verify()).toEqual({ tasks: 12, mismatches: [], indexes: [] });
    const raw = r.raw();
    await raw.hset(`{${q.namespace}}:task:${ids[0]!}`, 'status', 'waiting');
    await raw.hdel(`{${q.namespace}}:task:${ids[1]!}`, 'spec');
    await raw.del(`{${q.namespace}}:task:${ids[2]!}`);
    await raw.hset(`{${q.namespace}}:task:01STRAYSTRAYSTRAYSTRAYSTRA`, 'status', 'running');
    const { mismatches } = await q.verify();
    expect(mismatches).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^${ids[0]!}: status is "waiting" live but "\\w+" in the log`)),
        expect.stringMatching(new RegExp(`^${ids[1]!}: spec is null live`)),
        expect.stringMatching(new RegExp(`^${ids[2]!}: missing live hash`)),
        expect.stringMatching(/^01STRAYSTRAYSTRAYSTRAYSTRA: live hash exists but the log has no such task/),
      ]),
    );
  });

  it('rebuild reproduces every projection and index from the log', async () => {
    const { q, ids } = await workload();
    const before = await Promise.all(ids.map((id) => q.get(id)));
    const raw = r.raw();
    const ns = q.namespace;
    // Wipe every projection and index; keep the log and the ready streams.
    const wipe = await raw.keys(`{${ns}}:task:*`);
    await raw.del(...wipe, `{${ns}}:running`, `{${ns}}:ref:batch=0`, `{${ns}}:ref:batch=1`);
    await raw.hset(`{${ns}}:task:01STRAYSTRAYSTRAYSTRAYSTRA`, 'status', 'running');
    expect((await q.verify()).mismatches.length).toBeGreaterThan(0);
    const report = await q.rebuild();
    expect(report.tasks).toBe(13);
    expect(report.events).toBeGreaterThan(30);
    expect(await Promise.all(ids.map((id) => q.get(id)))).toEqual(before);
    expect(await q.verify()).toEqual({ tasks: 12, mismatches: [], indexes: [] });
    expect(await raw.zcard(`{${ns}}:running`)).toBe(3);
    expect((await q.deleteByReference({ batch: 0 })).tasks).toBe(6);
    // Waiting tasks are still deliverable after the rebuild.
    const left = await Promise.all(ids.map((id) => q.get(id)));
    const waiting = left.filter((t) => t?.status === 'waiting').length;
    expect(waiting).toBeGreaterThan(0);
    for (let i = 0; i < waiting; i++) await q.dequeue(undefined, { signal: AbortSignal.timeout(2000) });
  });

  it('rebuild gives a waiting task whose ready entry is lost a new one', async () => {
    const q = r.queue();
    const id = await q.enqueue({ queue: 'q', type: 't' });
    await r.raw().del(`{${q.namespace}}:ready:q`);
    await q.rebuild();
    expect((await q.dequeue(['q'], { signal: AbortSignal.timeout(2000) })).id).toBe(id);
    expect((await q.history(id)).map((e) => e.data.reason ?? e.type)).toEqual(['enqueued', 'rebuild', 'started']);
  });
});

describe('deleteByReference', () => {
  it('deletes every task carrying all the references, whatever its status, keeping the log', async () => {
    const q = r.queue();
    const keep = await q.enqueue({ queue: 'q', type: 't', references: { datasource: 1, table: 'a' } });
    const w = await q.enqueue({ queue: 'q', type: 't', references: { datasource: 2, table: 'a' } });
    const run = await q.enqueue({ queue: 'q', type: 't', references: { datasource: 2, table: 'b' } });
    const other = await q.enqueue({ queue: 'q', type: 't', references: { datasource: '2' } }); // a string is not the number
    const started = [await q.dequeue(['q']), await q.dequeue(['q']), await q.dequeue(['q'])];
    expect(started.map((t) => t.id)).toEqual([keep, w, run]);
    await q.finish(keep);
    expect(await q.deleteByReference({ datasource: 2, table: 'a' })).toEqual({ tasks: 1, schedules: 0 });
    expect(await q.get(w)).toBeNull();
    expect(await q.deleteByReference({ datasource: 2 })).toEqual({ tasks: 1, schedules: 0 });
    expect(await q.get(run)).toBeNull();
    expect(await q.get(keep)).not.toBeNull();
    expect((await q.get(other))?.status).toBe('waiting');
    await expect(q.heartbeat(run)).rejects.toMatchObject({ code: 'ERR_TASK_NOT_FOUND' });
    const log = await collect(q.events());
    expect(
      log
        .filter((e) => e.type === 'deleted')
        .map((e) => e.taskId)
        .sort(),
    ).toEqual([w, run].sort());
    expect(await r.raw().zcard(`{${q.namespace}}:running`)).toBe(0);
    expect(await r.raw().exists(`{${q.namespace}}:ref:datasource=2`)).toBe(0);
    expect(await q.verify()).toEqual({ tasks: 2, mismatches: [], indexes: [] });
    await expect(q.deleteByReference({})).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('the counts index', () => {
  it('is rebuilt from the log', async () => {
    const q = r.queue();
    const [a, b, c] = await q.enqueueMany([
      { queue: 'x', type: 't' },
      { queue: 'x', type: 't' },
      { queue: 'y', type: 't' },
    ]);
    await q.dequeue(['x']);
    await q.dequeue(['x']);
    await q.finish(a!);
    await q.fail(b!);
    await q.cancel(c!);
    const key = `{${q.namespace}}:counts`;
    const before = await r.raw().hgetall(key);
    expect(before).toEqual({ 'finished:x': '1', 'failed:x': '1', 'cancelled:y': '1' });
    await r.raw().del(key);
    await q.rebuild();
    expect(await r.raw().hgetall(key)).toEqual(before);
  });
});
