import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  MAX_DEADLINE_MS,
  MAX_TIMER_MS,
  Scheduler,
  TaskQueue,
  ValidationError,
  Worker,
  backoffDelay,
  defineTask,
  type Task,
} from '../src/index.js';
import { LongTimer } from '../src/util/long-timer.js';
import { sleep, until, useRedis } from './helpers/fixture.js';

// Node fires a timer set past 2^31 - 1 ms after 1 ms. These tests check that nothing fires early: what a
// long deadline guards is still running (and its signal not aborted) well after 1 ms.

const r = useRedis();

/** A handler that runs until let go, recording whether its signal aborted. */
function heldHandlers() {
  const held = new Map<string, () => void>();
  const aborted: string[] = [];
  const handler = (task: Task, ctx: { signal: AbortSignal }) =>
    new Promise<string>((res) => {
      ctx.signal.addEventListener('abort', () => aborted.push(task.id));
      held.set(task.id, () => res('done'));
    });
  const letGo = () => {
    for (const go of held.values()) go();
  };
  return { held, aborted, handler, letGo };
}

describe('LongTimer', () => {
  it('waits past one timer step, in steps, and never fires early', async () => {
    const started = performance.now();
    const firedAt = await new Promise<number>((res) => new LongTimer(() => res(performance.now()), 100, 20));
    // Each step checks the monotonic clock: the last one fires only once the whole delay has passed.
    expect(firedAt - started).toBeGreaterThanOrEqual(100);
  });

  it('does not fire when cleared between steps, nor a delay past 2^31 - 1 ms within 300 ms', async () => {
    let fired = 0;
    const chained = new LongTimer(() => fired++, 100, 20);
    const long = new LongTimer(() => fired++, 2 ** 31 + 5).unref();
    await sleep(50);
    chained.clear();
    await sleep(250);
    long.clear();
    expect(fired).toBe(0);
  });
});

describe('deadlines past 2^31 - 1 ms are honoured', () => {
  it('a task timeoutMs of 2^31, a worker timeout and a defined type timeout of 3e9 ms do not fire at once', async () => {
    const defined = defineTask('c', z.object({}), { timeoutMs: 3e9 });
    const q = r.queue({ tasks: [defined] });
    const ids = [
      await q.enqueue({ queue: 'q', type: 'a', timeoutMs: 2 ** 31 }),
      await q.enqueue({ queue: 'q', type: 'b' }),
      await q.enqueue({ queue: 'q', type: 'c', spec: {} }),
    ];
    const h = heldHandlers();
    const timedOut: string[] = [];
    const w = new Worker(q, h.handler, { queues: ['q'], concurrency: 3, timeouts: { b: 3e9 } });
    w.on('task:timeout', (task) => timedOut.push(task.id));
    w.start();
    await until(() => h.held.size === 3);
    await sleep(300);
    expect(timedOut).toEqual([]);
    expect(h.aborted).toEqual([]);
    for (const id of ids) expect((await q.get(id))?.status).toBe('running');
    h.letGo();
    await until(async () => (await Promise.all(ids.map((id) => q.get(id)))).every((t) => t?.status === 'finished'));
    await w.close();
  });

  it('close({ timeoutMs: 3e9 }) and closeTimeoutMs of 3e9 wait for the handler instead of aborting it', async () => {
    const q = r.queue();
    const ids = [await q.enqueue({ queue: 'a', type: 't' }), await q.enqueue({ queue: 'b', type: 't' })];
    const h = heldHandlers();
    const byCall = new Worker(q, h.handler, { queues: ['a'] }).start();
    const byOption = new Worker(q, h.handler, { queues: ['b'], closeTimeoutMs: 3e9 }).start();
    await until(() => h.held.size === 2);
    let closed = 0;
    const closing = [byCall.close({ timeoutMs: 3e9 }), byOption.close()].map((p) => p.then(() => closed++));
    await sleep(300);
    expect(closed).toBe(0);
    expect(h.aborted).toEqual([]);
    h.letGo();
    await Promise.all(closing);
    for (const id of ids) expect((await q.get(id))?.status).toBe('finished');
  });
});

describe('durations beyond what is honoured are refused', () => {
  it('refuses period and TTL options past 2^31 - 1 ms, naming the limit, before connecting', () => {
    const limit = /must be an integer from \d+ to 2147483647 ms \(2\^31 - 1, the longest a Node\.js timer waits\)/;
    for (const option of [
      { heartbeatTtlMs: 1e10 },
      { recoveryIntervalMs: 3e9 },
      { connectTimeoutMs: 3e9 },
      { deliveryTimeoutMs: 3e9 },
      { compactIntervalMs: 2 ** 31 },
    ]) {
      const name = Object.keys(option)[0]!;
      expect(() => new TaskQueue({ connection: r.url, ...option })).toThrow(ValidationError);
      expect(() => new TaskQueue({ connection: r.url, ...option })).toThrow(new RegExp(`^${name} ${limit.source}`));
    }
    expect(() => new Scheduler({ connection: r.url, leaseMs: 3e9 })).toThrow(limit);
    expect(() => new Scheduler({ connection: r.url, connectTimeoutMs: 3e9 })).toThrow(limit);
  });

  it('takes 2^31 - 1 ms itself, and a heartbeat TTL that long sends no heartbeat storm', async () => {
    const q = r.queue({
      heartbeatTtlMs: MAX_TIMER_MS,
      recoveryIntervalMs: MAX_TIMER_MS,
      connectTimeoutMs: MAX_TIMER_MS,
    });
    const id = await q.enqueue({ queue: 'q', type: 't' });
    let heartbeats = 0;
    const send = q.heartbeat.bind(q);
    q.heartbeat = (...args) => {
      heartbeats++;
      return send(...args);
    };
    const h = heldHandlers();
    const w = new Worker(q, h.handler, { queues: ['q'] }).start();
    await until(() => h.held.size === 1);
    await sleep(300);
    // A third of the TTL is about 8 days: none is due yet (a timer past the limit sent hundreds a second).
    expect(heartbeats).toBe(0);
    h.letGo();
    await w.close();
    expect((await q.get(id))?.status).toBe('finished');
  });

  it('refuses deadlines past ten years and bad close timeouts with a ValidationError', async () => {
    const q = r.queue();
    const tenYears = /ten years/;
    expect(() => new Worker(q, async () => 'ok', { timeouts: { t: MAX_DEADLINE_MS + 1 } })).toThrow(tenYears);
    expect(() => new Worker(q, async () => 'ok', { closeTimeoutMs: 1e12 })).toThrow(tenYears);
    expect(() => defineTask('t', z.object({}), { timeoutMs: 1e12 })).toThrow(tenYears);
    expect(() => defineTask('t', z.object({}), { timeoutMs: -1 })).toThrow(ValidationError);
    const w = new Worker(q, async () => 'ok');
    for (const timeoutMs of [-1, Number.NaN, Infinity, 1e12])
      await expect(w.close({ timeoutMs })).rejects.toThrow(/close\(\) timeoutMs must be an integer from 0/);
    await w.close({ timeoutMs: 0 });
  });

  it('refuses a retryLater delay past ten years (its due time would never come); the task stays running', async () => {
    const q = r.queue();
    const id = await q.enqueue({ queue: 'q', type: 't' });
    await q.dequeue(['q']);
    await expect(q.retryLater(id, { delayMs: 1e300, error: 'x' })).rejects.toThrow(ValidationError);
    await expect(q.retryLater(id, { delayMs: MAX_DEADLINE_MS + 1, error: 'x' })).rejects.toThrow(/ten years/);
    expect((await q.get(id))?.status).toBe('running');
    await q.finish(id);
  });

  it('keeps backoff delays finite and within ten years, whatever the attempt and jitter', () => {
    expect(backoffDelay({ delayMs: 0 }, 2000)).toBe(0);
    const max = { maxDelayMs: MAX_DEADLINE_MS, jitter: 1 };
    expect(backoffDelay(max, 60, () => 1)).toBe(MAX_DEADLINE_MS);
  });
});
