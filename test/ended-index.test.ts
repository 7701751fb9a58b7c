import { describe, expect, it } from 'vitest';
import { FORMAT_VERSION, PARTITIONED_FORMAT, ValidationError, type TaskQueue } from '../src/index.js';
import { endedMember, parseEndedMember } from '../src/projections/ended-index.js';
import { partitionTags } from '../src/partitions/layout.js';
import { sleep, useRedis } from './helpers/fixture.js';

const r = useRedis();

/** Ends n tasks of `queue` as `how`, one at a time (each its own millisecond), oldest first. */
async function endTasks(q: TaskQueue, queue: string, n: number, how: 'finished' | 'failed' | 'cancelled') {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = await q.enqueue({ queue, type: i % 2 ? 'odd' : 'even', maxAttempts: 1 });
    if (how === 'cancelled') await q.cancel(id);
    else {
      expect((await q.dequeue([queue])).id).toBe(id);
      if (how === 'finished') await q.finish(id);
      else await q.fail(id, { error: 'no' });
    }
    ids.push(id);
    await sleep(2);
  }
  return ids;
}

/** Every page of one list, following the cursors. */
async function allPages(q: TaskQueue, queue: string, status: 'finished' | 'failed' | 'cancelled', oldest = false) {
  const pages: string[][] = [];
  let after: string | undefined;
  for (;;) {
    const { tasks, next } = await q.listTasks({ queue, status, limit: 2, oldest, ...(after ? { after } : {}) });
    pages.push(tasks.map((t) => t.id));
    if (next === null) return pages;
    after = next;
  }
}

const indexKey = (q: TaskQueue) => `{${q.namespace}}:ended-by-queue`;

describe('the ended index', { timeout: 30_000 }, () => {
  it('pages one queue of one status by end time, both ways, apart from queues whose names it prefixes', async () => {
    const q = r.queue();
    // 'a' is a prefix of 'a:b' and 'ab'; 'é' is two bytes; each gets its own part of the index.
    const finished = await endTasks(q, 'a', 5, 'finished');
    const other = await endTasks(q, 'a:b', 2, 'finished');
    await endTasks(q, 'ab', 2, 'finished');
    const failed = await endTasks(q, 'a', 3, 'failed');
    const cancelled = await endTasks(q, 'é', 3, 'cancelled');
    expect(await allPages(q, 'a', 'finished')).toEqual([
      finished.slice(3).reverse(),
      finished.slice(1, 3).reverse(),
      [finished[0]],
    ]);
    expect((await allPages(q, 'a', 'finished', true)).flat()).toEqual(finished);
    expect((await allPages(q, 'a:b', 'finished')).flat()).toEqual([...other].reverse());
    expect((await allPages(q, 'a', 'failed')).flat()).toEqual([...failed].reverse());
    expect((await allPages(q, 'é', 'cancelled', true)).flat()).toEqual(cancelled);
    expect((await allPages(q, 'a', 'cancelled')).flat()).toEqual([]);
    // A type filter keeps the cursor going.
    const odd = await q.listTasks({ queue: 'a', status: 'finished', limit: 3, type: 'odd' });
    expect(odd.tasks.map((t) => t.id)).toEqual([finished[3]]);
    expect(odd.next).not.toBeNull();
    // Each member is what the TypeScript side builds, and reads back.
    const t = (await q.get(finished[0]!))!;
    const member = endedMember('finished', 'a', t.finishedAt!.getTime(), t.id);
    expect(await r.raw().zscore(indexKey(q), member)).toBe('0');
    expect(parseEndedMember(member)).toEqual({
      status: 'finished',
      queue: 'a',
      at: String(t.finishedAt!.getTime()),
      taskId: t.id,
    });
    const e = (await q.get(cancelled[0]!))!;
    expect(parseEndedMember(endedMember('cancelled', 'é', e.finishedAt!.getTime(), e.id))?.queue).toBe('é');
    // A malformed cursor is refused with the shape wanted.
    await expect(q.listTasks({ queue: 'a', status: 'finished', limit: 2, after: '1700000000000-0' })).rejects.toThrow(
      ValidationError,
    );
    await expect(q.listTasks({ queue: 'a', status: 'finished', limit: 2, after: 'x' })).rejects.toThrow(
      /the place of a task/,
    );
  });

  it('holds exactly the ended tasks: a retry, a delete, a stall and retention each keep it in step', async () => {
    const q = r.queue({ retention: { cancelledMs: 1 }, compactIntervalMs: 0, heartbeatTtlMs: 200 });
    const raw = r.raw();
    const [retried] = await endTasks(q, 'q', 1, 'failed');
    const [deleted] = await q.enqueueMany([{ queue: 'q', type: 't', references: { gone: 1 } }]);
    expect((await q.dequeue(['q'])).id).toBe(deleted);
    await q.finish(deleted!);
    const [expired] = await endTasks(q, 'q', 1, 'cancelled');
    const stalled = await q.enqueue({ queue: 'q', type: 't', maxAttempts: 1 });
    expect((await q.dequeue(['q'])).id).toBe(stalled);
    expect(await raw.zcard(indexKey(q))).toBe(3);

    expect(await q.retry(retried!)).toBe(true);
    expect((await allPages(q, 'q', 'failed')).flat()).toEqual([]);
    await q.deleteByReference({ gone: 1 });
    expect((await allPages(q, 'q', 'finished')).flat()).toEqual([]);
    await sleep(5);
    expect((await q.compact()).removedTasks).toBe(1);
    expect((await allPages(q, 'q', 'cancelled')).flat()).toEqual([]);
    expect(await q.get(expired!)).toBeNull();
    // The stalled task fails on its last attempt (recovery), and the retried one fails again.
    await sleep(300);
    await q.recover();
    expect((await q.dequeue(['q'])).id).toBe(retried);
    await q.fail(retried!, { error: 'again' });
    expect(new Set((await allPages(q, 'q', 'failed')).flat())).toEqual(new Set([stalled, retried]));
    expect(await raw.zcard(indexKey(q))).toBe(2);
    expect((await q.verify()).mismatches).toEqual([]);
  });

  it('verify names a missing and a stray member, repair and rebuild put the index back', async () => {
    const q = r.queue();
    const raw = r.raw();
    const [a, b] = await endTasks(q, 'q', 2, 'finished');
    const ta = (await q.get(a!))!;
    const member = endedMember('finished', 'q', ta.finishedAt!.getTime(), a!);
    const stray = endedMember('failed', 'q', ta.finishedAt!.getTime(), b!);
    await raw.zrem(indexKey(q), member);
    await raw.zadd(indexKey(q), 0, stray);
    const report = await q.verify();
    expect(report.indexes.map((m) => [m.index, m.taskId, m.problem]).sort()).toEqual([
      ['ended', a, 'missing'],
      ['ended', b, 'stray'],
    ]);
    expect((await q.verify({ repair: true })).repair?.tasks).toBe(2);
    expect((await q.verify()).mismatches).toEqual([]);
    expect(await raw.zrange(indexKey(q), 0, -1)).toContain(member);

    await raw.del(indexKey(q));
    await raw.zadd(indexKey(q), 0, stray);
    await q.rebuild();
    expect((await allPages(q, 'q', 'finished')).flat()).toEqual([b, a]);
    // rebuild writes each task's own member and removes those no task of the log names.
    expect(await raw.zrange(indexKey(q), 0, -1)).not.toContain(stray);
    expect(await raw.zcard(indexKey(q))).toBe(2);
    expect((await q.verify()).mismatches).toEqual([]);
    // A member left behind at another end time (a migration racing a retry) is not listed twice.
    await raw.zadd(indexKey(q), 0, endedMember('finished', 'q', 1, a!));
    expect((await allPages(q, 'q', 'finished')).flat()).toEqual([b, a]);
    // Cursors with numbers beyond 64 bits are refused before they reach Redis.
    await expect(
      q.listTasks({ queue: 'q', status: 'waiting', limit: 2, after: '99999999999999999999-0@0' }),
    ).rejects.toThrow(ValidationError);
    await expect(
      q.listTasks({
        queue: 'q',
        status: 'waiting',
        limit: 2,
        after: '99999999999999999999',
        reference: { name: 'x', value: 1 },
      }),
    ).rejects.toThrow(ValidationError);
  });

  it('retention finds the queues in the index itself, and each expires up to the cutoff', async () => {
    const q = r.queue({ retention: { finishedMs: 300 }, compactIntervalMs: 0 });
    await endTasks(q, 'a', 3, 'finished');
    await endTasks(q, 'b', 2, 'finished');
    await endTasks(q, 'a:b', 1, 'finished');
    await sleep(400);
    const recent = await endTasks(q, 'a', 2, 'finished');
    // Retention does not need the set of queue names.
    await r.raw().del(`{${q.namespace}}:queues`);
    expect((await q.compact({ dryRun: true })).removedTasks).toBe(6);
    expect((await q.compact()).removedTasks).toBe(6);
    expect((await allPages(q, 'a', 'finished', true)).flat()).toEqual(recent);
    expect((await allPages(q, 'b', 'finished')).flat()).toEqual([]);
    expect((await allPages(q, 'a:b', 'finished')).flat()).toEqual([]);
    expect(await r.raw().zcard(indexKey(q))).toBe(2);
  });

  it(`opens a format-4 namespace as format ${FORMAT_VERSION}, and a format-5 one as ${PARTITIONED_FORMAT}, with the index filled`, async () => {
    const raw = r.raw();
    const q = r.queue();
    const finished = await endTasks(q, 'q', 3, 'finished');
    const [failed] = await endTasks(q, 'r', 1, 'failed');
    const before = await raw.zrange(indexKey(q), 0, -1);
    await q.close();
    // As a format-4 instance left it: no index.
    await raw.del(indexKey(q));
    await raw.hset(`{${q.namespace}}:meta`, 'format', '4');
    const q2 = r.queue({ namespace: q.namespace });
    expect((await allPages(q2, 'q', 'finished', true)).flat()).toEqual(finished);
    expect((await allPages(q2, 'r', 'failed')).flat()).toEqual([failed]);
    expect(await raw.hget(`{${q.namespace}}:meta`, 'format')).toBe(String(FORMAT_VERSION));
    expect(await raw.zrange(indexKey(q), 0, -1)).toEqual(before);
    expect((await q2.verify()).mismatches).toEqual([]);

    const p = r.queue({ partitions: 2 });
    const ids = await endTasks(p, 'q', 4, 'finished');
    await p.close();
    const tag1 = partitionTags(p.namespace, 2)[1]!;
    await raw.del(`{${p.namespace}}:ended-by-queue`, `{${tag1}}:ended-by-queue`);
    await raw.hset(`{${p.namespace}}:meta`, 'format', '5');
    await raw.hset(`{${tag1}}:meta`, 'format', '4');
    const p2 = r.queue({ namespace: p.namespace, partitions: 2 });
    const listed = await Promise.all(
      [0, 1].map(
        async (partition) => (await p2.listTasks({ queue: 'q', status: 'finished', limit: 10, partition })).tasks,
      ),
    );
    expect(new Set(listed.flat().map((t) => t.id))).toEqual(new Set(ids));
    expect(await raw.hget(`{${p.namespace}}:meta`, 'format')).toBe(String(PARTITIONED_FORMAT));
    expect(await raw.hget(`{${tag1}}:meta`, 'format')).toBe(String(FORMAT_VERSION));
  });
});
