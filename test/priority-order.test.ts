import { describe, expect, it } from 'vitest';
import { sleep, useRedis } from './helpers/fixture.js';

const r = useRedis();

describe('priority levels', () => {
  it('100 tasks at mixed levels come out in level order, FIFO within each level', async () => {
    const q = r.queue();
    const levels = Array.from({ length: 100 }, (_, i) => (i * 7) % 10);
    const ids = await q.enqueueMany(levels.map((priority, i) => ({ queue: 'p', type: 't', spec: i, priority })));
    const expected = ids
      .map((id, i) => ({ id, i, p: levels[i]! }))
      .sort((a, b) => b.p - a.p || a.i - b.i)
      .map((t) => t.id);
    const got: string[] = [];
    for (let i = 0; i < 100; i++) {
      const t = await q.dequeue(['p']);
      expect(t.priority).toBe(levels[ids.indexOf(t.id)]);
      got.push(t.id);
      await q.finish(t.id);
    }
    expect(got).toEqual(expected);
  });

  it('a worker started after the enqueues takes them in level order too', async () => {
    const q = r.queue();
    await q.enqueueMany(Array.from({ length: 30 }, (_, i) => ({ queue: 'w', type: 't', spec: i, priority: i % 3 })));
    const order: number[] = [];
    const { Worker } = await import('../src/index.js');
    const w = new Worker(q, async (task) => void order.push(task.priority), { queues: ['w'], concurrency: 1 });
    w.start();
    while (order.length < 30) await sleep(10);
    await w.close();
    expect(order).toEqual([...order].sort((a, b) => b - a));
  });

  it('without aging a high level goes first; with agingMs a level that waited that long goes first', async () => {
    const strict = r.queue();
    const low = await strict.enqueue({ queue: 's', type: 't' });
    await sleep(250);
    await strict.enqueue({ queue: 's', type: 't', priority: 9 });
    expect((await strict.dequeue(['s'])).id).not.toBe(low);

    const aged = r.queue();
    await aged.setQueueOptions('a', { agingMs: 200 });
    const old = await aged.enqueue({ queue: 'a', type: 't' });
    await sleep(250);
    await aged.enqueueMany(Array.from({ length: 5 }, () => ({ queue: 'a', type: 't', priority: 9 })));
    expect((await aged.dequeue(['a'])).id).toBe(old);
  });
});

describe('setPriority', () => {
  it('moves a due task to the tail of its new level, logged with who changed it', async () => {
    const q = r.queue();
    const [a, b, c] = await q.enqueueMany([
      { queue: 's', type: 't', priority: 5 },
      { queue: 's', type: 't', priority: 5 },
      { queue: 's', type: 't' },
    ]);
    expect(await q.setPriority(c!, 5)).toBe(true);
    expect(await q.setPriority(c!, 5)).toBe(false);
    expect(await q.setPriority(a!, 0)).toBe(true);
    const order = [];
    for (let i = 0; i < 3; i++) order.push((await q.dequeue(['s'])).id);
    expect(order).toEqual([b, c, a]);
    const e = (await q.history(c!)).find((x) => x.type === 'reprioritized')!;
    expect(e.data).toMatchObject({ priority: 5 });
    expect(e.data.by as string).toMatch(/:\d+$/);
    expect((await q.verify()).mismatches).toEqual([]);
  });

  it('changes a delayed task, which is promoted to its new level when due', async () => {
    const q = r.queue();
    const late = await q.enqueue({ queue: 'l', type: 't', delayMs: 100 });
    const now = await q.enqueue({ queue: 'l', type: 't', priority: 1 });
    await q.setPriority(late, 9);
    await sleep(150);
    expect((await q.dequeue(['l'])).id).toBe(late);
    expect((await q.dequeue(['l'])).id).toBe(now);
  });

  it('refuses a running task, an unknown id and a bad priority', async () => {
    const q = r.queue();
    const id = await q.enqueue({ queue: 'x', type: 't' });
    await q.dequeue(['x']);
    await expect(q.setPriority(id, 3)).rejects.toMatchObject({ code: 'ERR_TASK_RUNNING' });
    await expect(q.setPriority('nope', 3)).rejects.toMatchObject({ code: 'ERR_TASK_NOT_FOUND' });
    await expect(q.setPriority(id, 12)).rejects.toMatchObject({ code: 'ERR_VALIDATION' });
  });
});
