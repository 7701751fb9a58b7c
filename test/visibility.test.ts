import { describe, expect, it } from 'vitest';
import type { TaskQueue } from '../src/index.js';
import { readLogState } from '../src/projections/log-stats.js';
import { keysFor } from '../src/redis/keys.js';
import { tempFileArchive } from './helpers/archive.js';
import { sleep, useRedis } from './helpers/fixture.js';

const r = useRedis();

async function endSome(q: TaskQueue): Promise<void> {
  const ids = await q.enqueueMany([
    { queue: 'a', type: 't' },
    { queue: 'a', type: 't' },
    { queue: 'a', type: 't' },
    { queue: 'b', type: 't' },
  ]);
  for (const how of ['finish', 'finish', 'fail'] as const) {
    const t = await q.dequeue(['a']);
    await (how === 'finish' ? q.finish(t.id) : q.fail(t.id, { error: 'x' }));
  }
  await q.cancel(ids[3]!);
}

describe('stats(): the log, compaction and the ended projections', () => {
  it('before any compaction: the log’s size and age, nothing archived, nothing compacted', async () => {
    const q = r.queue();
    const before = Date.now();
    await endSome(q);
    const s = await q.stats();
    const events = await r.raw().xlen(`{${q.namespace}}:events`);
    expect(s.log).toMatchObject({ events, archivedTo: null, archiveLagMs: null });
    expect(s.log.bytes).toBeGreaterThan(0);
    // Kept for compatibility: the same readings under their old names.
    expect(s.events).toBe(s.log.events);
    expect(s.eventLogBytes).toBe(s.log.bytes);
    expect(s.log.oldestEventAt!.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(s.log.oldestEventAt!.getTime()).toBeLessThanOrEqual(s.at.getTime());
    expect(s.compaction).toEqual({ last: null, reclaimedLogBytes: 0, removedTasks: 0 });
    expect(s.ended).toEqual({ finished: 2, failed: 1, cancelled: 1 });
  });

  it('an empty namespace reads as empty', async () => {
    const q = r.queue();
    const s = await q.stats();
    expect(s.log).toEqual({ events: 0, bytes: null, oldestEventAt: null, archivedTo: null, archiveLagMs: null });
    expect(s.ended).toEqual({ finished: 0, failed: 0, cancelled: 0 });
  });

  it('after passes: the last report, cumulative totals, what the archive holds and its lag', async () => {
    const archive = tempFileArchive();
    const q = r.queue({ retention: { finishedMs: 1, logMs: 1 }, archive, compactIntervalMs: 0 });
    await endSome(q);
    await sleep(5);
    const first = await q.compact();
    expect(first.removedTasks).toBe(2);
    expect(first.archivedEvents).toBeGreaterThan(0);
    let s = await q.stats();
    expect(s.compaction.last).toEqual(first);
    expect(s.compaction.removedTasks).toBe(2);
    expect(s.compaction.reclaimedLogBytes).toBe(first.reclaimedLogBytes);
    expect(s.ended).toEqual({ finished: 0, failed: 1, cancelled: 1 });
    expect(s.log.archivedTo).toBe(await archive.lastId());
    // The entries after the archived ones are the pass's own records, just written.
    expect(s.log.archiveLagMs).toBeGreaterThanOrEqual(0);
    expect(s.log.archiveLagMs).toBeLessThan(5000);

    // New work waits to be archived: the lag is the age of its first event.
    await q.enqueue({ queue: 'a', type: 't' });
    await sleep(5);
    const second = await q.compact();
    await q.enqueue({ queue: 'a', type: 't' });
    const [firstUnarchived] = await r.raw().xrange(`{${q.namespace}}:events`, `(${(await archive.lastId())!}`, '+');
    await sleep(60);
    s = await q.stats();
    expect(s.compaction.last).toEqual(second);
    expect(s.compaction.removedTasks).toBe(2 + second.removedTasks);
    expect(s.compaction.reclaimedLogBytes).toBe(first.reclaimedLogBytes + second.reclaimedLogBytes);
    expect(s.log.archiveLagMs).toBe(s.at.getTime() - Number(firstUnarchived![0].split('-')[0]));
    expect(s.log.archiveLagMs).toBeGreaterThanOrEqual(60);

    // Read without a TaskQueue (as doctor does): the same, and nothing written.
    const meta = await r.raw().hgetall(`{${q.namespace}}:meta`);
    const alone = await readLogState(r.raw(), keysFor(q.namespace));
    expect(alone.log).toMatchObject({ events: s.log.events, archivedTo: s.log.archivedTo });
    expect(alone.compaction).toEqual(s.compaction);
    expect(alone.ended).toEqual(s.ended);
    expect(await r.raw().hgetall(`{${q.namespace}}:meta`)).toEqual(meta);
  });

  it('with archive: false nothing is archived, so there is no archive lag; the log’s age shows the trim', async () => {
    const q = r.queue({ retention: { logMs: 1 }, archive: false, compactIntervalMs: 0 });
    await endSome(q);
    await sleep(30);
    const before = await q.stats();
    await q.compact();
    const after = await q.stats();
    expect(after.log.archivedTo).toBeNull();
    expect(after.log.archiveLagMs).toBeNull();
    expect(after.log.events).toBeLessThan(before.log.events);
    expect(after.log.oldestEventAt!.getTime()).toBeGreaterThan(before.log.oldestEventAt!.getTime());
    expect(after.compaction.last?.trimmedEvents).toBeGreaterThan(0);
  });

  it('a damaged lastCompaction field reads as no last pass, not as an error', async () => {
    const q = r.queue();
    await q.enqueue({ queue: 'a', type: 't' });
    await r.raw().hset(`{${q.namespace}}:meta`, 'lastCompaction', '{not json', 'reclaimedLogBytes', '42');
    const s = await q.stats();
    expect(s.compaction).toEqual({ last: null, reclaimedLogBytes: 42, removedTasks: 0 });
  });
});
