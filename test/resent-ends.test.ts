import { describe, expect, it } from 'vitest';
import { Worker, type Task, type TaskQueue, type WorkerQueue } from '../src/index.js';
import { until, useRedis } from './helpers/fixture.js';

/**
 * A finish or fail whose reply was lost is sent again (by the worker, or by ioredis on a reconnect). The
 * same end by the same lease is answered as success, and nothing is written twice; any other end is refused.
 */
const r = useRedis();

async function running(q: TaskQueue, queue = 'q'): Promise<Task> {
  await q.enqueue({ queue, type: 't' });
  return q.dequeue([queue]);
}

/** What the namespace holds of one ended task: its events, its count and its members in the ended index. */
async function written(q: TaskQueue, id: string, status: 'finished' | 'failed') {
  const raw = r.raw();
  const ns = `{${q.namespace}}`;
  return {
    types: (await q.history(id)).map((e) => e.type),
    counted: await raw.hget(`${ns}:counts`, `${status}:q`),
    ended: await raw.zlexcount(`${ns}:ended-by-queue`, `[${status}:`, `(${status};`),
  };
}

describe('an end sent again after its reply was lost', () => {
  it('finish: the same lease is answered OK, and nothing is written twice', async () => {
    const q = r.queue();
    const t = await running(q);
    await q.finish(t.id, { pct: 100 }, { lease: t.lease!, result: 'done' });
    const once = await written(q, t.id, 'finished');
    await q.finish(t.id, { pct: 100 }, { lease: t.lease!, result: 'done' });
    expect(await written(q, t.id, 'finished')).toEqual(once);
    expect(once).toEqual({ types: ['enqueued', 'started', 'finished'], counted: '1', ended: 1 });
    expect((await q.verify()).mismatches).toEqual([]);
  });

  it('fail: the same lease is answered OK, and nothing is written twice', async () => {
    const q = r.queue();
    const t = await running(q);
    await q.fail(t.id, undefined, { lease: t.lease!, error: 'boom' });
    const once = await written(q, t.id, 'failed');
    await q.fail(t.id, undefined, { lease: t.lease!, error: 'boom' });
    expect(await written(q, t.id, 'failed')).toEqual(once);
    expect(once.types).toEqual(['enqueued', 'started', 'failed']);
  });

  it('is refused when the task ended another way, by another lease, by recovery or by an unfenced call', async () => {
    const q = r.queue({ heartbeatTtlMs: 100, maxAttempts: 1 });
    // Failed by its lease: a finish by that lease is not the same end.
    const failed = await running(q);
    await q.fail(failed.id, undefined, { lease: failed.lease! });
    await expect(q.finish(failed.id, undefined, { lease: failed.lease! })).rejects.toMatchObject({
      code: 'ERR_TASK_FAILED',
    });
    // Cancelled while running.
    const cancelled = await running(q);
    await q.cancel(cancelled.id);
    await expect(q.finish(cancelled.id, undefined, { lease: cancelled.lease! })).rejects.toMatchObject({
      code: 'ERR_TASK_CANCELLED',
    });
    // Finished by a call without a lease (as in the Go original): not this holder's end.
    const unfenced = await running(q);
    await r.queue({ namespace: q.namespace }).finish(unfenced.id);
    expect((await q.get(unfenced.id))?.lease).toBeNull();
    await expect(q.finish(unfenced.id, undefined, { lease: unfenced.lease! })).rejects.toMatchObject({
      code: 'ERR_TASK_FINISHED',
    });
    // Failed by recovery on its last attempt: the stalled holder's fail is refused.
    const stalled = await running(q);
    await until(async () => {
      await r.raw().del(`{${q.namespace}}:recovery-lock`);
      await q.recover();
      return (await q.get(stalled.id))?.status === 'failed';
    });
    await expect(q.fail(stalled.id, undefined, { lease: stalled.lease! })).rejects.toMatchObject({
      code: 'ERR_TASK_FAILED',
    });
    // Retried, then started by another holder: the first lease is fenced off.
    expect(await q.retry(failed.id)).toBe(true);
    const again = await q.dequeue(['q']);
    expect(again.id).toBe(failed.id);
    await expect(q.fail(failed.id, undefined, { lease: failed.lease! })).rejects.toMatchObject({
      code: 'ERR_TASK_LEASE_LOST',
    });
    expect((await q.verify()).mismatches).toEqual([]);
  });

  it('release and retryLater: the same lease is answered OK, and nothing is written twice', async () => {
    const q = r.queue();
    const released = await running(q);
    await q.release(released.id, { lease: released.lease! });
    await q.release(released.id, { lease: released.lease! });
    const retried = await running(q, 'other'); // not the released task, back in 'q'
    await q.retryLater(retried.id, { delayMs: 60_000, error: 'boom', lease: retried.lease! });
    await q.retryLater(retried.id, { delayMs: 60_000, error: 'boom', lease: retried.lease! });
    expect((await q.history(released.id)).map((e) => e.type)).toEqual(['enqueued', 'started', 'requeued']);
    expect((await q.history(retried.id)).map((e) => e.type)).toEqual(['enqueued', 'started', 'retrying']);
    expect((await q.verify()).mismatches).toEqual([]);
  });

  it('release and retryLater are refused when recovery or a retry put the task back', async () => {
    const q = r.queue({ heartbeatTtlMs: 100 });
    const stalled = await running(q);
    await until(async () => {
      await r.raw().del(`{${q.namespace}}:recovery-lock`);
      await q.recover();
      return (await q.get(stalled.id))?.status === 'waiting';
    });
    expect((await q.get(stalled.id))?.lease).toBeNull();
    await expect(q.release(stalled.id, { lease: stalled.lease! })).rejects.toMatchObject({
      code: 'ERR_TASK_NOT_RUNNING',
    });
    const cancelled = await q.dequeue(['q']);
    await q.cancel(cancelled.id);
    await q.retry(cancelled.id);
    await expect(
      q.retryLater(cancelled.id, { delayMs: 1, error: 'late', lease: cancelled.lease! }),
    ).rejects.toMatchObject({ code: 'ERR_TASK_NOT_RUNNING' });
    expect((await q.verify()).mismatches).toEqual([]);
  });

  it('a worker whose finish reply was lost emits task:finished, not task:lost', async () => {
    const q = r.queue();
    const id = await q.enqueue({ queue: 'q', type: 't' });
    // The finish runs in Redis, then its reply is lost: the worker sees a connection error and sends it again.
    let lostReplies = 0;
    const flaky: WorkerQueue = Object.create(q) as TaskQueue;
    flaky.finish = async (...args) => {
      await q.finish(...args);
      if (lostReplies++ === 0) throw new Error('Connection is closed.');
    };
    const w = new Worker(flaky, async () => ({ ok: true }), { queues: ['q'] });
    const seen: string[] = [];
    w.on('task:finished', () => seen.push('finished'));
    w.on('task:lost', (_t, err) => seen.push(`lost ${err.code}`));
    w.start();
    await until(() => seen.length > 0, 10_000);
    await w.close();
    expect(seen).toEqual(['finished']);
    expect(lostReplies).toBe(2);
    expect(await written(q, id, 'finished')).toEqual({
      types: ['enqueued', 'started', 'finished'],
      counted: '1',
      ended: 1,
    });
    expect((await q.get(id))?.result).toEqual({ ok: true });
  });
});
