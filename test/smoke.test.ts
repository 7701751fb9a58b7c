import { describe, expect, it } from 'vitest';
import { useRedis } from './helpers/fixture.js';

const r = useRedis();

describe('smoke', () => {
  it('enqueues, dequeues, finishes', async () => {
    const q = r.queue();
    const id = await q.enqueue({ queue: 'q', type: 't', spec: { a: 1 } });
    expect((await q.get(id))?.status).toBe('waiting');
    const task = await q.dequeue(['q']);
    expect(task.id).toBe(id);
    expect(task.status).toBe('running');
    await q.heartbeat(id, { done: 1 });
    await q.finish(id, { done: 2 });
    const t = await q.get(id);
    expect(t?.status).toBe('finished');
    expect(t?.progress).toEqual({ done: 2 });
    const h = await q.history(id);
    expect(h.map((e) => e.type)).toEqual(['enqueued', 'started', 'progress', 'finished']);
    expect(await q.verify()).toEqual({ tasks: 1, mismatches: [] });
  });
});
