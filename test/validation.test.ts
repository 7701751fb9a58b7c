import { describe, expect, it } from 'vitest';
import {
  QueueNotSpecifiedError,
  TaskQueue,
  TypeNotSpecifiedError,
  ValidationError,
  RedisUnavailableError,
  FormatVersionError,
  TaskNotFoundError,
  type EnqueueRequest,
  type JsonValue,
} from '../src/index.js';
import { namespaceKeys, useRedis } from './helpers/fixture.js';
import { FORMAT_VERSION } from '../src/redis/connection.js';
import { endedMember } from '../src/projections/ended-index.js';
import { freePort, namespace, startRedis } from './helpers/redis.js';

const r = useRedis();

/** Runs the call, expects the error class and a message matching `message`, then checks nothing was stored. */
async function rejectsAndStoresNothing(
  q: TaskQueue,
  call: () => Promise<unknown>,
  cls: new (...a: never[]) => Error,
  message?: RegExp,
) {
  const before = await namespaceKeys(r.raw(), q.namespace);
  const err = await call().then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(cls);
  if (message) expect((err as Error).message).toMatch(message);
  const after = await namespaceKeys(r.raw(), q.namespace);
  expect(after).toEqual(before);
  expect(await r.raw().xlen(`{${q.namespace}}:events`)).toBe(0);
}

describe('enqueue validation', () => {
  it('reports a blank queue first, then a blank type', async () => {
    const q = r.queue();
    await q.get('warm-up-id'); // creates the meta key, so "nothing stored" compares like with like
    await rejectsAndStoresNothing(q, () => q.enqueue({ queue: '', type: '' }), QueueNotSpecifiedError);
    await rejectsAndStoresNothing(q, () => q.enqueue({ queue: '   ', type: 't' }), QueueNotSpecifiedError);
    await rejectsAndStoresNothing(q, () => q.enqueue({ queue: 'q', type: '' }), TypeNotSpecifiedError);
    await rejectsAndStoresNothing(q, () => q.enqueue({ queue: 'q' } as EnqueueRequest), TypeNotSpecifiedError);
    expect(new QueueNotSpecifiedError().code).toBe('ERR_QUEUE_NOT_SPECIFIED');
    expect(new TypeNotSpecifiedError().code).toBe('ERR_TYPE_NOT_SPECIFIED');
  });

  it('refuses specs JSON cannot hold, naming the path', async () => {
    const q = r.queue();
    await q.get('warm-up-id');
    const circular: Record<string, unknown> = { a: 1 };
    circular.self = circular;
    const cases: [unknown, RegExp][] = [
      [{ n: 10n }, /spec\.n is a bigint/],
      [circular, /spec\.self is circular/],
      [{ f: () => 1 }, /spec\.f is a function/],
      [{ list: [1, undefined] }, /spec\.list\[1\] is undefined/],
      [{ when: new Date() }, /spec\.when is a Date/],
      [{ x: Number.NaN }, /spec\.x is NaN/],
      [{ x: Infinity }, /spec\.x is Infinity/],
      [new Map(), /spec is a Map/],
      // Siblings checked before leave no trace in the path.
      [{ a: [1, { b: 2 }], c: { d: [true, { e: Symbol('s') }] } }, /spec\.c\.d\[1\]\.e is a symbol/],
    ];
    for (const [spec, message] of cases) {
      await rejectsAndStoresNothing(
        q,
        () => q.enqueue({ queue: 'q', type: 't', spec: spec as never }),
        ValidationError,
        message,
      );
    }
  });

  it('refuses long names, control characters and references that are not flat', async () => {
    const q = r.queue();
    await q.get('warm-up-id');
    await rejectsAndStoresNothing(
      q,
      () => q.enqueue({ queue: 'q'.repeat(257), type: 't' }),
      ValidationError,
      /queue is longer than 256/,
    );
    await rejectsAndStoresNothing(
      q,
      () => q.enqueue({ queue: 'q', type: 'a\nb' }),
      ValidationError,
      /type holds a control or bidi character/,
    );
    await rejectsAndStoresNothing(
      q,
      () => q.enqueue({ queue: 'q', type: 't', references: { nested: { a: 1 } } as never }),
      ValidationError,
      /references\.nested: must be a string, a number or a boolean/,
    );
    await rejectsAndStoresNothing(
      q,
      () => q.enqueue({ queue: 'q', type: 't', references: [1] as never }),
      ValidationError,
      /references/,
    );
    await rejectsAndStoresNothing(
      q,
      () => q.enqueue({ queue: 'q', type: 't', maxAttempts: 0 }),
      ValidationError,
      /maxAttempts must be at least 1/,
    );
  });

  it('stores nothing of a batch when one request is bad', async () => {
    const q = r.queue();
    await q.get('warm-up-id');
    await rejectsAndStoresNothing(
      q,
      () =>
        q.enqueueMany([
          { queue: 'q', type: 't' },
          { queue: 'q', type: 't', spec: { bad: 1n } as never },
        ]),
      ValidationError,
      /request 1: spec\.bad is a bigint/,
    );
  });

  it('accepts every JSON value and round-trips it exactly', async () => {
    const q = r.queue();
    const specs: JsonValue[] = [
      null,
      0,
      -1.5,
      1e300,
      'text ✓',
      true,
      [],
      {},
      { a: [1, { b: null }], ü: '\u0001' },
      [[[]]],
    ];
    for (const spec of specs) {
      const id = await q.enqueue({ queue: 'q', type: 't', spec, references: { n: 5, s: 'x', b: false } });
      const task = await q.get(id);
      expect(task?.spec).toEqual(spec);
      expect(task?.references).toEqual({ n: 5, s: 'x', b: false });
    }
  });

  it('round-trips every JSON value through the start reply (a JSON text made in Lua) as get() reads it', async () => {
    const q = r.queue();
    // Quotes, backslashes, slashes, control characters, characters outside the BMP and Lua patterns' specials.
    const text = 'q"uo\\te/ \n\t\u0000\u001f ✓ 😀 %d [^] ü';
    // Reference values are parts of keys: no control characters there.
    // eslint-disable-next-line no-control-regex -- removing the control characters is the point
    const keyText = text.replace(/[\u0000-\u001f]/g, '');
    const specs: JsonValue[] = [
      null,
      0,
      -1.5,
      1e300,
      text,
      true,
      [],
      {},
      { [text]: [1, { b: null }], ü: '\u0001' },
      [[[]]],
    ];
    for (const spec of specs) {
      const id = await q.enqueue({
        queue: `q ${text.slice(0, 3)}`,
        type: '😀',
        spec,
        references: { n: 5, s: keyText, b: false },
        backoff: { delayMs: 1 },
      });
      const first = await q.dequeue([`q ${text.slice(0, 3)}`]);
      // Fails with progress, so the next start's reply also carries progress and backoff.
      await q.retryLater(id, { delayMs: 0, error: text, progress: { note: text } });
      const second = await q.dequeue([`q ${text.slice(0, 3)}`]);
      expect(first.spec).toEqual(spec);
      expect(second).toEqual(await q.get(id));
      expect(second.references).toEqual({ n: 5, s: keyText, b: false });
      expect(second.progress).toEqual({ note: text });
      expect(second.attempt).toBe(2);
      await q.finish(id);
    }
  });

  it('stores each task of a batch mixing queues and options exactly as it stores that task enqueued alone', async () => {
    const q = r.queue();
    const runAt = Date.now() + 60_000;
    const requests: EnqueueRequest[] = [
      { queue: 'a', type: 't', spec: 1 },
      { queue: 'b', type: 'u', spec: 2, references: { user: 7, tag: 'x' } },
      { queue: 'a', type: 't', spec: 3, delayMs: 30_000, timeoutMs: 500 },
      { queue: 'c', type: 't', spec: 4, runAt, backoff: { delayMs: 10 }, maxAttempts: 5, references: { user: 7 } },
      { queue: 'b', type: 'u', spec: 5, references: {} },
    ];
    const batch = await q.enqueueMany(requests);
    const alone = [];
    for (const request of requests) alone.push(await q.enqueue(request));
    // Ids and times differ; everything else must not (delays from the Redis clock: compare their presence).
    const comparable = async (id: string) => {
      const { id: _id, createdAt: _c, updatedAt: _u, runAt: due, ...rest } = (await q.get(id))!;
      return { ...rest, delayed: due !== null };
    };
    for (let i = 0; i < requests.length; i++) {
      const { queue, type, spec, references = {}, maxAttempts = 3, timeoutMs = null, backoff } = requests[i]!;
      expect(await q.get(batch[i]!), `request ${i}`).toMatchObject({
        queue,
        type,
        spec,
        references,
        maxAttempts,
        timeoutMs,
        backoff: backoff ?? null,
      });
      expect(await comparable(batch[i]!), `request ${i}`).toEqual(await comparable(alone[i]!));
    }
    expect((await q.get(batch[3]!))?.runAt?.getTime()).toBe(runAt);
    expect(await r.raw().scard(`{${q.namespace}}:ref:user=7`)).toBe(4);
    const stats = await q.stats();
    expect(Object.fromEntries(Object.entries(stats.queues).map(([name, s]) => [name, [s.waiting, s.delayed]]))).toEqual(
      { a: [2, 2], b: [4, 0], c: [0, 2] },
    );
  });

  it('refuses bad task ids and unknown ids with clear errors', async () => {
    const q = r.queue();
    await expect(q.heartbeat('')).rejects.toBeInstanceOf(ValidationError);
    await expect(q.finish('nope')).rejects.toBeInstanceOf(TaskNotFoundError);
    await expect(q.cancel('nope')).rejects.toBeInstanceOf(TaskNotFoundError);
    expect(await q.get('nope')).toBeNull();
    expect(await q.history('nope')).toEqual([]);
  });

  it('refuses a bad namespace and bad options at construction', () => {
    expect(() => new TaskQueue({ namespace: 'a b' })).toThrow(ValidationError);
    expect(() => new TaskQueue({ namespace: '' })).toThrow(ValidationError);
    expect(() => new TaskQueue({ connection: r.url, heartbeatTtlMs: 5 })).toThrow(
      /heartbeatTtlMs must be an integer from 100 to 2147483647 ms/,
    );
  });
});

describe('connection and format', () => {
  it('reports an unreachable Redis within the connect timeout, not a hang', async () => {
    const port = await freePort();
    const q = new TaskQueue({ connection: `redis://127.0.0.1:${port}`, connectTimeoutMs: 1000, recoveryIntervalMs: 0 });
    const started = Date.now();
    const err = await q.enqueue({ queue: 'q', type: 't' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RedisUnavailableError);
    expect((err as Error).message).toMatch(new RegExp(`127\\.0\\.0\\.1:${port}`));
    expect(Date.now() - started).toBeLessThan(10_000);
    await q.close();
  });

  it('tries again once an unreachable Redis comes up', async () => {
    const port = await freePort();
    const q = new TaskQueue({ connection: `redis://127.0.0.1:${port}`, connectTimeoutMs: 500, recoveryIntervalMs: 0 });
    await expect(q.enqueue({ queue: 'q', type: 't' })).rejects.toBeInstanceOf(RedisUnavailableError);
    const server = await startRedis({ own: true, port });
    try {
      const id = await q.enqueue({ queue: 'q', type: 't' });
      expect((await q.get(id))?.status).toBe('waiting');
    } finally {
      await q.close();
      await server.stop();
    }
  });

  it('refuses a namespace written by a newer format', async () => {
    const ns = namespace();
    // A newer taskledger wrote this namespace before we connect.
    await r.raw().hset(`{${ns}}:meta`, 'format', '999');
    const q1 = r.queue({ namespace: ns });
    const err = await q1.enqueue({ queue: 'q', type: 't' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FormatVersionError);
    expect((err as FormatVersionError).code).toBe('ERR_FORMAT_VERSION');
    expect((err as Error).message).toMatch(/format 999/);
    expect(await r.raw().xlen(`{${q1.namespace}}:events`)).toBe(0);
  });

  it('records the format version on first use', async () => {
    const q = r.queue();
    await q.enqueue({ queue: 'q', type: 't' });
    expect(await r.raw().hget(`{${q.namespace}}:meta`, 'format')).toBe(String(FORMAT_VERSION));
  });

  it('moves a format-1 namespace to format 3: every ended task joins its ended set, by the time it ended', async () => {
    const q1 = r.queue();
    const ns = q1.namespace;
    const ids: Record<string, string> = {};
    for (const how of ['finish', 'fail', 'cancel', 'wait'] as const) {
      const id = await q1.enqueue({ queue: how, type: 't' });
      if (how === 'cancel') await q1.cancel(id);
      if (how === 'finish' || how === 'fail') {
        await q1.dequeue([how]);
        await (how === 'finish' ? q1.finish(id) : q1.fail(id));
      }
      ids[how] = id;
    }
    // As format 1 left it: no ended sets, no ended index.
    const raw = r.raw();
    await raw.del(`{${ns}}:ended-by-queue`);
    await raw.hset(`{${ns}}:meta`, 'format', '1');
    const q2 = r.queue({ namespace: ns });
    expect((await q2.verify()).mismatches).toEqual([]);
    expect(await raw.hget(`{${ns}}:meta`, 'format')).toBe(String(FORMAT_VERSION));
    for (const [how, status] of [
      ['finish', 'finished'],
      ['fail', 'failed'],
      ['cancel', 'cancelled'],
    ] as const) {
      const finishedAt = (await raw.hget(`{${ns}}:task:${ids[how]!}`, 'finishedAt'))!;
      expect(await raw.zscore(`{${ns}}:ended-by-queue`, endedMember(status, how, finishedAt, ids[how]!))).toBe('0');
      // The ended sets of formats 2 to 5 are gone once their tasks are in the index.
      expect(await raw.exists(`{${ns}}:ended:${status}`)).toBe(0);
    }
  });
});

describe('caller-chosen ids', () => {
  it('make a retried enqueue idempotent', async () => {
    const q = r.queue();
    const id = await q.enqueue({ id: 'order-42', queue: 'q', type: 't', spec: { v: 1 } });
    expect(id).toBe('order-42');
    expect(await q.enqueue({ id: 'order-42', queue: 'q', type: 't', spec: { v: 2 } })).toBe('order-42');
    expect((await q.get('order-42'))?.spec).toEqual({ v: 1 });
    expect(await q.history('order-42')).toHaveLength(1);
    expect(await r.raw().xlen(`{${q.namespace}}:ready:q`)).toBe(1);
    await expect(q.enqueue({ id: ' ', queue: 'q', type: 't' })).rejects.toBeInstanceOf(ValidationError);
  });
});
