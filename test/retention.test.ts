import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ArchiveCorruptError,
  ArchiveUnavailableError,
  FileArchive,
  ValidationError,
  type TaskEvent,
  type TaskQueue,
} from '../src/index.js';
import { sleep, until, useRedis } from './helpers/fixture.js';
import { tempFileArchive } from './helpers/archive.js';

const r = useRedis();

/** Enqueues, starts and ends `n` tasks of one queue: finished, failed or cancelled. */
async function ended(q: TaskQueue, n: number, how: 'finish' | 'fail' | 'cancel', queue = 'q'): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = await q.enqueue({ queue, type: 't', spec: { i }, references: { batch: how } });
    if (how === 'cancel') await q.cancel(id);
    else {
      await q.dequeue([queue]);
      await (how === 'finish' ? q.finish(id, { done: i }) : q.fail(id, { error: 'x' }));
    }
    ids.push(id);
  }
  return ids;
}

describe('retention of ended tasks', () => {
  it('removes each status after its own retention, with its reference memberships, as an expired event', async () => {
    const q = r.queue({ retention: { finishedMs: 1, failedMs: 60_000 }, compactIntervalMs: 0 });
    const finished = await ended(q, 3, 'finish');
    const failed = await ended(q, 2, 'fail');
    const cancelled = await ended(q, 2, 'cancel');
    await sleep(5);
    const report = await q.compact();
    expect(report.removedTasks).toBe(3);
    for (const id of finished) expect(await q.get(id)).toBeNull();
    for (const id of [...failed, ...cancelled]) expect(await q.get(id)).not.toBeNull();
    const raw = r.raw();
    expect(await raw.smembers(`{${q.namespace}}:ref:batch="finish"`)).toEqual([]);
    const held = (status: string) => raw.zlexcount(`{${q.namespace}}:ended-by-queue`, `[${status}:`, `(${status};`);
    expect(await held('finished')).toBe(0);
    expect(await held('failed')).toBe(2);
    const expired = [];
    for await (const e of q.events()) if (e.type === 'expired') expired.push(e);
    expect(expired).toHaveLength(1);
    expect((expired[0]!.data.tasks as string).split(' ').sort()).toEqual([...finished].sort());
    expect((await q.verify()).mismatches).toEqual([]);
  });

  it('a task given another run leaves its ended set, and is kept', async () => {
    const q = r.queue({ retention: { failedMs: 1 }, compactIntervalMs: 0 });
    const [id] = await ended(q, 1, 'fail');
    expect(await q.retry(id!)).toBe(true);
    await sleep(5);
    expect((await q.compact()).removedTasks).toBe(0);
    expect((await q.get(id!))?.status).toBe('waiting');
    expect((await q.verify()).mismatches).toEqual([]);
  });

  it('does nothing without retention, and says so', async () => {
    const q = r.queue();
    await ended(q, 2, 'finish');
    const report = await q.compact();
    expect(report.skipped).toMatch(/no retention/);
    expect(report.removedTasks).toBe(0);
  });

  it('a dry run counts and writes nothing', async () => {
    const q = r.queue({ retention: { finishedMs: 1 }, compactIntervalMs: 0 });
    const ids = await ended(q, 4, 'finish');
    await sleep(5);
    const before = await r.raw().xlen(`{${q.namespace}}:events`);
    const report = await q.compact({ dryRun: true });
    expect(report).toMatchObject({ dryRun: true, removedTasks: 4 });
    expect(await r.raw().xlen(`{${q.namespace}}:events`)).toBe(before);
    for (const id of ids) expect(await q.get(id)).not.toBeNull();
  });
});

describe('trimming the log without an archive (archive: false)', () => {
  it('snapshots live tasks, trims, and the trimmed log still folds to every projection', async () => {
    const q = r.queue({ retention: { logMs: 1, finishedMs: 600_000 }, archive: false, compactIntervalMs: 0 });
    const done = await ended(q, 3, 'finish');
    const waiting = await q.enqueue({ queue: 'w', type: 't', spec: { wait: true } });
    const delayed = await q.enqueue({ queue: 'w', type: 't', delayMs: 600_000 });
    const runningId = await q.enqueue({ queue: 'r', type: 't' });
    await q.dequeue(['r']);
    await q.heartbeat(runningId, { step: 1 });
    await sleep(5);
    const report = await q.compact();
    expect(report.trimmedEvents).toBeGreaterThan(0);
    expect(report.snapshots).toBe(6);
    expect(report.archivedEvents).toBe(0);
    const types = new Set<string>();
    for await (const e of q.events()) types.add(e.type);
    expect([...types].sort()).toEqual(['compacted', 'snapshot']);
    expect((await q.verify()).mismatches).toEqual([]);
    // The projections survive a rebuild from the trimmed log, exactly.
    const before = await Promise.all([...done, waiting, delayed, runningId].map((id) => q.get(id)));
    await r.raw().del(`{${q.namespace}}:task:${waiting}`, `{${q.namespace}}:task:${done[0]!}`);
    await q.rebuild();
    const after = await Promise.all([...done, waiting, delayed, runningId].map((id) => q.get(id)));
    expect(after).toEqual(before);
    expect((await q.verify()).mismatches).toEqual([]);
    // The live task goes on normally: it finishes with its lease.
    await q.finish(runningId);
    expect((await q.get(runningId))?.status).toBe('finished');
    expect((await q.verify()).mismatches).toEqual([]);
  });

  it('keeps the all-time counts across trims: rebuild recounts them from the compacted records', async () => {
    const q = r.queue({ retention: { logMs: 1 }, archive: false, compactIntervalMs: 0 });
    await ended(q, 3, 'finish', 'a');
    await sleep(5);
    await q.compact();
    await ended(q, 2, 'fail', 'a');
    await sleep(5);
    await q.compact();
    await ended(q, 1, 'cancel', 'b');
    const counts = await r.raw().hgetall(`{${q.namespace}}:counts`);
    expect(counts).toEqual({ 'finished:a': '3', 'failed:a': '2', 'cancelled:b': '1' });
    await r.raw().del(`{${q.namespace}}:counts`);
    await q.rebuild();
    expect(await r.raw().hgetall(`{${q.namespace}}:counts`)).toEqual(counts);
  });
});

describe('heartbeats', () => {
  it('a heartbeat without progress writes no event but moves the deadline; one with progress writes one', async () => {
    const q = r.queue({ heartbeatTtlMs: 10_000 });
    const id = await q.enqueue({ queue: 'hb', type: 't' });
    await q.dequeue(['hb']);
    const raw = r.raw();
    const key = `{${q.namespace}}:events`;
    const len = await raw.xlen(key);
    const before = Number(await raw.zscore(`{${q.namespace}}:running`, id));
    await sleep(20);
    await q.heartbeat(id);
    expect(await raw.xlen(key)).toBe(len);
    expect(Number(await raw.zscore(`{${q.namespace}}:running`, id))).toBeGreaterThan(before);
    await q.heartbeat(id, { pct: 50 });
    expect(await raw.xlen(key)).toBe(len + 1);
    expect((await q.verify()).mismatches).toEqual([]);
  });
});

describe('bad input', () => {
  it.each([
    [{ retention: { finishedMs: 0 } }, /retention.finishedMs/],
    [{ retention: { failedMs: -5 } }, /retention.failedMs/],
    [{ retention: { cancelledMs: 1.5 } }, /retention.cancelledMs/],
    [{ retention: { finishedMs: 1e15 } }, /retention.finishedMs .* to 315360000000/],
    [{ retention: { finishMs: 10 } }, /retention.finishMs is not an option/],
    [{ retention: { logMs: 1000 } }, /give an archive/],
    [{ retention: 5 }, /retention must be an object/],
    [{ archive: {} }, /archive must be an Archive/],
    [{ compactIntervalMs: 2 ** 31 }, /compactIntervalMs/],
    [{ compactIntervalMs: -1 }, /compactIntervalMs/],
  ])('%j is refused with a ValidationError naming the option', (opts, message) => {
    expect(() => r.queue(opts as never)).toThrow(ValidationError);
    expect(() => r.queue(opts as never)).toThrow(message);
  });
});

/** Every event in the namespace's log, as events() gives them. */
async function logEvents(q: TaskQueue, options: Parameters<TaskQueue['events']>[0] = {}): Promise<TaskEvent[]> {
  const out: TaskEvent[] = [];
  for await (const e of q.events(options)) out.push(e);
  return out;
}

const tempDir = () => mkdtempSync(join(tmpdir(), 'taskledger-archive-'));

describe('compaction with a FileArchive', () => {
  it('archives before it trims: archive + log replay every event once, in order, and history stays whole', async () => {
    const dir = tempDir();
    const q = r.queue({ retention: { logMs: 1 }, archive: new FileArchive(dir), compactIntervalMs: 0 });
    const done = await ended(q, 5, 'finish');
    const live = await q.enqueue({ queue: 'r', type: 't', spec: { long: true } });
    await q.dequeue(['r']);
    await q.heartbeat(live, { step: 1 });
    const before = await logEvents(q);
    await sleep(5);
    const report = await q.compact();
    expect(report.archivedEvents).toBe(before.length);
    expect(report.trimmedEvents).toBe(before.length);
    // The live task and the finished ones (kept: no finishedMs) were snapshotted; the log holds only those.
    expect(report.snapshots).toBe(6);
    const replay = await logEvents(q, { archive: true });
    expect(replay.slice(0, before.length)).toEqual(before);
    expect(new Set(replay.map((e) => e.id)).size).toBe(replay.length);
    expect(replay.slice(before.length).map((e) => e.type)).toEqual([...Array(6).fill('snapshot'), 'compacted']);
    // History from the archive, without the snapshot that stood in for it; and it goes on after the trim.
    await q.finish(live, { step: 2 });
    expect((await q.history(live)).map((e) => e.type)).toEqual(['enqueued', 'started', 'progress', 'finished']);
    expect((await q.history(done[0]!)).map((e) => e.type)).toEqual(['enqueued', 'started', 'finished']);
    const archive = q.archive!;
    expect((await archive.verify()).ok).toBe(true);
    expect((await q.verify()).mismatches).toEqual([]);
    // A second pass archives only what is new.
    await sleep(5);
    const again = await q.compact();
    expect(again.archivedEvents).toBe(7 + 1); // 6 snapshots, the record, and the finish
    expect((await archive.segments()).reduce((n, s) => n + s.count, 0)).toBe(before.length + 8);
    expect((await q.verify()).mismatches).toEqual([]);
  });

  it('a replay that runs while compaction trims has no gap or duplicate at the seam', async () => {
    const dir = tempDir();
    const q = r.queue({ retention: { logMs: 1 }, archive: new FileArchive(dir), compactIntervalMs: 0 });
    await ended(q, 10, 'finish');
    await sleep(5);
    await q.compact();
    await ended(q, 10, 'fail');
    const whole = await logEvents(q, { archive: true });
    const seen: TaskEvent[] = [];
    for await (const e of q.events({ archive: true })) {
      seen.push(e);
      // Half way through the archive, a pass moves the rest of the log into it.
      if (seen.length === 20) {
        await sleep(5);
        expect((await q.compact()).trimmedEvents).toBeGreaterThan(0);
      }
    }
    expect(seen.slice(0, whole.length)).toEqual(whole);
    expect(new Set(seen.map((e) => e.id)).size).toBe(seen.length);
  });

  it('refuses to trim when the archive directory is missing: a typed error, the log untouched', async () => {
    const dir = join(tempDir(), 'missing');
    const q = r.queue({ retention: { logMs: 1 }, archive: new FileArchive(dir), compactIntervalMs: 0 });
    await ended(q, 2, 'finish');
    const len = await r.raw().xlen(`{${q.namespace}}:events`);
    await sleep(5);
    await expect(q.compact()).rejects.toBeInstanceOf(ArchiveUnavailableError);
    expect(await r.raw().xlen(`{${q.namespace}}:events`)).toBe(len);
  });

  it('refuses to trim when the archive lost segments it had accepted', async () => {
    const dir = tempDir();
    const q = r.queue({ retention: { logMs: 1 }, archive: new FileArchive(dir), compactIntervalMs: 0 });
    await ended(q, 2, 'finish');
    await sleep(5);
    await q.compact();
    await ended(q, 2, 'finish');
    // The archive emptied behind the namespace's back (or another directory given).
    for (const f of readdirSync(dir)) rmSync(join(dir, f));
    const len = await r.raw().xlen(`{${q.namespace}}:events`);
    await sleep(5);
    await expect(q.compact()).rejects.toBeInstanceOf(ArchiveCorruptError);
    expect(await r.raw().xlen(`{${q.namespace}}:events`)).toBe(len);
  });

  it('events({ archive: true }) without an archive is a ValidationError', async () => {
    const q = r.queue();
    await expect(logEvents(q, { archive: true })).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('found in review', () => {
  it('history() is whole when the snapshot kept ids of events still in the log', async () => {
    const q = r.queue({ retention: { logMs: 300 }, archive: tempFileArchive(), compactIntervalMs: 0 });
    const id = await q.enqueue({ queue: 'h', type: 't' });
    await q.dequeue(['h']);
    await sleep(400);
    await q.heartbeat(id, { step: 1 });
    await q.compact();
    expect((await r.raw().hget(`{${q.namespace}}:task:${id}`, 'events'))!.split(' ')).toHaveLength(2);
    expect((await q.history(id)).map((e) => e.type)).toEqual(['enqueued', 'started', 'progress']);
  });

  it('rebuild() of a running task whose running entry is gone counts its deadline from now', async () => {
    const q = r.queue({ heartbeatTtlMs: 500 });
    const id = await q.enqueue({ queue: 'b', type: 't' });
    await q.dequeue(['b']);
    for (let i = 0; i < 8; i++) {
      await sleep(100);
      await q.heartbeat(id);
    }
    await r.raw().del(`{${q.namespace}}:running`);
    const before = Date.now();
    await q.rebuild();
    expect(Number(await r.raw().zscore(`{${q.namespace}}:running`, id))).toBeGreaterThanOrEqual(before + 400);
  });

  it('counts are not doubled when a later pass has a longer logMs than one that stopped after its record', async () => {
    const q = r.queue();
    await ended(q, 3, 'finish');
    await sleep(400);
    await ended(q, 3, 'finish');
    await sleep(5);
    const short = r.queue({ namespace: q.namespace, retention: { logMs: 1 }, archive: false, compactIntervalMs: 0 });
    // Stops right after its record, before it trims (as a crash would).
    const stop = new Error('stop');
    await expect(
      short.compact({
        onStep: (s) => {
          if (s.step === 'recorded') throw stop;
        },
      }),
    ).rejects.toBe(stop);
    const long = r.queue({ namespace: q.namespace, retention: { logMs: 250 }, archive: false, compactIntervalMs: 0 });
    await long.compact();
    await sleep(5);
    await short.compact();
    const live = await r.raw().hgetall(`{${q.namespace}}:counts`);
    expect(live).toEqual({ 'finished:q': '6' });
    await r.raw().del(`{${q.namespace}}:counts`);
    await q.rebuild();
    expect(await r.raw().hgetall(`{${q.namespace}}:counts`)).toEqual(live);
  });

  it('an imported compacted log keeps its counts baseline: rebuild notes the newest record', async () => {
    const a = r.queue({ retention: { logMs: 1 }, archive: false, compactIntervalMs: 0 });
    await ended(a, 3, 'finish');
    await sleep(5);
    await a.compact();
    const b = r.queue({ retention: { logMs: 1 }, archive: false, compactIntervalMs: 0 });
    const raw = r.raw();
    for (const [id, fields] of await raw.xrange(`{${a.namespace}}:events`, '-', '+'))
      await raw.xadd(`{${b.namespace}}:events`, id, ...fields);
    await b.rebuild();
    await ended(b, 1, 'finish');
    await sleep(5);
    await b.compact();
    expect(await raw.hget(`{${b.namespace}}:counts`, 'finished:q')).toBe('4');
    await raw.del(`{${b.namespace}}:counts`);
    await b.rebuild();
    expect(await raw.hget(`{${b.namespace}}:counts`, 'finished:q')).toBe('4');
  });

  it('a pass that lost its lock records and trims nothing', async () => {
    const q = r.queue({ retention: { logMs: 1 }, archive: tempFileArchive(), compactIntervalMs: 0 });
    await ended(q, 3, 'finish');
    await sleep(5);
    const raw = r.raw();
    const len = await raw.xlen(`{${q.namespace}}:events`);
    await expect(
      q.compact({
        // Another instance took the lock after this one's lapsed.
        onStep: (s) => {
          if (s.step === 'snapshotted') void raw.set(`{${q.namespace}}:compaction-lock`, 'someone-else');
        },
      }),
    ).rejects.toThrow(/lock was lost/);
    // The snapshots were written (harmless), but no record and no trim.
    const types = (await logEvents(q)).map((e) => e.type);
    expect(types).not.toContain('compacted');
    expect(await raw.xlen(`{${q.namespace}}:events`)).toBeGreaterThanOrEqual(len);
    expect(types.slice(0, len)).toEqual((await logEvents(q)).slice(0, len).map((e) => e.type));
    expect((await q.verify()).mismatches).toEqual([]);
  });

  it('compaction waits for a rebuild, which holds the lock while it folds', async () => {
    const q = r.queue({ retention: { finishedMs: 1 }, compactIntervalMs: 0 });
    await ended(q, 3, 'finish');
    let during: Awaited<ReturnType<TaskQueue['compact']>> | undefined;
    await q.rebuild({
      onProgress: () => {
        void q.compact().then((report) => (during ??= report));
      },
    });
    await until(() => during !== undefined);
    expect(during?.skipped).toMatch(/another instance/);
  });

  it('an instance with archive: false may not trim a namespace whose log goes to an archive', async () => {
    const archived = r.queue({ retention: { logMs: 1 }, archive: tempFileArchive(), compactIntervalMs: 0 });
    await ended(archived, 2, 'finish');
    await sleep(5);
    await archived.compact();
    await ended(archived, 2, 'finish');
    const bare = r.queue({
      namespace: archived.namespace,
      retention: { logMs: 1 },
      archive: false,
      compactIntervalMs: 0,
    });
    await sleep(5);
    await expect(bare.compact()).rejects.toThrow(/archives its log/);
  });
});

describe('a format-1 log', () => {
  it('trimmed, keeps its counts: ended events without a queue are counted by their task queue', async () => {
    const q = r.queue({ retention: { logMs: 1 }, archive: false, compactIntervalMs: 0 });
    const raw = r.raw();
    const lines = readFileSync(new URL('./fixtures/history-v1.events.ndjson', import.meta.url), 'utf8').trim();
    for (const line of lines.split('\n')) {
      const { id, fields } = JSON.parse(line) as { id: string; fields: string[] };
      await raw.xadd(`{${q.namespace}}:events`, id, ...fields);
    }
    await q.rebuild();
    const counts = await raw.hgetall(`{${q.namespace}}:counts`);
    expect(Object.keys(counts).length).toBeGreaterThan(0);
    await sleep(5);
    expect((await q.compact()).trimmedEvents).toBe(lines.split('\n').length);
    await raw.del(`{${q.namespace}}:counts`);
    await q.rebuild();
    expect(await raw.hgetall(`{${q.namespace}}:counts`)).toEqual(counts);
    expect((await q.verify()).mismatches).toEqual([]);
  });
});
