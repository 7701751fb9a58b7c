import { describe, expect, it } from 'vitest';
import { RateLimitedError, ValidationError, Worker, type HeldBack } from '../src/index.js';
import { scriptCalls, sleep, until, useRedis } from './helpers/fixture.js';

const r = useRedis();

describe('queue options: setQueueOptions, pause, resume, getQueueOptions', () => {
  it('starts with no controls; each change is merged and logged as a queue-options event', async () => {
    const q = r.queue();
    expect(await q.getQueueOptions('mail')).toMatchObject({
      paused: false,
      concurrency: null,
      rateLimit: null,
      agingMs: null,
      running: 0,
    });
    expect(await q.setQueueOptions('mail', { concurrency: 2 })).toEqual({
      paused: false,
      concurrency: 2,
      rateLimit: null,
      agingMs: null,
    });
    const after = await q.setQueueOptions('mail', { rateLimit: { max: 5, perMs: 1000 } });
    expect(after).toMatchObject({ concurrency: 2, rateLimit: { max: 5, perMs: 1000 } });
    expect(await q.pause('mail')).toBe(true);
    expect(await q.pause('mail')).toBe(false);
    expect((await q.getQueueOptions('mail')).paused).toBe(true);
    expect(await q.resume('mail')).toBe(true);
    expect(await q.resume('mail')).toBe(false);
    expect(await q.setQueueOptions('mail', { concurrency: null })).toMatchObject({ concurrency: null });
    // Nothing changed: no event.
    await q.setQueueOptions('mail', { concurrency: null });
    const logged = [];
    for await (const e of q.events()) if (e.type === 'queue-options') logged.push(e);
    expect(logged.map((e) => e.data.action)).toEqual(['set', 'set', 'pause', 'resume', 'set']);
    expect(logged[2]!.data).toMatchObject({
      queue: 'mail',
      options: { paused: true, concurrency: 2, rateLimit: { max: 5, perMs: 1000 }, agingMs: null },
    });
    expect(logged[0]!.data.by as string).toMatch(/:\d+$/);
  });

  it.each([
    [{ concurrency: 0 }, /concurrency/],
    [{ concurrency: 1.5 }, /concurrency/],
    [{ concurrency: '3' }, /concurrency/],
    [{ rateLimit: { max: 5, perMs: 0 } }, /rateLimit.perMs/],
    [{ rateLimit: { max: 5, perMs: -1000 } }, /rateLimit.perMs/],
    [{ rateLimit: { max: 0, perMs: 1000 } }, /rateLimit.max/],
    [{ rateLimit: { max: 5 } }, /rateLimit.perMs/],
    [{ rateLimit: { max: 5, perMs: 10, burst: 1 } }, /unknown key "burst"/],
    [{ agingMs: 0 }, /agingMs/],
    [{ concurency: 2 }, /unknown key "concurency"/],
  ])('refuses %j, naming the field, and stores nothing', async (change, message) => {
    const q = r.queue();
    await expect(q.setQueueOptions('mail', change as never)).rejects.toThrow(ValidationError);
    await expect(q.setQueueOptions('mail', change as never)).rejects.toThrow(message);
    expect(await r.raw().exists(`{${q.namespace}}:controls`, `{${q.namespace}}:events`)).toBe(0);
  });

  it('refuses a blank queue name for every control', async () => {
    const q = r.queue();
    await expect(q.setQueueOptions(' ', { concurrency: 1 })).rejects.toThrow(/queue must not be blank/);
    await expect(q.pause('')).rejects.toThrow(ValidationError);
    await expect(q.resume('')).rejects.toThrow(ValidationError);
    await expect(q.getQueueOptions('')).rejects.toThrow(ValidationError);
    expect(await r.raw().exists(`{${q.namespace}}:controls`, `{${q.namespace}}:events`)).toBe(0);
  });
});

describe('pause', () => {
  it('a paused queue starts nothing, enqueue still works, and resume lets it run', async () => {
    const q = r.queue();
    await q.pause('p');
    const id = await q.enqueue({ queue: 'p', type: 't' });
    const other = await q.enqueue({ queue: 'other', type: 't' });
    // Only the queue not paused gives a task.
    const t = await q.dequeue(['p', 'other'], { signal: AbortSignal.timeout(300) });
    expect(t.id).toBe(other);
    await expect(q.dequeue(['p'], { signal: AbortSignal.timeout(300) })).rejects.toThrow();
    expect((await q.get(id))!.status).toBe('waiting');
    const waiting = q.dequeue(['p'], { signal: AbortSignal.timeout(5000) });
    await q.resume('p');
    expect((await waiting).id).toBe(id);
  });

  it('tasks running when the queue pauses finish normally', async () => {
    const q = r.queue();
    const id = await q.enqueue({ queue: 'p', type: 't' });
    const t = await q.dequeue(['p']);
    await q.pause('p');
    await q.finish(t.id);
    expect((await q.get(id))!.status).toBe('finished');
  });
});

describe('concurrency cap', () => {
  it('counts running tasks per queue and refuses a start past the cap until one ends', async () => {
    const q = r.queue();
    await q.setQueueOptions('c', { concurrency: 2 });
    await q.enqueueMany(Array.from({ length: 4 }, () => ({ queue: 'c', type: 't' })));
    const a = await q.dequeue(['c']);
    const b = await q.dequeue(['c']);
    expect((await q.getQueueOptions('c')).running).toBe(2);
    await expect(q.dequeue(['c'], { signal: AbortSignal.timeout(300) })).rejects.toThrow();
    const third = q.dequeue(['c'], { signal: AbortSignal.timeout(5000) });
    await q.finish(a.id);
    const c = await third;
    expect(c.id).not.toBe(b.id);
    expect((await q.getQueueOptions('c')).running).toBe(2);
  });
});

describe('rate limit', () => {
  it('allows at most max starts in a window, then the next when the window frees one', async () => {
    const q = r.queue();
    await q.setQueueOptions('r', { rateLimit: { max: 3, perMs: 600 } });
    await q.enqueueMany(Array.from({ length: 4 }, () => ({ queue: 'r', type: 't' })));
    const started: number[] = [];
    for (let i = 0; i < 4; i++) {
      const t = await q.dequeue(['r'], { signal: AbortSignal.timeout(3000) });
      started.push(t.startedAt!.getTime());
      await q.finish(t.id);
    }
    // The fourth had to wait for the first to leave the 600 ms window.
    expect(started[3]! - started[0]!).toBeGreaterThanOrEqual(600);
  });
});

describe('the held event', () => {
  it('names each queue a claim found held back, why, and how many ready tasks wait on it', async () => {
    const q = r.queue();
    const seen: HeldBack[] = [];
    q.on('held', (held) => seen.push(...held));
    await q.pause('h');
    await q.setQueueOptions('c', { concurrency: 1 });
    await q.enqueueMany([
      ...Array.from({ length: 3 }, () => ({ queue: 'h', type: 't' })),
      ...Array.from({ length: 2 }, () => ({ queue: 'c', type: 't' })),
    ]);
    const running = await q.dequeue(['c']);
    await expect(q.dequeue(['h', 'c'], { signal: AbortSignal.timeout(300) })).rejects.toThrow();
    expect(seen).toContainEqual({ queue: 'h', reason: 'paused', waiting: 3 });
    expect(seen).toContainEqual({ queue: 'c', reason: 'concurrency', waiting: 1 });
    await q.finish(running.id);
  });
});

describe('workers at a cap', () => {
  it('do not spin: they wait, and a finish wakes them', async () => {
    const q = r.queue();
    await q.setQueueOptions('slow', { concurrency: 1 });
    await q.enqueueMany([
      { queue: 'slow', type: 't' },
      { queue: 'slow', type: 't' },
    ]);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((res) => (release = res));
    const done: number[] = [];
    const handler = async () => {
      await gate;
      done.push(Date.now());
    };
    const workers = [
      new Worker(q, handler, { queues: ['slow'], concurrency: 8 }),
      new Worker(q, handler, { queues: ['slow'], concurrency: 8 }),
    ];
    for (const w of workers) w.start();
    await until(async () => (await q.getQueueOptions('slow')).running === 1);
    const before = await scriptCalls(r.raw());
    await sleep(1000);
    // Sixteen idle slots polling a full queue would make thousands of calls a second.
    expect((await scriptCalls(r.raw())) - before).toBeLessThan(30);
    release();
    await until(() => done.length === 2);
    await Promise.all(workers.map((w) => w.close()));
  });
});

describe('pause under load', () => {
  it('no task of the queue starts after the pause event, and after resume every task runs', async () => {
    const q = r.queue();
    await q.enqueueMany(Array.from({ length: 300 }, () => ({ queue: 'busy', type: 't' })));
    let done = 0;
    const worker = new Worker(
      q,
      async () => {
        await sleep(Math.random() * 3);
        done++;
      },
      { queues: ['busy'], concurrency: 16 },
    );
    worker.start();
    await until(() => done >= 50);
    await q.pause('busy');
    const doneAtPause = done;
    await sleep(300);
    // Running tasks finished; nothing new started.
    expect(done - doneAtPause).toBeLessThanOrEqual(16);
    const log = [];
    for await (const e of q.events()) log.push(e);
    const pausedAt = log.findIndex((e) => e.type === 'queue-options' && e.data.action === 'pause');
    expect(pausedAt).toBeGreaterThan(0);
    expect(log.slice(pausedAt).filter((e) => e.type === 'started')).toEqual([]);
    await q.resume('busy');
    await until(() => done === 300, 10_000);
    await worker.close();
    expect((await q.verify()).mismatches).toEqual([]);
  });
});

describe('RateLimitedError', () => {
  it('puts the task back without using up an attempt and holds the whole queue for delayMs', async () => {
    const q = r.queue();
    const [first, second] = await q.enqueueMany([
      { queue: 'api', type: 't', maxAttempts: 1 },
      { queue: 'api', type: 't' },
    ]);
    const starts: { id: string; attempt: number; at: number }[] = [];
    let limited = false;
    const limitedAt: number[] = [];
    const worker = new Worker(
      q,
      async (task) => {
        starts.push({ id: task.id, attempt: task.attempt, at: Date.now() });
        if (!limited) {
          limited = true;
          throw new RateLimitedError(400);
        }
      },
      { queues: ['api'], concurrency: 1 },
    );
    worker.on('task:rate-limited', (_task, ms) => limitedAt.push(ms));
    worker.start();
    await until(
      async () => (await q.get(first!))!.status === 'finished' && (await q.get(second!))!.status === 'finished',
    );
    await worker.close();
    expect(limitedAt).toEqual([400]);
    // The first start was given back: its retry is attempt 1 again, and maxAttempts 1 was not used up.
    expect(starts.filter((s) => s.id === first).map((s) => s.attempt)).toEqual([1, 1]);
    // Nothing of the queue started during the hold.
    expect(starts[1]!.at - starts[0]!.at).toBeGreaterThanOrEqual(390);
    const reasons = (await q.history(first!)).filter((e) => e.type === 'requeued').map((e) => e.data.reason);
    expect(reasons).toEqual(['rate-limited']);
    expect((await q.verify()).mismatches).toEqual([]);
  });

  it('refuses a bad delay when thrown', () => {
    expect(() => new RateLimitedError(-1)).toThrow(ValidationError);
    expect(() => new RateLimitedError(1.5)).toThrow(ValidationError);
  });
});
