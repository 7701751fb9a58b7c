import { describe, expect, it } from 'vitest';
import { ValidationError, type ListedStatus, type ListTasksOptions, type TaskQueue } from '../src/index.js';
import { partitionOfId } from '../src/partitions/routing.js';
import { sleep, useRedis } from './helpers/fixture.js';
import { spreadOverPartitions } from './helpers/partitions.js';

const r = useRedis();

/** Every page of one list in pages of 4, following the cursors; each id at most once. */
async function pages(q: TaskQueue, status: ListedStatus, more: Partial<ListTasksOptions> = {}): Promise<string[]> {
  const ids: string[] = [];
  let after: string | undefined;
  for (let n = 0; n < 100; n++) {
    const page = await q.listTasks({ queue: 'p', status, limit: 4, ...more, ...(after ? { after } : {}) });
    ids.push(...page.tasks.map((t) => t.id));
    if (page.next === null) {
      expect(new Set(ids).size).toBe(ids.length);
      return ids;
    }
    after = page.next;
  }
  throw new Error('the cursors never ended');
}

describe('task lists over several partitions', { timeout: 30_000 }, () => {
  it('merge every partition in one order, for each status, and the cursors go on', async () => {
    const q = r.queue({ partitions: 3 });
    const waiting = await spreadOverPartitions(q, 'p');
    expect(new Set(waiting.map((id) => partitionOfId(id, 3))).size).toBe(3);
    expect(await pages(q, 'waiting', { oldest: true })).toEqual(waiting);
    expect(await pages(q, 'waiting')).toEqual([...waiting].reverse());

    // Running: by heartbeat deadline, each started 2 ms after the one before.
    const running: string[] = [];
    for (let i = 0; i < waiting.length; i++) {
      running.push((await q.dequeue(['p'])).id);
      await sleep(2);
    }
    expect(new Set(running)).toEqual(new Set(waiting));
    expect(await pages(q, 'running', { oldest: true })).toEqual(running);
    expect(await pages(q, 'running')).toEqual([...running].reverse());

    // Ended: by the time each ended.
    const finished = [4, 0, 27, 12, 8, 21, 1].map((i) => running[i]!);
    expect(new Set(finished.map((id) => partitionOfId(id, 3))).size).toBeGreaterThan(1);
    for (const id of finished) {
      await q.finish(id);
      await sleep(2);
    }
    expect(await pages(q, 'finished', { oldest: true })).toEqual(finished);
    expect(await pages(q, 'finished')).toEqual([...finished].reverse());

    // Delayed: by the time each is due (enqueued in turns of their own, so over the partitions).
    const delayed: string[] = [];
    for (let i = 0; i < 7; i++) {
      delayed.push(await q.enqueue({ queue: 'p', type: 't', delayMs: 60_000 + ((i * 5) % 7) * 1000 }));
      await sleep(2);
    }
    const byDue = [...delayed].sort((a, b) => ((delayed.indexOf(a) * 5) % 7) - ((delayed.indexOf(b) * 5) % 7));
    expect(new Set(delayed.map((id) => partitionOfId(id, 3))).size).toBeGreaterThan(1);
    expect(await pages(q, 'delayed', { oldest: true })).toEqual(byDue);

    // A reference: each task carrying it once, partition after partition.
    const tagged: string[] = [];
    for (let i = 0; i < 6; i++) {
      tagged.push(...(await q.enqueueMany([1, 2].map(() => ({ queue: 'p', type: 't', references: { batch: 7 } })))));
      await sleep(2);
    }
    const found = await pages(q, 'waiting', { reference: { name: 'batch', value: 7 } });
    expect(new Set(found)).toEqual(new Set(tagged));

    // One partition, as before; a cursor of the merged list names its partition, one partition's does not.
    const one = await q.listTasks({ queue: 'p', status: 'waiting', limit: 100, partition: 1 });
    expect(one.tasks.length).toBeGreaterThan(0);
    for (const t of one.tasks) expect(partitionOfId(t.id, 3)).toBe(1);
    const merged = await q.listTasks({ queue: 'p', status: 'waiting', limit: 2 });
    expect(merged.next).toMatch(/^\d+-\d+@\d\/\d$/);
    await expect(q.listTasks({ queue: 'p', status: 'waiting', limit: 2, after: '1-0@0' })).rejects.toThrow(
      /entry id, level and partition/,
    );
    await expect(q.listTasks({ queue: 'p', status: 'waiting', limit: 2, after: '1-0@0/3' })).rejects.toThrow(
      ValidationError,
    );
    await expect(
      q.listTasks({ queue: 'p', status: 'waiting', limit: 2, reference: { name: 'batch', value: 7 }, after: '5/0' }),
    ).rejects.toThrow(/a partition and a whole number/);
  });
});
