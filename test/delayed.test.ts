import { describe, expect, it } from 'vitest';
import { ValidationError, Worker, type Task } from '../src/index.js';
import { blockedClients, sleep, timerLateness, until, useRedis } from './helpers/fixture.js';

const r = useRedis();

describe('delayed tasks', () => {
  it('stay waiting and are not delivered before their time, then within 100 ms of it', async () => {
    const q = r.queue();
    const id = await q.enqueue({ queue: 'q', type: 't', delayMs: 600 });
    const t = await q.get(id);
    expect(t?.status).toBe('waiting');
    expect(t?.runAt).toBeInstanceOf(Date);
    const due = t!.runAt!.getTime();
    const late = timerLateness(due);
    // Gives up well before the due time, however late it begins.
    const early = await q
      .dequeue(['q'], { signal: AbortSignal.timeout(Math.max(0, due - 300 - Date.now())) })
      .catch((e: unknown) => e);
    expect(early).toMatchObject({ code: 'ERR_ABORTED' });
    const task = await q.dequeue(['q']); // blocks until due, without polling
    const [sec, micro] = await r.raw().time();
    const redisNow = Number(sec) * 1000 + Math.floor(Number(micro) / 1000);
    expect(task.id).toBe(id);
    expect(task.startedAt!.getTime()).toBeGreaterThanOrEqual(due);
    // Latency from due time to start (Redis clock on both sides); a property of the design, checked loosely,
    // beyond how late this process's own timers ran.
    expect(task.startedAt!.getTime() - due).toBeLessThan(100 + (await late));
    expect(redisNow).toBeGreaterThanOrEqual(due);
    expect((await q.history(id)).map((e) => e.type)).toEqual(['enqueued', 'promoted', 'started']);
    expect((await q.verify()).mismatches).toEqual([]);
  });

  it('accept runAt as a Date; one in the past is ready at once', async () => {
    const q = r.queue();
    const past = await q.enqueue({ queue: 'q', type: 't', runAt: new Date(Date.now() - 1000) });
    expect((await q.get(past))?.runAt).toBeNull();
    expect((await q.dequeue(['q'])).id).toBe(past);
    const later = await q.enqueue({ queue: 'q', type: 't', runAt: Date.now() + 60_000 });
    expect((await q.get(later))?.runAt).toBeInstanceOf(Date);
    await expect(q.enqueue({ queue: 'q', type: 't', delayMs: -1 })).rejects.toBeInstanceOf(ValidationError);
    await expect(q.enqueue({ queue: 'q', type: 't', delayMs: 1, runAt: 5 })).rejects.toThrow(/either delayMs or runAt/);
    await expect(q.enqueue({ queue: 'q', type: 't', backoff: { type: 'linear' } as never })).rejects.toThrow(
      /backoff.type/,
    );
  });

  it('can be cancelled or deleted while delayed, and are rebuilt into the delayed index', async () => {
    const q = r.queue();
    const a = await q.enqueue({ queue: 'q', type: 't', delayMs: 60_000 });
    const b = await q.enqueue({ queue: 'q', type: 't', delayMs: 60_000, references: { gone: true } });
    const c = await q.enqueue({ queue: 'q', type: 't', delayMs: 60_000 });
    expect(await q.cancel(a)).toBe(true);
    expect(await q.deleteByReference({ gone: true })).toMatchObject({ tasks: 1 });
    const raw = r.raw();
    expect(await raw.zrange(`{${q.namespace}}:delayed:q`, 0, -1)).toEqual([c]);
    await raw.del(`{${q.namespace}}:delayed:q`);
    expect((await q.verify()).mismatches).toEqual([`${c}: delayed index lacks the task`]);
    await q.rebuild();
    expect(await raw.zrange(`{${q.namespace}}:delayed:q`, 0, -1)).toEqual([c]);
    expect((await q.verify()).mismatches).toEqual([]);
    expect(b).toBeTruthy();
  });

  it('many promoters racing promote each due task once', async () => {
    const q = r.queue();
    const ids = await q.enqueueMany(Array.from({ length: 50 }, () => ({ queue: 'q', type: 't', delayMs: 200 })));
    await sleep(250);
    const clients = Array.from({ length: 6 }, () => r.queue({ namespace: q.namespace }));
    // Connected first, so that the race is between promoters, not between connection setups.
    await Promise.all(clients.map((c) => c.stats()));
    let taken = 0;
    const got = (
      await Promise.all(
        clients.map(async (c) => {
          const mine: string[] = [];
          while (taken < ids.length) {
            const t = await c.dequeue(['q'], { signal: AbortSignal.timeout(2000) }).catch(() => null);
            if (!t) return mine;
            taken++;
            mine.push(t.id);
          }
          return mine;
        }),
      )
    ).flat();
    expect(got.sort()).toEqual([...ids].sort());
    for (const id of ids) expect((await q.history(id)).filter((e) => e.type === 'promoted')).toHaveLength(1);
  });
});

describe('retryLater', () => {
  it('puts a running task back as delayed with the error in a retrying event, fenced by the lease', async () => {
    const q = r.queue();
    const id = await q.enqueue({ queue: 'q', type: 't', maxAttempts: 3 });
    expect((await q.get(id))?.backoff).toEqual({});
    const t1 = await q.dequeue(['q']);
    await q.retryLater(id, { delayMs: 150, error: 'boom', progress: { step: 1 }, lease: t1.lease! });
    const waiting = await q.get(id);
    expect(waiting?.status).toBe('waiting');
    expect(waiting).toMatchObject({ progress: { step: 1 }, error: { message: 'boom' } });
    // The same holder sending it again (its reply lost) is answered as the first time, and writes nothing.
    await q.retryLater(id, { delayMs: 150, error: 'boom', lease: t1.lease! });
    const t2 = await q.dequeue(['q']);
    expect(t2.attempt).toBe(2);
    await expect(q.retryLater(id, { delayMs: 1, error: 'late', lease: t1.lease! })).rejects.toMatchObject({
      code: 'ERR_TASK_LEASE_LOST',
    });
    const h = await q.history(id);
    expect(h.map((e) => e.type)).toEqual(['enqueued', 'started', 'retrying', 'promoted', 'started']);
    expect(h[2]!.data).toMatchObject({ failure: { message: 'boom' }, progress: { step: 1 } });
    expect(t2.error).toEqual({ message: 'boom' }); // the handler of the next attempt sees why the last one failed
    expect((await q.verify()).mismatches).toEqual([]);
  });
});

describe('a reader already blocked', () => {
  it('wakes for a delayed task enqueued after it began to wait, and takes it when due', async () => {
    // Counts the whole server's blocked clients: on a server of this process's own, never REDIS_URL's (shared).
    const own = await r.ownServer();
    const q = own.queue();
    const raw = own.raw();
    const pending = q.dequeue(['q']);
    await until(async () => (await blockedClients(raw)) === 1); // with no delayed task in sight
    const id = await q.enqueue({ queue: 'q', type: 't', delayMs: 300 });
    const due = (await q.get(id))!.runAt!.getTime();
    const late = timerLateness(due);
    const task = await pending;
    expect(task.id).toBe(id);
    expect(task.startedAt!.getTime() - due).toBeLessThan(100 + (await late));
  });

  it('a worker that just woke for a ready task (and waits on without claiming) still takes a delayed one when due', async () => {
    // Counts the whole server's blocked clients: on a server of this process's own, never REDIS_URL's (shared).
    const own = await r.ownServer();
    const q = own.queue();
    const producer = own.queue({ namespace: q.namespace });
    await producer.enqueue({ queue: 'q', type: 't' });
    const started: Task[] = [];
    const raw = own.raw();
    const w = new Worker(q, async (task) => void started.push(task), { queues: ['q'], concurrency: 2 }).start();
    while (started.length < 1) await sleep(5);
    await until(async () => (await blockedClients(raw)) === 1); // blocked again, with no delayed task in sight
    await producer.enqueue({ queue: 'q', type: 't' }); // a wake-up that starts it and finds nothing more
    while (started.length < 2) await sleep(1);
    const id = await producer.enqueue({ queue: 'q', type: 't', delayMs: 300 });
    const due = (await q.get(id))!.runAt!.getTime();
    const late = timerLateness(due);
    while (started.length < 3) await sleep(5);
    expect(started[2]!.id).toBe(id);
    expect(started[2]!.startedAt!.getTime()).toBeGreaterThanOrEqual(due);
    expect(started[2]!.startedAt!.getTime() - due).toBeLessThan(100 + (await late));
    await w.close();
  });

  it('under a steady trickle, a delayed task no wake entry announced (as a rebuild puts back) starts within about a second of due', async () => {
    const q = r.queue();
    const producer = r.queue({ namespace: q.namespace });
    const raw = r.raw();
    await producer.enqueue({ queue: 'q', type: 't' });
    const started: Task[] = [];
    const w = new Worker(q, async (task) => void started.push(task), { queues: ['q'], concurrency: 1 }).start();
    while (started.length < 1) await sleep(5);
    const id = await producer.enqueue({ queue: 'q', type: 'later', delayMs: 60_000 });
    await sleep(100);
    // The delayed index now says it is due soon, and no wake entry says so (rebuild.lua writes it like this).
    const due = Date.now() + 200;
    await raw.zadd(`{${q.namespace}}:delayed:q`, due, id);
    await raw.hset(`{${q.namespace}}:task:${id}`, 'runAt', String(due));
    // Ready tasks every 100 ms, so the reader keeps waking and starting without a pause.
    const trickleEnd = Date.now() + 3000;
    while (Date.now() < trickleEnd && !started.some((t) => t.id === id)) {
      await producer.enqueue({ queue: 'q', type: 't' });
      await sleep(100);
    }
    const task = started.find((t) => t.id === id);
    expect(task, 'started while the trickle went on').toBeDefined();
    // A blocked reader claims (and so looks at the delayed index) at least once a second, busy or not.
    expect(task!.startedAt!.getTime() - due).toBeLessThan(1500);
    await w.close();
  });
});
