import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  TaskCancelledError,
  TaskTimeoutError,
  UnrecoverableError,
  ValidationError,
  Worker,
  WorkerClosedError,
  defineTask,
  type Task,
  type TaskQueue,
} from '../src/index.js';
import { scriptCalls, sleep, timerLateness, until, useRedis } from './helpers/fixture.js';

const r = useRedis();
const workers: Worker[] = [];
function worker(...args: ConstructorParameters<typeof Worker>): Worker {
  const w = new Worker(...args);
  workers.push(w);
  return w.start();
}
async function closeAll() {
  await Promise.all(workers.splice(0).map((w) => w.close({ timeoutMs: 200 })));
}
/** Resolves with the first event's arguments. */
function next<A extends unknown[]>(w: Worker, event: Parameters<Worker['once']>[0]): Promise<A> {
  return new Promise((res) => w.once(event, ((...args: A) => res(args)) as never));
}
const status = async (q: TaskQueue, id: string) => (await q.get(id))?.status;

describe('Worker', () => {
  it('runs at most `concurrency` handlers at once, with one blocking connection', async () => {
    // Lists the whole server's clients: on a server of this process's own, never REDIS_URL's (shared).
    const own = await r.ownServer();
    const q = own.queue();
    const ids = await q.enqueueMany(Array.from({ length: 40 }, (_, i) => ({ queue: 'q', type: 't', spec: { i } })));
    let now = 0;
    let peak = 0;
    const w = worker(
      q,
      async () => {
        now++;
        peak = Math.max(peak, now);
        await sleep(15);
        now--;
        return 'ok';
      },
      { queues: ['q'], concurrency: 4 },
    );
    await until(async () => (await Promise.all(ids.map((id) => status(q, id)))).every((s) => s === 'finished'));
    expect(peak).toBe(4);
    expect(w.state()).toMatchObject({ concurrency: 4, busy: 0 });
    // One command connection and one blocking connection, however high the concurrency.
    const clients = ((await own.raw().client('LIST')) as string).trim().split('\n');
    expect(clients.length).toBe(3); // those two and the raw client asking
    await closeAll();
  });

  it('at concurrency 1, sends each finish along with its next start: about one script call per task', async () => {
    // Counts what the whole server did: on a server of this process's own, never REDIS_URL's (shared).
    const own = await r.ownServer();
    const q = own.queue();
    const n = 400;
    await q.enqueueMany(Array.from({ length: n }, (_, i) => ({ queue: 'q', type: 't', spec: { i } })));
    const before = await scriptCalls(own.raw());
    let done = 0;
    const began = Date.now();
    const w = worker(q, async () => 'ok', { queues: ['q'], concurrency: 1 });
    w.on('task:finished', () => done++);
    await until(() => done === n, 20_000);
    // One start per task, each carrying the previous finish; a claim call (the due-task check every 50 ms)
    // and the finish that follows it go on their own, so a slower run makes a few more. Sending every
    // finish alone would be 2n.
    const dueChecks = Math.ceil((Date.now() - began) / 50);
    expect((await scriptCalls(own.raw())) - before).toBeLessThanOrEqual(Math.min(n + 2 * dueChecks + 4, n * 1.5));
    await closeAll();
  });

  it('at a low rate, a woken reader waits again at once: three script calls per task (enqueue, start, finish)', async () => {
    // Counts what the whole server did: on a server of this process's own, never REDIS_URL's (shared).
    const own = await r.ownServer();
    const q = own.queue();
    const producer = own.queue({ namespace: q.namespace });
    await producer.enqueue({ queue: 'q', type: 't' }); // the queue exists before the worker looks
    let done = 0;
    const w = worker(q, async () => 'ok', { queues: ['q'], concurrency: 4 });
    w.on('task:finished', () => done++);
    await until(() => done === 1);
    await sleep(100);
    const before = await scriptCalls(own.raw());
    const began = Date.now();
    const n = 30;
    for (let i = 0; i < n; i++) {
      await producer.enqueue({ queue: 'q', type: 't', spec: { i } });
      await sleep(15);
    }
    await until(() => done === n + 1);
    // Claiming before each wait would make it four: that claim finds nothing after a start that claimed ahead.
    // A wait still claims again after a second without work (BLOCK_MS): one more call per second of the run.
    const reclaims = Math.ceil((Date.now() - began) / 1000);
    expect((await scriptCalls(own.raw())) - before).toBeLessThanOrEqual(3 * n + 2 + reclaims);
    expect((await q.verify()).mismatches).toEqual([]);
    await closeAll();
  });

  it('makes progress visible while running; the return value becomes the result, apart from the progress', async () => {
    const q = r.queue();
    const id = await q.enqueue({ queue: 'q', type: 't' });
    let release!: () => void;
    const gate = new Promise<void>((res) => (release = res));
    // Destructured, as the README shows: progress needs no `this`, and signal is read through its getter.
    worker(
      q,
      async (_task, { signal, progress }) => {
        expect(signal.aborted).toBe(false);
        await progress({ pct: 50 });
        await gate;
        return { pct: 100, out: 'done' };
      },
      { queues: ['q'] },
    );
    await until(async () => JSON.stringify((await q.get(id))?.progress) === '{"pct":50}');
    expect(await status(q, id)).toBe('running');
    release();
    await until(async () => (await status(q, id)) === 'finished');
    expect(await q.get(id)).toMatchObject({ progress: { pct: 50 }, result: { pct: 100, out: 'done' }, error: null });
    await closeAll();
  });

  it('throttles progress writes and never loses the last value', async () => {
    const q = r.queue();
    const id = await q.enqueue({ queue: 'q', type: 't' });
    worker(
      q,
      async (_t, ctx) => {
        for (let i = 1; i <= 200; i++) void ctx.progress({ i });
        await sleep(50);
      },
      { queues: ['q'], progressThrottleMs: 1000 },
    );
    await until(async () => (await status(q, id)) === 'finished');
    expect((await q.get(id))?.progress).toEqual({ i: 200 });
    const writes = (await q.history(id)).filter((e) => e.type === 'progress');
    expect(writes.length).toBeLessThanOrEqual(2);
    await closeAll();
  });

  it('by default fails a task at once on a handler error, the error apart from the last progress', async () => {
    const q = r.queue();
    const id = await q.enqueue({ queue: 'q', type: 't' });
    const w = worker(
      q,
      async (_t, ctx) => {
        await ctx.progress({ step: 3, error: 'older' });
        throw new Error('disk full');
      },
      { queues: ['q'] },
    );
    const [task, err] = await next<[Task, Error]>(w, 'task:failed');
    expect(task.id).toBe(id);
    expect(err.message).toBe('disk full');
    expect(await q.get(id)).toMatchObject({
      status: 'failed',
      progress: { step: 3, error: 'older' },
      error: { message: 'disk full', stack: expect.stringContaining('disk full') as unknown },
      result: null,
      attempt: 1,
    });
    await closeAll();
  });

  it('retries with growing delays, then fails with every attempt’s error in the history', async () => {
    const q = r.queue();
    const id = await q.enqueue({ queue: 'q', type: 't', maxAttempts: 3, backoff: { delayMs: 100, jitter: 0 } });
    const delays: number[] = [];
    const w = worker(
      q,
      async (task) => {
        throw new Error(`boom ${task.attempt}`);
      },
      { queues: ['q'] },
    );
    w.on('task:retrying', (_t, _e, delayMs) => delays.push(delayMs));
    await next(w, 'task:failed');
    expect(delays).toEqual([100, 200]);
    const h = await q.history(id);
    expect(h.map((e) => e.type)).toEqual([
      'enqueued',
      'started',
      'retrying',
      'promoted',
      'started',
      'retrying',
      'promoted',
      'started',
      'failed',
    ]);
    const errors = h.filter((e) => e.type === 'retrying').map((e) => (e.data.failure as { message: string }).message);
    expect(errors).toEqual(['boom 1', 'boom 2']);
    expect(h.at(-1)!.data.failure).toMatchObject({ message: 'boom 3' });
    expect((await q.get(id))?.error?.message).toBe('boom 3');
    // The delays were honoured: each start comes at least its delay after the retrying event.
    const at = (i: number) => h[i]!.at.getTime();
    expect(at(4) - at(2)).toBeGreaterThanOrEqual(100);
    expect(at(7) - at(5)).toBeGreaterThanOrEqual(200);
    expect((await q.verify()).mismatches).toEqual([]);
    await closeAll();
  });

  it('fails at once on UnrecoverableError even with retries left; retries by the worker default otherwise', async () => {
    const q = r.queue();
    const fatal = await q.enqueue({ queue: 'q', type: 'fatal' });
    const flaky = await q.enqueue({ queue: 'q', type: 'flaky' });
    worker(
      q,
      {
        fatal: async () => {
          throw new UnrecoverableError('bad input');
        },
        flaky: async (task) => {
          if (task.attempt < 2) throw new Error('try again');
          return 'ok';
        },
      },
      { queues: ['q'], retry: { maxAttempts: 5, backoff: { delayMs: 10 } } },
    );
    await until(async () => (await status(q, fatal)) === 'failed' && (await status(q, flaky)) === 'finished');
    expect((await q.get(fatal))?.attempt).toBe(1);
    expect((await q.get(fatal))?.error).toMatchObject({ message: 'bad input', code: 'ERR_UNRECOVERABLE' });
    // A later attempt's success keeps the error of the one that failed; the result is its own.
    expect(await q.get(flaky)).toMatchObject({ result: 'ok', error: { message: 'try again' } });
    expect((await q.get(flaky))?.attempt).toBe(2);
    await closeAll();
  });

  it('fails a task whose type has no handler, with a clear reason', async () => {
    const q = r.queue();
    const id = await q.enqueue({ queue: 'q', type: 'unknown-type' });
    worker(q, { known: async () => 'x' }, { queues: ['q'] });
    await until(async () => (await status(q, id)) === 'failed');
    expect((await q.get(id))?.error).toMatchObject({
      message: 'no handler for task type "unknown-type"',
      code: 'ERR_NO_HANDLER',
    });
    await closeAll();
  });

  it('aborts ctx.signal within one heartbeat interval of a cancel, and writes nothing afterwards', async () => {
    const q = r.queue({ heartbeatTtlMs: 3000 });
    const id = await q.enqueue({ queue: 'q', type: 't' });
    let abortedAt = 0;
    let reason: unknown;
    const w = worker(
      q,
      async (_t, ctx) => {
        await new Promise<void>((res) => ctx.signal.addEventListener('abort', () => res()));
        abortedAt = Date.now();
        reason = ctx.signal.reason;
        await ctx.progress({ after: 'cancel' }); // ignored: the task is no longer this worker's
        return 'late result';
      },
      { queues: ['q'], heartbeatIntervalMs: 100 },
    );
    await until(async () => (await status(q, id)) === 'running');
    const lost = next<[Task, Error]>(w, 'task:lost');
    const cancelledAt = Date.now();
    const late = timerLateness(cancelledAt + 100);
    await q.cancel(id);
    await lost;
    await until(() => abortedAt > 0);
    expect(reason).toBeInstanceOf(TaskCancelledError);
    expect(abortedAt - cancelledAt).toBeLessThanOrEqual(100 + 50 + (await late));
    await sleep(250);
    const h = await q.history(id);
    expect(h.at(-1)!.type).toBe('cancelled');
    expect(await q.get(id)).toMatchObject({ status: 'cancelled', progress: null });
    await closeAll();
  });

  it('aborts ctx.signal when its lease is lost to another worker, and leaves the new holder alone', async () => {
    const q = r.queue({ heartbeatTtlMs: 1000 });
    const id = await q.enqueue({ queue: 'q', type: 't' });
    let reason: unknown;
    let letGo!: () => void;
    const gate = new Promise<void>((res) => (letGo = res));
    const w = worker(
      q,
      async (_t, ctx) => {
        await new Promise<void>((res) => ctx.signal.addEventListener('abort', () => res()));
        reason = ctx.signal.reason;
        // The slot stays busy, so this worker's own reader cannot take the task back before `other` does.
        await gate;
        throw new Error('stopped');
      },
      { queues: ['q'], heartbeatIntervalMs: 50 },
    );
    await until(async () => (await status(q, id)) === 'running');
    const lost = next(w, 'task:lost');
    // The task is taken away: its deadline passes (as if the worker had frozen), recovery re-queues it and
    // another process starts it.
    const other = r.queue({ namespace: q.namespace, heartbeatTtlMs: 1000 });
    // A heartbeat landing between the two steps pushes the deadline back: try until recovery takes it.
    let requeued = false;
    for (let i = 0; i < 50 && !requeued; i++) {
      await r.raw().zadd(`{${q.namespace}}:running`, 0, id);
      await r.raw().del(`{${q.namespace}}:recovery-lock`);
      requeued = (await other.recover())?.requeued === 1;
    }
    expect(requeued).toBe(true);
    const taken = await other.dequeue(['q'], { signal: AbortSignal.timeout(5000) });
    expect(taken.attempt).toBe(2);
    await lost;
    letGo();
    expect((reason as { code?: string }).code).toMatch(/ERR_TASK_LEASE_LOST|ERR_TASK_NOT_RUNNING/);
    await sleep(150);
    await other.finish(id, { by: 'other' });
    expect(await q.get(id)).toMatchObject({ status: 'finished', progress: { by: 'other' } });
    await closeAll();
  });

  it('a handler deadline aborts the signal and fails the task; the slot stays busy until the handler settles', async () => {
    const q = r.queue();
    const id = await q.enqueue({ queue: 'q', type: 'slow', timeoutMs: 100 });
    let finishHandler!: () => void;
    let reason: unknown;
    const w = worker(
      q,
      async (_t, ctx) => {
        ctx.signal.addEventListener('abort', () => {
          reason = ctx.signal.reason;
        });
        await new Promise<void>((res) => (finishHandler = res)); // ignores its signal
      },
      { queues: ['q'], concurrency: 1 },
    );
    await next(w, 'task:timeout');
    await until(async () => (await status(q, id)) === 'failed');
    expect(reason).toBeInstanceOf(TaskTimeoutError);
    expect((await q.get(id))?.error).toMatchObject({
      message: `task ${id} timed out after 100 ms`,
      code: 'ERR_TASK_TIMEOUT',
    });
    expect(w.state()).toMatchObject({ busy: 1, stuck: 1, running: 0 });
    const second = await q.enqueue({ queue: 'q', type: 'slow' });
    await sleep(150);
    expect(await status(q, second)).toBe('waiting'); // the only slot is still held by the stuck handler
    finishHandler();
    await until(async () => (await status(q, second)) === 'running');
    expect(w.state().stuck).toBe(0);
    finishHandler();
    await closeAll();
  });

  it('holds one task twice without confusing the two: a stuck attempt and its retry', async () => {
    const q = r.queue();
    const id = await q.enqueue({
      queue: 'q',
      type: 't',
      maxAttempts: 3,
      backoff: { delayMs: 0, jitter: 0 },
      timeoutMs: 100,
    });
    let unblock!: () => void;
    const stuck = new Promise<void>((res) => (unblock = res));
    let peak = 0;
    const w = worker(
      q,
      async (task) => {
        peak = Math.max(peak, w.state().busy);
        if (task.attempt === 1) await stuck; // ignores its signal, holds its slot
        return { attempt: task.attempt };
      },
      { queues: ['q'], concurrency: 2, heartbeatIntervalMs: 50 },
    );
    await until(async () => (await status(q, id)) === 'finished');
    expect((await q.get(id))?.result).toEqual({ attempt: 2 });
    expect(w.state()).toMatchObject({ busy: 1, stuck: 1 });
    expect(peak).toBe(2);
    unblock();
    await until(() => w.state().busy === 0);
    await sleep(100);
    // Nothing of the stuck attempt was written after its timeout: no progress of attempt 1, no second finish.
    const h = await q.history(id);
    expect(h.filter((e) => e.type !== 'progress').map((e) => e.type)).toEqual([
      'enqueued',
      'started',
      'retrying',
      'promoted',
      'started',
      'finished',
    ]);
    const pos = (type: string, n = 0) => h.indexOf(h.filter((e) => e.type === type)[n]!);
    expect(h.slice(pos('retrying'), pos('started', 1)).filter((e) => e.type === 'progress')).toEqual([]);
    await closeAll();
  });

  it('reports a finish refused because the task was cancelled meanwhile', async () => {
    const q = r.queue();
    const id = await q.enqueue({ queue: 'q', type: 't' });
    let go!: () => void;
    const gate = new Promise<void>((res) => (go = res));
    const w = worker(
      q,
      async () => {
        await gate;
        return 'done';
      },
      { queues: ['q'], heartbeatIntervalMs: 5000 },
    );
    await until(async () => (await status(q, id)) === 'running');
    await q.cancel(id);
    const lost = next<[Task, Error]>(w, 'task:lost');
    go();
    const [, reason] = await lost;
    expect(reason).toBeInstanceOf(TaskCancelledError);
    expect(await status(q, id)).toBe('cancelled');
    await closeAll();
  });

  it('a handler that first looks at its signal after the deadline finds it aborted, with the reason', async () => {
    const q = r.queue();
    await q.enqueue({ queue: 'q', type: 't', timeoutMs: 50 });
    let seen: { aborted: boolean; reason: unknown } | undefined;
    const w = worker(
      q,
      async (_t, ctx) => {
        await sleep(150); // the signal is made only when read: here, after it was aborted
        seen = { aborted: ctx.signal.aborted, reason: ctx.signal.reason };
      },
      { queues: ['q'] },
    );
    await next(w, 'task:timeout');
    await until(async () => seen !== undefined);
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toBeInstanceOf(TaskTimeoutError);
    await closeAll();
  });

  it('close() resolves only after a timed-out task’s outcome is written', async () => {
    const q = r.queue();
    const id = await q.enqueue({ queue: 'q', type: 't', timeoutMs: 50 });
    const w = worker(
      q,
      async (_t, ctx) => {
        await new Promise<void>((res) => ctx.signal.addEventListener('abort', () => res()));
      },
      { queues: ['q'] },
    );
    await next(w, 'task:timeout');
    await w.close();
    expect(await status(q, id)).toBe('failed');
  });

  it('a reader whose slots stay busy past the hold time keeps one wait, not one more per second', async () => {
    const q = r.queue();
    const ids = await q.enqueueMany(Array.from({ length: 3 }, () => ({ queue: 'q', type: 't' })));
    let release!: () => void;
    const gate = new Promise<void>((res) => (release = res));
    const w = worker(q, () => gate.then(() => 'ok'), { queues: ['q'] });
    // Each hold time (1 s) the reader hands its claimed-ahead entry back and waits for a slot again
    // (test/slots.test.ts: a wait that ends by its hold time leaves the waiters).
    const givenBack = async () =>
      (await Promise.all(ids.map((id) => q.history(id))))
        .flat()
        .filter((e) => e.type === 'requeued' && e.data.reason === 'given-back').length;
    await until(async () => (await givenBack()) >= 1);
    expect(w.state().busy).toBe(1);
    release();
    await until(async () => (await Promise.all(ids.map((id) => status(q, id)))).every((s) => s === 'finished'));
    await closeAll();
  });

  it('refuses options that would starve heartbeats', () => {
    const q = r.queue({ heartbeatTtlMs: 1000 });
    expect(() => new Worker(q, async () => undefined, { heartbeatIntervalMs: 900 })).toThrow(
      /heartbeatIntervalMs must be an integer from 10 to 500/,
    );
    expect(() => new Worker(q, async () => undefined, { heartbeatIntervalMs: 100, progressThrottleMs: 2000 })).toThrow(
      /progressThrottleMs/,
    );
    expect(
      () => new Worker(q, async () => undefined, { retry: { maxAttempts: 3, backoff: { delayMs: '5' as never } } }),
    ).toThrow(/backoff.delayMs/);
  });

  it('close() waits for running handlers to end', async () => {
    const q = r.queue();
    const id = await q.enqueue({ queue: 'q', type: 't' });
    const w = worker(
      q,
      async () => {
        await sleep(300);
        return 'done';
      },
      { queues: ['q'] },
    );
    await until(async () => (await status(q, id)) === 'running');
    await w.close();
    expect(await status(q, id)).toBe('finished');
    const later = await q.enqueue({ queue: 'q', type: 't' });
    await sleep(200);
    expect(await status(q, later)).toBe('waiting'); // a closed worker takes nothing more
  });

  it('close() past its deadline aborts handlers and releases their tasks back to waiting', async () => {
    const q = r.queue();
    const id = await q.enqueue({ queue: 'q', type: 't' });
    let reason: unknown;
    const w = worker(
      q,
      async (_t, ctx) => {
        ctx.signal.addEventListener('abort', () => {
          reason = ctx.signal.reason;
        });
        await sleep(2000); // ignores its signal
      },
      { queues: ['q'] },
    );
    await until(async () => (await status(q, id)) === 'running');
    const started = Date.now();
    await w.close({ timeoutMs: 100 });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(reason).toBeInstanceOf(WorkerClosedError);
    const t = await q.get(id);
    expect(t?.status).toBe('waiting');
    expect((await q.history(id)).at(-1)!.data.reason).toBe('released');
  });

  it('survives listeners that throw', async () => {
    const q = r.queue();
    const ids = await q.enqueueMany([
      { queue: 'q', type: 't' },
      { queue: 'q', type: 't' },
    ]);
    const reported: unknown[] = [];
    const w = worker(q, async () => 'ok', { queues: ['q'] });
    w.on('task:started', () => {
      throw new Error('listener bug');
    });
    w.on('task:finished', async () => {
      throw new Error('async listener bug');
    });
    w.on('error', (err) => {
      reported.push(err);
      throw new Error('even the error listener throws');
    });
    await until(async () => (await Promise.all(ids.map((id) => status(q, id)))).every((s) => s === 'finished'));
    await until(() => reported.length >= 4);
    expect(reported.map((e) => (e as Error).message).sort()).toEqual([
      'async listener bug',
      'async listener bug',
      'listener bug',
      'listener bug',
    ]);
    await closeAll();
  });
});

describe('typed task definitions', () => {
  const resize = defineTask('resize', z.object({ url: z.url(), width: z.number().int().positive() }), {
    timeoutMs: 5000,
  });

  it('enqueue refuses a bad spec; the handler gets a typed, validated spec', async () => {
    const q = r.queue({ tasks: [resize] });
    await expect(q.enqueue({ queue: 'img', type: 'resize', spec: { url: 'nope', width: -1 } })).rejects.toThrow(
      /spec for task type "resize": url: .*; width: /,
    );
    expect(() => resize.request({ queue: 'img', spec: { url: 'x', width: 1 } })).toThrow(ValidationError);
    const id = await q.enqueue(resize.request({ queue: 'img', spec: { url: 'https://e.com/a.png', width: 64 } }));
    const seen: number[] = [];
    worker(q, { resize: resize.handler(async (task) => void seen.push(task.spec.width)) }, { queues: ['img'] });
    await until(async () => (await status(q, id)) === 'finished');
    expect(seen).toEqual([64]);
    await closeAll();
  });

  it('a bad spec that reached Redis another way fails the task at once', async () => {
    const plain = r.queue();
    const id = await plain.enqueue({ queue: 'img', type: 'resize', spec: { url: 42 }, maxAttempts: 5 });
    const q = r.queue({ namespace: plain.namespace, tasks: [resize] });
    worker(q, { resize: resize.handler(async () => 'never') }, { queues: ['img'] });
    await until(async () => (await status(q, id)) === 'failed');
    expect((await q.get(id))?.attempt).toBe(1);
    expect((await q.get(id))?.error?.message).toMatch(/spec for task type "resize"/);
    await closeAll();
  });
});
