import { afterEach, describe, expect, it } from 'vitest';
import {
  MAX_REFERENCES,
  PayloadTooLargeError,
  Scheduler,
  TaskQueue,
  ValidationError,
  Worker,
  type EnqueueRequest,
  type Task,
} from '../src/index.js';
import { namespaceKeys, until, useRedis } from './helpers/fixture.js';
import { namespace } from './helpers/redis.js';

const r = useRedis();
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

/** The error the call rejects (or throws) with; fails the test when it resolves. */
async function errorOf(call: () => unknown): Promise<Error> {
  try {
    await call();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the call to fail');
}

/** The call is refused with `cls` and a message matching `message`, and the namespace is as it was. */
async function refused(q: TaskQueue, call: () => unknown, cls: new (...a: never[]) => Error, message: RegExp) {
  await q.get('warm-up'); // the format check writes the namespace's meta key once
  const before = await namespaceKeys(r.raw(), q.namespace);
  const err = await errorOf(call);
  expect(err).toBeInstanceOf(cls);
  expect(err.message).toMatch(message);
  expect(await namespaceKeys(r.raw(), q.namespace)).toEqual(before);
}

describe('maxPayloadBytes', () => {
  it('refuses a spec over the limit before sending it, naming its size and the limit', async () => {
    const q = r.queue({ maxPayloadBytes: 1000 });
    expect(q.maxPayloadBytes).toBe(1000);
    await refused(
      q,
      () => q.enqueue({ queue: 'q', type: 't', spec: 'x'.repeat(1000) }),
      PayloadTooLargeError,
      /spec is 1002 bytes of JSON, more than maxPayloadBytes \(1000\)/,
    );
    // Counted in UTF-8: 400 emoji are 802 UTF-16 units but 1602 bytes.
    const err = await errorOf(() => q.enqueue({ queue: 'q', type: 't', spec: '😀'.repeat(400) }));
    expect(err).toBeInstanceOf(ValidationError);
    expect(err).toHaveProperty('code', 'ERR_PAYLOAD_TOO_LARGE');
    expect(err.message).toMatch(/1602 bytes/);
    // A batch with one payload too large stores nothing.
    await refused(
      q,
      () =>
        q.enqueueMany([
          { queue: 'q', type: 't', spec: 'ok' },
          { queue: 'q', type: 't', spec: { large: 'x'.repeat(2000) } },
        ]),
      PayloadTooLargeError,
      /request 1: spec is/,
    );
    // At the limit is fine.
    await q.enqueue({ queue: 'q', type: 't', spec: 'x'.repeat(998) });
  });

  it('defaults to 1 MiB and refuses a bad limit at construction', async () => {
    const q = r.queue();
    expect(q.maxPayloadBytes).toBe(1024 * 1024);
    await refused(
      q,
      () => q.enqueue({ queue: 'q', type: 't', spec: 'x'.repeat(1024 * 1024) }),
      PayloadTooLargeError,
      /1048578 bytes/,
    );
    for (const bad of [0, -1, 1.5, 'lots', 1e12])
      expect(() => new TaskQueue({ connection: r.url, maxPayloadBytes: bad as number })).toThrow(/maxPayloadBytes/);
  });

  it('applies to progress and final progress of heartbeat, finish, fail and retryLater', async () => {
    const q = r.queue({ maxPayloadBytes: 100 });
    const id = await q.enqueue({ queue: 'q', type: 't' });
    await q.dequeue(['q']);
    const big = { note: 'x'.repeat(200) };
    const log = await r.raw().xlen(`{${q.namespace}}:events`);
    for (const call of [
      () => q.heartbeat(id, big),
      () => q.finish(id, big),
      () => q.fail(id, big),
      () => q.retryLater(id, { delayMs: 0, error: 'e', progress: big }),
    ])
      await refused(
        q,
        call,
        PayloadTooLargeError,
        /progress is 2\d\d bytes of JSON, more than maxPayloadBytes \(100\)/,
      );
    expect(await r.raw().xlen(`{${q.namespace}}:events`)).toBe(log);
    expect((await q.get(id))?.status).toBe('running');
  });

  it("fails a task whose handler's result is too large, and refuses progress over the limit", async () => {
    const q = r.queue({ maxPayloadBytes: 200 });
    const progressErrors: unknown[] = [];
    const w = new Worker(q, {
      result: async () => ({ huge: 'x'.repeat(500) }),
      progress: async (_task, ctx) => {
        await ctx.progress({ huge: 'y'.repeat(500) }).catch((err: unknown) => progressErrors.push(err));
        return 'done';
      },
    });
    closers.push(() => w.close());
    const failed: [Task, Error][] = [];
    w.on('task:failed', (task, err) => failed.push([task, err]));
    const big = await q.enqueue({ queue: 'q', type: 'result' });
    const small = await q.enqueue({ queue: 'q', type: 'progress' });
    w.start();
    await until(async () => (await q.get(big))?.status === 'failed' && (await q.get(small))?.status === 'finished');
    expect(failed[0]![1]).toBeInstanceOf(PayloadTooLargeError);
    expect(failed[0]![1].message).toMatch(
      /the handler result is 51\d bytes of JSON, more than maxPayloadBytes \(200\)/,
    );
    expect(progressErrors).toHaveLength(1);
    expect(progressErrors[0]).toBeInstanceOf(PayloadTooLargeError);
  });

  it("applies to a schedule's spec", async () => {
    const s = new Scheduler({ connection: r.url, namespace: namespace(), maxPayloadBytes: 100 });
    closers.push(() => s.stop());
    const err = await errorOf(() =>
      s.schedule({ queue: 'q', type: 't', cronSchedule: '* * * * *', spec: 'x'.repeat(200) }),
    );
    expect(err).toBeInstanceOf(PayloadTooLargeError);
    expect(await s.countSchedules()).toBe(0);
  });
});

describe('names, ids and references are well-formed text without control or bidi characters', () => {
  const bad = {
    'a lone low surrogate': 'sur-\uDFFF',
    'a lone high surrogate': '\uD800x',
    'a C0 control': 'a\u0007b',
    'a C1 control': 'a\u0085b',
    'a CSI (C1)': 'a\u009b2Jb',
    'a bidi override': 'a\u202eb',
    'a bidi isolate': 'a\u2066b',
    'a right-to-left mark': 'a\u200fb',
  };

  it('refuses them in ids, so two ids never name one key', async () => {
    const q = r.queue();
    // Redis would store 'sur-\uDFFF' as 'sur-\uFFFD' (U+FFFD): the two ids would collide.
    const other = await q.enqueue({ id: 'sur-\uFFFD', queue: 'q', type: 't', spec: 'other' });
    for (const [what, text] of Object.entries(bad)) {
      await refused(q, () => q.enqueue({ id: text, queue: 'q', type: 't' }), ValidationError, /task id|id/);
      for (const call of [
        () => q.get(text),
        () => q.cancel(text),
        () => q.retry(text),
        () => q.history(text),
        () => q.heartbeat(text),
        () => q.finish(text),
        () => q.fail(text),
        () => q.release(text),
        () => q.retryLater(text, { delayMs: 0, error: 'e' }),
      ]) {
        const err = await errorOf(call);
        expect(err, what).toBeInstanceOf(ValidationError);
        expect(err.message, what).toMatch(/not well-formed Unicode|control or bidi character/);
      }
    }
    expect((await q.get(other))?.spec).toBe('other');
  });

  it('refuses them in queue and type names, reference names and reference values', async () => {
    const q = r.queue();
    for (const [what, text] of Object.entries(bad)) {
      const message = /not well-formed Unicode|control or bidi character/;
      await refused(q, () => q.enqueue({ queue: text, type: 't' }), ValidationError, message);
      await refused(q, () => q.enqueue({ queue: 'q', type: text }), ValidationError, message);
      await refused(
        q,
        () => q.enqueue({ queue: 'q', type: 't', references: { [text]: 1 } }),
        ValidationError,
        /references: the name .*(not well-formed Unicode|control or bidi character)/,
      );
      await refused(q, () => q.enqueue({ queue: 'q', type: 't', references: { a: text } }), ValidationError, message);
      await refused(q, () => q.deleteByReference({ a: text }), ValidationError, message);
      await refused(q, () => q.dequeue([text]), ValidationError, message);
      expect(() => new Worker(q, async () => undefined, { queues: [text] }), what).toThrow(message);
      expect(() => new TaskQueue({ connection: r.url, namespace: text }), what).toThrow(ValidationError);
    }
    // Well-formed text outside the BMP is fine.
    const id = await q.enqueue({ id: 'ok-😀', queue: 'q 😀', type: 'ü', references: { 'ref 😀': 'v 😀' } });
    expect((await q.get(id))?.references).toEqual({ 'ref 😀': 'v 😀' });
  });

  it('refuses them in schedules', async () => {
    const s = new Scheduler({ connection: r.url, namespace: namespace() });
    closers.push(() => s.stop());
    for (const text of Object.values(bad)) {
      await expect(s.schedule({ queue: 'q', type: text, cronSchedule: '* * * * *' })).rejects.toThrow(ValidationError);
      await expect(s.unschedule({ queue: text, type: 't' })).rejects.toThrow(ValidationError);
      await expect(s.ensureSchedule({ queue: 'q', type: text })).rejects.toThrow(ValidationError);
    }
    expect(await s.countSchedules()).toBe(0);
  });
});

describe('requests and options hold only known keys', () => {
  it('refuses an unknown enqueue request key instead of dropping it', async () => {
    const q = r.queue();
    await refused(
      q,
      () => q.enqueue({ queue: 'q', type: 't', delay: 60000 } as unknown as EnqueueRequest),
      ValidationError,
      /delay/,
    );
    await refused(
      q,
      () =>
        q.enqueueMany([{ queue: 'q', type: 't' }, { queue: 'q', type: 't', runat: 1 } as unknown as EnqueueRequest]),
      ValidationError,
      /request 1: .*runat/,
    );
    await refused(
      q,
      () => q.enqueue({ queue: 'q', type: 't', backoff: { delay: 5 } } as unknown as EnqueueRequest),
      ValidationError,
      /delay/,
    );
  });

  it('refuses unknown keys in every options object', async () => {
    const q = r.queue();
    const id = await q.enqueue({ queue: 'q', type: 't' });
    const odd = { nope: 1 } as never;
    expect(() => new TaskQueue({ connection: r.url, conection: 'x' } as never)).toThrow(/unknown key "conection"/);
    expect(() => new Scheduler({ connection: r.url, leaseMS: 5 } as never)).toThrow(/unknown key "leaseMS"/);
    expect(() => new Worker(q, async () => undefined, { concurency: 2 } as never)).toThrow(/unknown key "concurency"/);
    expect(() => new Worker(q, async () => undefined, { retry: { maxAttempts: 2, backof: {} } } as never)).toThrow(
      /unknown key "backof"/,
    );
    for (const call of [
      () => q.dequeue(['q'], odd),
      () => q.heartbeat(id, null, odd),
      () => q.finish(id, null, odd),
      () => q.fail(id, null, odd),
      () => q.release(id, odd),
      () => q.retryLater(id, { delayMs: 0, error: 'e', nope: 1 } as never),
      () => q.verify(odd),
      () => q.rebuild(odd),
      () => q.compact(odd),
      () => q.events(odd).next(),
    ]) {
      const err = await errorOf(call);
      expect(err).toBeInstanceOf(ValidationError);
      expect(err.message).toMatch(/unknown key "nope"/);
    }
    const s = new Scheduler({ connection: r.url, namespace: namespace() });
    closers.push(() => s.stop());
    await expect(
      s.schedule({ queue: 'q', type: 't', cronSchedule: '* * * * *', cron: '* * * * *' } as never),
    ).rejects.toThrow(/unknown key "cron"/);
    await expect(s.unschedule({ queue: 'q', type: 't', refs: {} } as never)).rejects.toThrow(/unknown key "refs"/);
    expect((await q.get(id))?.status).toBe('waiting');
  });
});

describe('runAt and delayMs', () => {
  it('refuses a runAt Redis cannot hold as a due time, or further than ten years', async () => {
    const q = r.queue();
    const year = 365 * 24 * 3600_000;
    for (const runAt of [1e300, -1, 1.5, Date.now() + 11 * year, new Date(Date.now() + 11 * year)])
      await refused(q, () => q.enqueue({ queue: 'q', type: 't', runAt }), ValidationError, /runAt/);
    for (const delayMs of [1e300, 11 * year])
      await refused(q, () => q.enqueue({ queue: 'q', type: 't', delayMs }), ValidationError, /delayMs/);
    const id = await q.enqueue({ queue: 'q', type: 't', runAt: Date.now() + 9 * year });
    expect((await q.get(id))?.runAt?.getTime()).toBeGreaterThan(Date.now() + 8 * year);
  });
});

describe('references per task', () => {
  it(`refuses more than MAX_REFERENCES (${MAX_REFERENCES}) references, before writing any key`, async () => {
    const q = r.queue();
    const refs = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`r${i}`, i]));
    await refused(
      q,
      () => q.enqueue({ queue: 'q', type: 't', references: refs(20_000) }),
      ValidationError,
      new RegExp(`references has 20000 names; at most ${MAX_REFERENCES}`),
    );
    await refused(
      q,
      () => q.enqueue({ queue: 'q', type: 't', references: refs(MAX_REFERENCES + 1) }),
      ValidationError,
      /at most/,
    );
    await refused(q, () => q.deleteByReference(refs(MAX_REFERENCES + 1)), ValidationError, /at most/);
    const id = await q.enqueue({ queue: 'q', type: 't', references: refs(MAX_REFERENCES) });
    expect(Object.keys((await q.get(id))!.references)).toHaveLength(MAX_REFERENCES);
    // A schedule's tasks also carry scheduleId, so a schedule has one fewer.
    const s = new Scheduler({ connection: r.url, namespace: q.namespace });
    closers.push(() => s.stop());
    await expect(
      s.schedule({ queue: 'q', type: 't', cronSchedule: '* * * * *', references: refs(MAX_REFERENCES) }),
    ).rejects.toThrow(/at most 31 references/);
    await s.schedule({ queue: 'q', type: 't', cronSchedule: '* * * * *', references: refs(MAX_REFERENCES - 1) });
  });
});
