import { describe, expect, it } from 'vitest';
import {
  TaskCancelledError,
  TaskFailedError,
  TaskFinishedError,
  TaskNotFoundError,
  TaskNotRunningError,
  type TaskQueue,
} from '../src/index.js';
import { useRedis } from './helpers/fixture.js';

const r = useRedis();

type Op = 'heartbeat' | 'finish' | 'fail';
const OPS: Op[] = ['heartbeat', 'finish', 'fail'];

async function inStatus(
  q: TaskQueue,
  status: 'waiting' | 'running' | 'cancelled' | 'finished' | 'failed',
): Promise<string> {
  const id = await q.enqueue({ queue: `q-${status}`, type: 't' });
  if (status === 'waiting') return id;
  if (status === 'cancelled') {
    await q.cancel(id);
    return id;
  }
  const task = await q.dequeue([`q-${status}`]);
  expect(task.id).toBe(id);
  if (status === 'finished') await q.finish(id);
  if (status === 'failed') await q.fail(id);
  return id;
}

describe('heartbeat, finish and fail', () => {
  it('pass only for a running task, each other status with its own error', async () => {
    const q = r.queue();
    const expected = {
      waiting: TaskNotRunningError,
      cancelled: TaskCancelledError,
      finished: TaskFinishedError,
      failed: TaskFailedError,
    } as const;
    for (const op of OPS) {
      for (const [status, cls] of Object.entries(expected)) {
        const id = await inStatus(q, status as keyof typeof expected);
        const before = await q.history(id);
        await expect(q[op](id, { x: 1 }), `${op} on ${status}`).rejects.toBeInstanceOf(cls);
        // Refused means nothing written: no event, same projection.
        expect(await q.history(id)).toEqual(before);
        expect((await q.get(id))?.status).toBe(status);
      }
      await expect(q[op]('01UNKNOWNTASKID0000000000')).rejects.toBeInstanceOf(TaskNotFoundError);
    }
  });

  it('a heartbeat does not revive a failed task (the Go original lets it)', async () => {
    const q = r.queue();
    const id = await inStatus(q, 'failed');
    await expect(q.heartbeat(id, { again: true })).rejects.toBeInstanceOf(TaskFailedError);
    expect((await q.get(id))?.status).toBe('failed');
  });

  it('heartbeat records progress and pushes the deadline; finish and fail store final progress', async () => {
    const q = r.queue({ heartbeatTtlMs: 60_000 });
    await q.enqueue({ queue: 'q', type: 't' });
    await q.enqueue({ queue: 'q', type: 't' });
    const a = await q.dequeue(['q']);
    const b = await q.dequeue(['q']);
    const deadline0 = Number(await r.raw().zscore(`{${q.namespace}}:running`, a.id));
    await new Promise((res) => setTimeout(res, 5));
    await q.heartbeat(a.id, { step: 1 });
    const deadline1 = Number(await r.raw().zscore(`{${q.namespace}}:running`, a.id));
    expect(deadline1).toBeGreaterThan(deadline0);
    const mid = await q.get(a.id);
    expect(mid?.progress).toEqual({ step: 1 });
    expect(mid!.lastHeartbeatAt!.getTime()).toBeGreaterThan(a.lastHeartbeatAt!.getTime());
    await q.heartbeat(a.id); // no progress: keeps the last
    expect((await q.get(a.id))?.progress).toEqual({ step: 1 });
    await q.finish(a.id, { result: 'ok' });
    await q.fail(b.id, { error: 'boom' });
    const done = await q.get(a.id);
    expect(done?.status).toBe('finished');
    expect(done?.progress).toEqual({ result: 'ok' });
    expect(done?.finishedAt).toBeInstanceOf(Date);
    expect((await q.get(b.id))?.progress).toEqual({ error: 'boom' });
    expect(await r.raw().zcard(`{${q.namespace}}:running`)).toBe(0);
  });
});

describe('cancel', () => {
  it('a cancelled waiting task is never delivered', async () => {
    const q = r.queue();
    const id1 = await q.enqueue({ queue: 'q', type: 't' });
    const id2 = await q.enqueue({ queue: 'q', type: 't' });
    expect(await q.cancel(id1)).toBe(true);
    const got = await q.dequeue(['q']);
    expect(got.id).toBe(id2);
    const ctrl = new AbortController();
    setTimeout(() => ctrl.abort(), 200);
    await expect(q.dequeue(['q'], { signal: ctrl.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect((await q.get(id1))?.status).toBe('cancelled');
    expect(await r.raw().xlen(`{${q.namespace}}:ready:q`)).toBe(0);
  });

  it('a cancelled running task refuses its worker with TaskCancelledError', async () => {
    const q = r.queue();
    const id = await q.enqueue({ queue: 'q', type: 't' });
    await q.dequeue(['q']);
    expect(await q.cancel(id)).toBe(true);
    await expect(q.heartbeat(id, { late: true })).rejects.toBeInstanceOf(TaskCancelledError);
    await expect(q.finish(id)).rejects.toBeInstanceOf(TaskCancelledError);
    await expect(q.fail(id)).rejects.toBeInstanceOf(TaskCancelledError);
    const t = await q.get(id);
    expect(t?.status).toBe('cancelled');
    expect(t?.progress).toBeNull();
    expect(await r.raw().zcard(`{${q.namespace}}:running`)).toBe(0);
  });

  it('is a no-op on a cancelled task and refused on finished, failed and unknown ones', async () => {
    const q = r.queue();
    const c = await inStatus(q, 'cancelled');
    const events = (await q.history(c)).length;
    expect(await q.cancel(c)).toBe(false);
    expect(await q.history(c)).toHaveLength(events);
    await expect(q.cancel(await inStatus(q, 'finished'))).rejects.toBeInstanceOf(TaskFinishedError);
    await expect(q.cancel(await inStatus(q, 'failed'))).rejects.toBeInstanceOf(TaskFailedError);
    await expect(q.cancel('01UNKNOWNTASKID0000000000')).rejects.toBeInstanceOf(TaskNotFoundError);
    expect((await q.verify()).mismatches).toEqual([]);
  });
});

describe('retry (another run for a failed or cancelled task)', () => {
  it('puts it back to waiting as a requeued event and counts what ended', async () => {
    const q = r.queue();
    const failed = await inStatus(q, 'failed');
    const cancelled = await inStatus(q, 'cancelled');
    const finished = await inStatus(q, 'finished');
    expect(await q.retry(failed)).toBe(true);
    expect(await q.retry(cancelled)).toBe(true);
    expect(await q.retry(failed)).toBe(false); // waiting already
    await expect(q.retry(finished)).rejects.toBeInstanceOf(TaskFinishedError);
    await expect(q.retry('01UNKNOWNTASKID0000000000')).rejects.toBeInstanceOf(TaskNotFoundError);
    const t = await q.get(failed);
    expect(t).toMatchObject({ status: 'waiting', finishedAt: null, attempt: 1 });
    expect((await q.history(failed)).at(-1)!.data).toMatchObject({ reason: 'retry' });
    const again = await q.dequeue(['q-failed']);
    expect(again).toMatchObject({ id: failed, attempt: 2 });
    expect((await q.verify()).mismatches).toEqual([]);
    expect(await r.raw().hgetall(`{${q.namespace}}:counts`)).toEqual({
      'failed:q-failed': '1',
      'cancelled:q-cancelled': '1',
      'finished:q-finished': '1',
    });
  });
});
