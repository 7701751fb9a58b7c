import { describe, expect, it } from 'vitest';
import {
  FORMAT_VERSION,
  MAX_ERROR_TEXT,
  UnrecoverableError,
  Worker,
  type Task,
  type TaskHandler,
} from '../src/index.js';
import { until, useRedis } from './helpers/fixture.js';
import { runCli } from './helpers/cli.js';

/** A task's result, its progress and its error are three things: none stands in for another. */
const r = useRedis();

const settled = (q: ReturnType<typeof r.queue>, id: string) =>
  until(async () => ['finished', 'failed'].includes((await q.get(id))?.status ?? ''));

async function runOne(q: ReturnType<typeof r.queue>, handler: TaskHandler, request = {}) {
  const id = await q.enqueue({ queue: 'q', type: 't', ...request });
  const w = new Worker(q, handler, { queues: ['q'] }).start();
  await settled(q, id);
  await w.close();
  return (await q.get(id))!;
}

describe('results and errors', () => {
  it('a handler that returns { error } finished: the value is its result, not an error', async () => {
    const q = r.queue();
    const task = await runOne(q, async (_t, ctx) => {
      await ctx.progress({ pct: 90 });
      return { error: 'none found' };
    });
    expect(task).toMatchObject({
      status: 'finished',
      result: { error: 'none found' },
      progress: { pct: 90 },
      error: null,
    });
    expect((await q.history(task.id)).at(-1)!.data).toMatchObject({ result: { error: 'none found' } });
    expect((await q.verify()).mismatches).toEqual([]);
  });

  it('a failed attempt keeps its message, code and stack apart from the progress', async () => {
    const q = r.queue();
    const task = await runOne(q, async (_t, ctx) => {
      await ctx.progress({ step: 2 });
      throw new UnrecoverableError('bad input');
    });
    expect(task.status).toBe('failed');
    expect(task.progress).toEqual({ step: 2 });
    expect(task.result).toBeNull();
    expect(task.error).toMatchObject({ message: 'bad input', code: 'ERR_UNRECOVERABLE' });
    expect(task.error?.stack).toMatch(/UnrecoverableError: bad input\n\s+at /);
  });

  it('an error of any size is cut to its bounds, never refused, and never between a surrogate pair', async () => {
    const q = r.queue();
    const huge = new Error('x'.repeat(MAX_ERROR_TEXT.message - 2) + '😀'.repeat(10));
    huge.stack = 'y'.repeat(1_000_000);
    (huge as Error & { code: string }).code = 'c'.repeat(10_000);
    const task = await runOne(q, () => Promise.reject(huge));
    expect(task.status).toBe('failed');
    expect(task.error!.message).toHaveLength(MAX_ERROR_TEXT.message - 1);
    expect(task.error!.message.endsWith('x…')).toBe(true);
    expect(task.error!.message.isWellFormed()).toBe(true);
    expect(task.error!.code).toHaveLength(MAX_ERROR_TEXT.code);
    expect(task.error!.stack).toHaveLength(MAX_ERROR_TEXT.stack);
    expect((await q.history(task.id)).at(-1)!.data.failure).toEqual(task.error);
  });

  it("keeps every attempt's error in the history; the task shows the last; retry() clears it", async () => {
    const q = r.queue();
    const task = await runOne(
      q,
      async (t) => {
        throw new Error(`boom ${t.attempt}`);
      },
      { maxAttempts: 2, backoff: { delayMs: 1, jitter: 0 } },
    );
    expect(task.error?.message).toBe('boom 2');
    const failures = (await q.history(task.id)).flatMap((e) => (e.data.failure ? [e.data.failure] : []));
    expect(failures).toMatchObject([{ message: 'boom 1' }, { message: 'boom 2' }]);

    expect(await q.retry(task.id)).toBe(true);
    expect(await q.get(task.id)).toMatchObject({ status: 'waiting', error: null });
    expect((await q.history(task.id)).filter((e) => e.data.failure)).toHaveLength(2);
    // The fold in TypeScript drops it on the same event as the Lua one did.
    expect((await q.verify()).mismatches).toEqual([]);
  });

  it('finish() and fail() take the result and the error as options; progress stays the second argument', async () => {
    const q = r.queue();
    const [a, b] = await q.enqueueMany([
      { queue: 'q', type: 't' },
      { queue: 'q', type: 't' },
    ]);
    await q.dequeue(['q']);
    await q.dequeue(['q']);
    await q.finish(a!, { pct: 100 }, { result: [1, 2] });
    await q.fail(b!, undefined, { error: { message: 'quota', code: 'E_QUOTA' } });
    expect(await q.get(a!)).toMatchObject({ progress: { pct: 100 }, result: [1, 2], error: null });
    expect(await q.get(b!)).toMatchObject({
      progress: null,
      result: null,
      error: { message: 'quota', code: 'E_QUOTA' },
    });
    await expect(q.fail(b!, undefined, { error: 42 as never })).rejects.toMatchObject({ code: 'ERR_VALIDATION' });
    await expect(q.finish(a!, undefined, { result: NaN })).rejects.toMatchObject({ code: 'ERR_VALIDATION' });
    expect((await q.verify()).mismatches).toEqual([]);
  });

  it('the handler of a retried attempt sees why the last one failed', async () => {
    const q = r.queue();
    const seen: (Task['error'] | undefined)[] = [];
    await runOne(
      q,
      async (t) => {
        seen.push(t.error);
        if (t.attempt === 1) throw new Error('first');
        return 'ok';
      },
      { maxAttempts: 2, backoff: { delayMs: 1, jitter: 0 } },
    );
    expect(seen).toMatchObject([null, { message: 'first' }]);
  });

  it(`opens a namespace of format 2 as format ${FORMAT_VERSION}`, async () => {
    const q1 = r.queue();
    const id = await q1.enqueue({ queue: 'q', type: 't' });
    await q1.dequeue(['q']);
    await q1.finish(id, { out: 1 }); // as format 2 wrote it: the value in progress
    const raw = r.raw();
    await raw.hset(`{${q1.namespace}}:meta`, 'format', '2');
    const q2 = r.queue({ namespace: q1.namespace });
    expect(await q2.get(id)).toMatchObject({ progress: { out: 1 }, result: null, error: null });
    expect(await raw.hget(`{${q1.namespace}}:meta`, 'format')).toBe(String(FORMAT_VERSION));
    expect((await q2.verify()).mismatches).toEqual([]);
  });

  it('CLI show: the result and error, and "2/4" only for a task with retries', async () => {
    const q = r.queue();
    const retrying = await runOne(
      q,
      async (t) => {
        if (t.attempt === 1) throw new Error('flaky upstream');
        return { sent: true };
      },
      { maxAttempts: 4, backoff: { delayMs: 1, jitter: 0 } },
    );
    const plain = await runOne(q, async () => {
      throw new Error('disk full');
    });
    const show = async (id: string) => (await runCli(r.url, ['--namespace', q.namespace, 'show', id])).stdout;
    const first = await show(retrying.id);
    expect(first).toMatch(/finished {2}queue q {2}type t {2}attempt 2\/4\n/);
    expect(first).toMatch(/\nresult {6}\{"sent":true\}\n/);
    expect(first).toMatch(/\nerror {7}flaky upstream\n/);
    expect(first).toMatch(/retrying\s+1\s+flaky upstream/);
    const second = await show(plain.id);
    expect(second).toMatch(/failed {2}queue q {2}type t {2}attempt 1 \(stalls capped at 3 starts\)\n/);
    expect(second).toMatch(/\nerror {7}disk full\n/);
    expect(second).not.toMatch(/\nresult /);
    expect(second).toMatch(/failed\s+1\s+disk full/);
  });
});
