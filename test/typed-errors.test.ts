import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  backoffDelay,
  defineTask,
  FileArchive,
  foldAll,
  foldEvent,
  MAX_JSON_DEPTH,
  nextRun,
  RedisUnavailableError,
  S3Archive,
  Scheduler,
  scheduleId,
  TaskLedgerError,
  TaskQueue,
  TaskQueueChangedError,
  validateCron,
  validateTimezone,
  ValidationError,
  Worker,
  type JsonValue,
} from '../src/index.js';
import { errorFromCode, LuaCode } from '../src/errors.js';
import * as metrics from '../src/metrics/index.js';
import { GROUP, keysFor } from '../src/redis/keys.js';
import { defineScripts } from '../src/redis/scripts.js';
import { namespaceKeys, useRedis } from './helpers/fixture.js';
import { namespace, startPrivateRedis } from './helpers/redis.js';

const r = useRedis();
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

/** The error the call throws or rejects with; fails the test when it succeeds. */
async function errorOf(call: () => unknown): Promise<unknown> {
  try {
    await call();
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail');
}

/** A value nested `depth` arrays deep. */
function nested(depth: number): JsonValue {
  let v: JsonValue = 0;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

describe('errors that were not TaskLedgerErrors', () => {
  it("maps ioredis' max-retries error during an outage to RedisUnavailableError", async () => {
    const server = await startPrivateRedis();
    let stopped = false;
    closers.push(async () => {
      if (!stopped) await server.stop();
    });
    const q = new TaskQueue({ connection: server.url, namespace: namespace(), recoveryIntervalMs: 0 });
    closers.push(() => q.close());
    const id = await q.enqueue({ queue: 'q', type: 't' });
    await server.stop();
    stopped = true;
    // At once: each waits for ioredis' reconnect attempts.
    const errors = await Promise.all(
      [
        () => q.enqueue({ queue: 'q', type: 't' }), // a script
        () => q.get(id), // a plain command
        () => q.cancel(id),
      ].map(errorOf),
    );
    for (const err of errors) {
      expect(err).toBeInstanceOf(RedisUnavailableError);
      expect((err as RedisUnavailableError).code).toBe('ERR_REDIS_UNAVAILABLE');
      expect((err as Error).message).toMatch(/max retries per request/);
    }
  });

  it(`refuses JSON nested deeper than MAX_JSON_DEPTH (${MAX_JSON_DEPTH}) without overflowing the stack`, async () => {
    const q = r.queue();
    await q.get('warm-up');
    const before = await namespaceKeys(r.raw(), q.namespace);
    for (const depth of [MAX_JSON_DEPTH + 1, 4108, 200_000]) {
      const err = await errorOf(() => q.enqueue({ queue: 'q', type: 't', spec: nested(depth) }));
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as Error).message).toBe(`spec is nested more than ${MAX_JSON_DEPTH} levels deep`);
    }
    expect(await namespaceKeys(r.raw(), q.namespace)).toEqual(before);
    const id = await q.enqueue({ queue: 'q', type: 't', spec: nested(MAX_JSON_DEPTH) });
    await q.dequeue(['q']);
    await expect(q.heartbeat(id, nested(4108))).rejects.toThrow(/progress is nested more than/);
    expect((await q.get(id))?.spec).toEqual(nested(MAX_JSON_DEPTH));
  });

  it('refuses enqueueMany of something not an array', async () => {
    const q = r.queue();
    for (const bad of ['abc', 42, null, { queue: 'q', type: 't' }]) {
      const err = await errorOf(() => q.enqueueMany(bad as never));
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as Error).message).toBe('enqueueMany takes an array of enqueue requests');
    }
  });

  it('answers a task found in another queue than the one read with TaskQueueChangedError (a status code)', async () => {
    const q = r.queue();
    const raw = r.raw();
    const k = keysFor(q.namespace);
    const scripts = defineScripts(raw);
    // Each script is given the queue 'other' while the task is in 'q', as after a delete and a new enqueue
    // of the same id between the client's read of the queue and the call.
    const running = await q.enqueue({ queue: 'q', type: 't' });
    await q.dequeue(['q']);
    const failed = await q.enqueue({ queue: 'q', type: 't' });
    await q.dequeue(['q']);
    await q.fail(failed);
    const q2 = 'other';
    const calls: [string, () => Promise<unknown>][] = [
      [
        'cancel',
        () =>
          scripts.cancel(
            k.events,
            k.running,
            k.task(running),
            k.ready(q2),
            k.delayed(q2),
            k.counts,
            k.endedIndex,
            k.controls,
            k.wake,
            running,
            GROUP,
            q2,
            '0',
          ),
      ],
      [
        'release',
        () =>
          scripts.release(
            k.events,
            k.running,
            k.task(running),
            k.ready(q2),
            k.controls,
            k.wake,
            running,
            GROUP,
            '',
            q2,
            '0',
            0,
          ),
      ],
      [
        'retryLater',
        () =>
          scripts.retryLater(
            k.events,
            k.running,
            k.task(running),
            k.delayed(q2),
            k.wake,
            k.controls,
            running,
            '',
            0,
            'e',
            '{}',
            q2,
          ),
      ],
      ['retry', () => scripts.retry(k.events, k.task(failed), k.ready(q2), k.endedIndex, failed, GROUP, q2, '0')],
      [
        'delete',
        () => {
          const keys = [
            k.events,
            k.running,
            k.task(running),
            k.ready(q2),
            k.delayed(q2),
            k.endedIndex,
            k.controls,
            k.wake,
          ];
          return scripts.delete(keys.length, ...keys, running, GROUP, q2, '0');
        },
      ],
    ];
    const log = await raw.xlen(k.events);
    for (const [name, call] of calls) expect(Number(await call()), name).toBe(LuaCode.QUEUE_CHANGED);
    expect(await raw.xlen(k.events)).toBe(log);
    const err = errorFromCode(LuaCode.QUEUE_CHANGED, running);
    expect(err).toBeInstanceOf(TaskQueueChangedError);
    expect(err?.code).toBe('ERR_TASK_QUEUE_CHANGED');
    expect((await q.get(running))?.status).toBe('running');
  });
});

describe('every public call refuses wrong-typed arguments with a ValidationError', () => {
  it('TaskQueue, Worker, Scheduler and the exported functions', async () => {
    const q = r.queue();
    const id = await q.enqueue({ queue: 'q', type: 't' });
    const s = new Scheduler({ connection: r.url, namespace: q.namespace });
    closers.push(() => s.stop());
    const w = new Worker(q, async () => undefined);
    closers.push(() => w.close());
    const before = await namespaceKeys(r.raw(), q.namespace);
    const handler = async () => undefined;
    const schema = z.object({});
    const calls: Record<string, () => unknown> = {
      'new TaskQueue("abc")': () => new TaskQueue('abc' as never),
      'new TaskQueue({ connection: 42 })': () => new TaskQueue({ connection: 42 as never }),
      'new TaskQueue({ namespace: 42 })': () => new TaskQueue({ connection: r.url, namespace: 42 as never }),
      'new TaskQueue({ tasks: "x" })': () => new TaskQueue({ connection: r.url, tasks: 'x' as never }),
      'new TaskQueue({ heartbeatTtlMs: "x" })': () =>
        new TaskQueue({ connection: r.url, heartbeatTtlMs: 'x' as never }),
      'enqueue("abc")': () => q.enqueue('abc' as never),
      'enqueue(null)': () => q.enqueue(null as never),
      'enqueue({ queue: 1 })': () => q.enqueue({ queue: 1, type: 't' } as never),
      'enqueue({ maxAttempts: "3" })': () => q.enqueue({ queue: 'q', type: 't', maxAttempts: '3' } as never),
      'enqueue({ spec: function })': () => q.enqueue({ queue: 'q', type: 't', spec: handler } as never),
      'enqueueMany("abc")': () => q.enqueueMany('abc' as never),
      'enqueueMany([1])': () => q.enqueueMany([1] as never),
      'dequeue("abc")': () => q.dequeue('abc' as never),
      'dequeue([1])': () => q.dequeue([1] as never),
      'dequeue(["q"], "x")': () => q.dequeue(['q'], 'x' as never),
      'dequeue(["q"], { signal: "x" })': () => q.dequeue(['q'], { signal: 'x' as never }),
      'heartbeat(1)': () => q.heartbeat(1 as never),
      'heartbeat(id, function)': () => q.heartbeat(id, handler as never),
      'heartbeat(id, null, { lease: 5 })': () => q.heartbeat(id, null, { lease: 5 as never }),
      'finish(id, undefined, "x")': () => q.finish(id, undefined, 'x' as never),
      'fail(id, 1n)': () => q.fail(id, 1n as never),
      'release(1)': () => q.release(1 as never),
      'release(id, { lease: 1 })': () => q.release(id, { lease: 1 as never }),
      'retryLater(id, "x")': () => q.retryLater(id, 'x' as never),
      'retryLater(id, { delayMs: "x" })': () => q.retryLater(id, { delayMs: 'x' as never, error: 'e' }),
      'retry(1)': () => q.retry(1 as never),
      'cancel({})': () => q.cancel({} as never),
      'get(null)': () => q.get(null as never),
      'history(5)': () => q.history(5 as never),
      'events("x")': () => q.events('x' as never).next(),
      'events({ from: 5 })': () => q.events({ from: 5 as never }).next(),
      'events({ signal: "x" })': () => q.events({ signal: 'x' as never }).next(),
      'verify("x")': () => q.verify('x' as never),
      'rebuild({ onProgress: 5 })': () => q.rebuild({ onProgress: 5 as never }),
      'deleteByReference("x")': () => q.deleteByReference('x' as never),
      'deleteByReference({ a: {} })': () => q.deleteByReference({ a: {} } as never),
      'compact("x")': () => q.compact('x' as never),
      'compact({ dryRun: "yes" })': () => q.compact({ dryRun: 'yes' as never }),
      'new Worker("q", handler)': () => new Worker('q' as never, handler),
      'new Worker(q, "h")': () => new Worker(q, 'h' as never),
      'new Worker(q, { t: 5 })': () => new Worker(q, { t: 5 } as never),
      'new Worker(q, handler, "x")': () => new Worker(q, handler, 'x' as never),
      'new Worker(q, handler, { concurrency: "x" })': () => new Worker(q, handler, { concurrency: 'x' as never }),
      'new Worker(q, handler, { queues: "abc" })': () => new Worker(q, handler, { queues: 'abc' as never }),
      'new Worker(q, handler, { timeouts: "x" })': () => new Worker(q, handler, { timeouts: 'x' as never }),
      'new Worker(q, handler, { retry: "x" })': () => new Worker(q, handler, { retry: 'x' as never }),
      'worker.close("x")': () => w.close('x' as never),
      'worker.close({ timeoutMs: "x" })': () => w.close({ timeoutMs: 'x' as never }),
      'new Scheduler("x")': () => new Scheduler('x' as never),
      'new Scheduler({ leaseMs: "x" })': () => new Scheduler({ connection: r.url, leaseMs: 'x' as never }),
      'schedule("x")': () => s.schedule('x' as never),
      'schedule({ cronSchedule: 5 })': () => s.schedule({ queue: 'q', type: 't', cronSchedule: 5 as never }),
      'schedule({ catchUp: 5 })': () =>
        s.schedule({ queue: 'q', type: 't', cronSchedule: '* * * * *', catchUp: 5 as never }),
      'ensureSchedule("x")': () => s.ensureSchedule('x' as never),
      'unschedule(5)': () => s.unschedule(5 as never),
      'unschedule({ type: 5 })': () => s.unschedule({ queue: 'q', type: 5 as never }),
      'scheduleId(1, 2, 3)': () => scheduleId(1 as never, 2 as never, 3 as never),
      'nextRun(42, 7, "x")': () => nextRun(42 as never, 7 as never, 'x' as never),
      'nextRun(cron, "UTC", "x")': () => nextRun('* * * * *', 'UTC', 'x' as never),
      'validateCron(42)': () => validateCron(42 as never),
      'validateTimezone(42)': () => validateTimezone(42 as never),
      'defineTask(42, schema)': () => defineTask(42 as never, schema),
      'defineTask("t", 42)': () => defineTask('t', 42 as never),
      'defineTask("t", schema, "x")': () => defineTask('t', schema, 'x' as never),
      'backoffDelay("x", 1)': () => backoffDelay('x' as never, 1),
      'backoffDelay(null, "x")': () => backoffDelay(null, 'x' as never),
      'foldEvent(null, 42)': () => foldEvent(null, 42 as never),
      'foldAll("abc")': () => foldAll('abc' as never),
      'foldAll(42)': () => foldAll(42 as never),
      'new FileArchive(42)': () => new FileArchive(42 as never),
      'new FileArchive(dir, "x")': () => new FileArchive('/tmp', 'x' as never),
      'new S3Archive("x")': () => new S3Archive('x' as never),
      'new S3Archive({ client: 5 })': () => new S3Archive({ client: 5 as never, bucket: 'b' }),
      // The taskledger/metrics subpath.
      'setupTaskQueueMetrics(42)': () => metrics.setupTaskQueueMetrics(42 as never),
      'setupTaskQueueMetrics("p", "x")': () => metrics.setupTaskQueueMetrics('p', 'x' as never),
      'setupSchedulerMetrics("p", 42)': () => metrics.setupSchedulerMetrics('p', 42 as never),
      'queuerWithMetrics("x")': () => metrics.queuerWithMetrics('x' as never),
      'dequeuerWithMetrics(42)': () => metrics.dequeuerWithMetrics(42 as never),
      'workerWithMetrics("x")': () => metrics.workerWithMetrics('x' as never),
      'workerWithMetrics(worker, 42)': () => metrics.workerWithMetrics(w, 42 as never),
      'schedulerWithMetrics("x")': () => metrics.schedulerWithMetrics('x' as never),
      'queueStateMetrics("x")': () => metrics.queueStateMetrics('x' as never),
      'metricsHandler("x")': () => metrics.metricsHandler('x' as never),
    };
    for (const [what, call] of Object.entries(calls)) {
      const err = await errorOf(call).catch((e: unknown) => {
        throw new Error(`${what}: ${(e as Error).message}`);
      });
      expect(err, what).toBeInstanceOf(TaskLedgerError);
      expect(err, what).toBeInstanceOf(ValidationError);
      // A clear message: not a JavaScript engine's complaint about the wrong type.
      expect((err as Error).message, what).not.toMatch(/is not a function|Cannot read|undefined|is not iterable/);
    }
    expect(await namespaceKeys(r.raw(), q.namespace)).toEqual(before);
    expect((await q.get(id))?.status).toBe('waiting');
  });
});
