import { describe, expect, it } from 'vitest';
import { LeaseLostError, TaskNotRunningError, Worker, type RecoveryReport } from '../src/index.js';
import { sleep, until, useRedis } from './helpers/fixture.js';
import { namespace } from './helpers/redis.js';

const r = useRedis();
const TTL = 200;

describe('stalled tasks', () => {
  it('are re-queued with a requeued event, then started as the next attempt', async () => {
    const q = r.queue({ heartbeatTtlMs: TTL });
    const id = await q.enqueue({ queue: 'q', type: 't' });
    await q.dequeue(['q']);
    expect(await q.recover()).toEqual({ requeued: 0, failed: 0, redelivered: 0, repaired: 0, deadlinesReset: 0 }); // not stalled yet
    await sleep(TTL + 50);
    await r.raw().del(`{${q.namespace}}:recovery-lock`);
    expect(await q.recover()).toEqual({ requeued: 1, failed: 0, redelivered: 0, repaired: 0, deadlinesReset: 0 });
    const t = await q.get(id);
    expect(t?.status).toBe('waiting');
    const again = await q.dequeue(['q']);
    expect(again.id).toBe(id);
    expect(again.attempt).toBe(2);
    const types = (await q.history(id)).map((e) => [e.type, e.data.reason ?? null]);
    expect(types).toEqual([
      ['enqueued', null],
      ['started', null],
      ['requeued', 'stalled'],
      ['started', null],
    ]);
  });

  it('fail after maxAttempts with the reason as their error, the progress left as it was', async () => {
    const q = r.queue({ heartbeatTtlMs: TTL, maxAttempts: 2 });
    const id = await q.enqueue({ queue: 'q', type: 't' });
    for (let attempt = 1; attempt <= 2; attempt++) {
      const t = await q.dequeue(['q']);
      expect(t.attempt).toBe(attempt);
      await q.heartbeat(id, { step: attempt });
      await sleep(TTL + 50);
      await r.raw().del(`{${q.namespace}}:recovery-lock`);
      await q.recover();
    }
    const t = await q.get(id);
    expect(t?.status).toBe('failed');
    expect(t?.progress).toEqual({ step: 2 });
    expect(t?.error).toEqual({ message: 'stalled: no heartbeat before the deadline on attempt 2 of 2' });
    // No holder ended it: the stalled holder's own lease is gone from it.
    expect(t?.lease).toBeNull();
    expect((await q.verify()).mismatches).toEqual([]);
  });

  it('a heartbeat in time keeps the task', async () => {
    const ttl = 1000;
    const q = r.queue({ heartbeatTtlMs: ttl });
    const raw = r.raw();
    const id = await q.enqueue({ queue: 'q', type: 't' });
    const began = Date.now();
    await q.dequeue(['q']);
    // Heartbeats 300 ms apart (700 ms to spare on a slow machine), for longer than one TTL in all.
    for (let i = 0; i < 5; i++) {
      await sleep(300);
      await q.heartbeat(id);
      await raw.del(`{${q.namespace}}:recovery-lock`);
      expect(await q.recover()).toEqual({ requeued: 0, failed: 0, redelivered: 0, repaired: 0, deadlinesReset: 0 });
    }
    expect(Date.now() - began).toBeGreaterThan(ttl);
    expect((await q.get(id))?.status).toBe('running');
  });

  it('a stale worker is fenced off: it cannot write over the new holder', async () => {
    const ns = namespace();
    const stale = r.queue({ namespace: ns, heartbeatTtlMs: TTL });
    const fresh = r.queue({ namespace: ns, heartbeatTtlMs: TTL });
    const id = await stale.enqueue({ queue: 'q', type: 't' });
    const t1 = await stale.dequeue(['q']);
    await sleep(TTL + 50);
    await fresh.recover();
    // Re-queued but not yet started again: the stale holder sees a waiting task.
    await expect(stale.heartbeat(id, { stale: 1 })).rejects.toBeInstanceOf(TaskNotRunningError);
    const t2 = await fresh.dequeue(['q']);
    expect(t2.attempt).toBe(2);
    expect(t2.lease).not.toBe(t1.lease);
    for (const op of ['heartbeat', 'finish', 'fail'] as const) {
      // Without naming its lease (the instance remembers it, even after the refusal above)...
      const err = await stale[op](id, { stale: true }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LeaseLostError);
      // ...and naming it.
      await expect(stale[op](id, { stale: true }, { lease: t1.lease! })).rejects.toBeInstanceOf(LeaseLostError);
      expect(err).toBeInstanceOf(LeaseLostError);
      expect((err as LeaseLostError).code).toBe('ERR_TASK_LEASE_LOST');
    }
    const mid = await fresh.get(id);
    expect(mid?.status).toBe('running');
    expect(mid?.progress).toBeNull();
    await fresh.finish(id, { by: 'fresh' });
    expect((await fresh.get(id))?.progress).toEqual({ by: 'fresh' });
  });

  it('the stale instance keeps its lease and is refused without being told the attempt', async () => {
    const ns = namespace();
    const stale = r.queue({ namespace: ns, heartbeatTtlMs: TTL });
    const fresh = r.queue({ namespace: ns, heartbeatTtlMs: TTL });
    const id = await stale.enqueue({ queue: 'q', type: 't' });
    await stale.dequeue(['q']);
    await sleep(TTL + 50);
    await fresh.recover();
    await fresh.dequeue(['q']);
    await expect(stale.finish(id, { stale: true })).rejects.toBeInstanceOf(LeaseLostError);
    expect((await fresh.get(id))?.status).toBe('running');
  });

  it('two holders in one process: the stale one is fenced by its own lease, the new one is not disturbed', async () => {
    const q = r.queue({ heartbeatTtlMs: TTL });
    const id = await q.enqueue({ queue: 'q', type: 't' });
    const first = await q.dequeue(['q']);
    await sleep(TTL + 50);
    await q.recover();
    const second = await q.dequeue(['q']);
    expect(second.id).toBe(id);
    await expect(q.finish(id, { by: 'first' }, { lease: first.lease! })).rejects.toBeInstanceOf(LeaseLostError);
    await q.heartbeat(id, { by: 'second' }, { lease: second.lease! });
    await q.finish(id, { by: 'second' }); // the instance's remembered lease is the second holder's
    expect((await q.get(id))?.progress).toEqual({ by: 'second' });
  });

  it('many instances recovering at once re-queue each stalled task exactly once', async () => {
    const ns = namespace();
    const producer = r.queue({ namespace: ns, heartbeatTtlMs: TTL });
    const ids = await producer.enqueueMany(Array.from({ length: 50 }, () => ({ queue: 'q', type: 't' })));
    for (let i = 0; i < 50; i++) await producer.dequeue(['q']);
    await sleep(TTL + 50);
    const instances = Array.from({ length: 5 }, () =>
      r.queue({ namespace: ns, heartbeatTtlMs: TTL, recoveryIntervalMs: 20 }),
    );
    await until(async () => (await producer.stats()).queues.q!.waiting === 50, 20_000);
    await sleep(300); // more passes of every instance, which must find nothing left to do
    expect(instances).toHaveLength(5);
    for (const id of ids) {
      const requeues = (await producer.history(id)).filter((e) => e.type === 'requeued');
      expect(requeues).toHaveLength(1);
    }
    expect((await producer.verify()).mismatches).toEqual([]);
  });
});

describe('a Redis clock that steps back an hour (a failover to a host whose clock is behind)', () => {
  // The state such a step leaves, made directly (the host clock cannot be stepped in a test, and libfaketime
  // cannot run Debian's redis-server, whose jemalloc reads the clock before libfaketime is ready): the log's
  // last id an hour ahead of Redis TIME (stream ids never go back), so deadlines taken from event times are
  // an hour ahead too, as are those set before the step; and the recovery lock taken just before the step,
  // whose expiry, a time on the Redis clock, is then an hour and an interval away.
  it("a dead worker's task is recovered one TTL on, and a live worker's task is not recovered", async () => {
    const ns = namespace();
    const q = r.queue({ namespace: ns, heartbeatTtlMs: TTL });
    const raw = r.raw();
    const hour = 3_600_000;
    const ids = await q.enqueueMany([
      { queue: 'dead', type: 't' },
      { queue: 'live', type: 't' },
    ]);
    const [deadId, liveId] = [ids[0]!, ids[1]!];
    const [seconds] = await raw.time();
    const ahead = Number(seconds) * 1000 + hour;
    await raw.xsetid(`{${ns}}:events`, `${ahead}-0`);
    await raw.set(`{${ns}}:recovery-lock`, String(ahead), 'PX', hour + 1000);
    // The dead worker: starts its task and is never heard of again.
    const dead = r.queue({ namespace: ns, heartbeatTtlMs: TTL });
    expect((await dead.dequeue(['dead'])).id).toBe(deadId);
    // The live worker: heartbeats (and writes progress, whose deadlines come from event times) throughout.
    let stop = () => {};
    const stopped = new Promise<void>((res) => (stop = res));
    const worker = new Worker(
      r.queue({ namespace: ns, heartbeatTtlMs: TTL }),
      async (_task, ctx) => {
        let n = 0;
        while (!(await Promise.race([stopped.then(() => true), sleep(20).then(() => false)])))
          await ctx.progress({ n: n++ });
      },
      { queues: ['live'] },
    );
    const errors: unknown[] = [];
    worker.on('error', (err) => errors.push(err));
    worker.start();
    const reports: RecoveryReport[] = [];
    try {
      await until(async () => (await q.get(liveId))?.status === 'running');
      expect(Number((await raw.zscore(`{${ns}}:running`, deadId))!)).toBeGreaterThan(ahead);
      // Passes one after another (the lock of each removed): the dead task comes back; and then on, for as
      // many passes again, the live task stays with its holder.
      await until(async () => {
        const report = await q.recover();
        if (report) reports.push(report);
        await raw.del(`{${ns}}:recovery-lock`);
        return (await q.get(deadId))?.status === 'waiting';
      }, 20_000);
      for (let i = reports.length; i > 0; i--) {
        await sleep(TTL / 2);
        const report = await q.recover();
        if (report) reports.push(report);
        await raw.del(`{${ns}}:recovery-lock`);
      }
    } finally {
      stop();
      await worker.close();
    }
    expect(errors).toEqual([]);
    expect(reports.reduce((n, rep) => n + rep.requeued, 0)).toBe(1);
    expect(reports.reduce((n, rep) => n + rep.deadlinesReset, 0)).toBeGreaterThan(0);
    expect((await q.history(deadId)).map((e) => [e.type, e.data.reason ?? null])).toEqual([
      ['enqueued', null],
      ['started', null],
      ['requeued', 'stalled'],
    ]);
    const live = await q.get(liveId);
    expect(live?.status).toBe('finished');
    expect(live?.attempt).toBe(1);
    expect((await q.history(liveId)).filter((e) => e.type === 'started' || e.type === 'requeued')).toHaveLength(1);
    expect((await q.verify()).mismatches).toEqual([]);
  });
});

describe('undelivered entries', () => {
  it('an entry read but never started (its reader died) goes back to the queue', async () => {
    const q = r.queue({ deliveryTimeoutMs: 100 });
    const id = await q.enqueue({ queue: 'q', type: 't' });
    // A reader that claimed the entry through the group and died before starting the task.
    const raw = r.raw();
    const read = await raw.xreadgroup(
      'GROUP',
      'workers',
      'taskledger',
      'COUNT',
      1,
      'STREAMS',
      `{${q.namespace}}:ready:q`,
      '>',
    );
    expect(read).not.toBeNull();
    const ctrl = new AbortController();
    setTimeout(() => ctrl.abort(), 200);
    await expect(q.dequeue(['q'], { signal: ctrl.signal })).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    await r.raw().del(`{${q.namespace}}:recovery-lock`);
    expect(await q.recover()).toEqual({ requeued: 0, failed: 0, redelivered: 1, repaired: 0, deadlinesReset: 0 });
    const t = await q.dequeue(['q']);
    expect(t.id).toBe(id);
    expect(t.attempt).toBe(1);
    const reasons = (await q.history(id)).map((e) => e.data.reason).filter(Boolean);
    expect(reasons).toEqual(['undelivered']);
    expect((await q.verify()).mismatches).toEqual([]);
  });
});

describe("the TaskQueue 'error' event", () => {
  it('stays quiet for a queue whose tasks are all delayed (it has no ready stream yet)', async () => {
    const q = r.queue({ heartbeatTtlMs: TTL, recoveryIntervalMs: 50 });
    const errors: unknown[] = [];
    q.on('error', (err) => void errors.push(err));
    await q.enqueue({ queue: 'later', type: 't', delayMs: 60_000 });
    expect(await r.raw().exists(`{${q.namespace}}:ready:later`)).toBe(0);
    // Several passes, each reading the queue's (missing) stream.
    await r.raw().del(`{${q.namespace}}:recovery-lock`);
    expect(await q.recover()).toEqual({ requeued: 0, failed: 0, redelivered: 0, repaired: 0, deadlinesReset: 0 });
    await sleep(400);
    expect(errors).toEqual([]);
  });

  it('reports a background recovery pass that failed, and the next pass runs all the same', async () => {
    const q = r.queue({ heartbeatTtlMs: TTL, recoveryIntervalMs: 50 });
    const errors: unknown[] = [];
    q.on('error', (err) => void errors.push(err));
    await q.enqueue({ queue: 'q', type: 't' }); // the format check passed: passes run
    // A running set of the wrong type makes every pass fail in Redis.
    const running = `{${q.namespace}}:running`;
    await r.raw().set(running, 'not a sorted set');
    await until(() => errors.length >= 2);
    expect(String(errors[0])).toMatch(/WRONGTYPE/);
    // Mended, the passes go on: a stalled task is recovered.
    await r.raw().del(running);
    const id = (await q.dequeue(['q'])).id;
    await until(async () => (await q.get(id))?.status === 'waiting');
    expect((await q.history(id)).map((e) => e.data.reason ?? e.type)).toEqual(['enqueued', 'started', 'stalled']);
  });
});
