import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FileArchive, Worker, type TaskEvent, type TaskQueue } from '../src/index.js';
import { sleep, until, useRedis } from './helpers/fixture.js';

const r = useRedis();
const CHILD = fileURLToPath(new URL('./fixtures/compaction-child.mjs', import.meta.url));

/** Runs the compaction child until it kills itself at the nth step of `kind`. */
function crashAt(ns: string, dir: string, kind: string, nth: number): Promise<NodeJS.Signals | null> {
  const child = spawn(process.execPath, [CHILD, r.url, ns, dir, kind, String(nth)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((res) => child.on('exit', (_code, signal) => res(signal)));
}

async function replay(q: TaskQueue): Promise<TaskEvent[]> {
  const out: TaskEvent[] = [];
  for await (const e of q.events({ archive: true })) out.push(e);
  return out;
}

/** 8,000 tasks through a worker: 24,000 events, two chunks of a pass (20,000 each). */
async function workload(q: TaskQueue): Promise<void> {
  const ids = await q.enqueueMany(Array.from({ length: 8000 }, (_, i) => ({ queue: 'q', type: 't', spec: { i } })));
  const w = new Worker(q, async () => undefined, { concurrency: 64 }).start();
  await until(async () => (await q.get(ids[ids.length - 1]!))?.status === 'finished', 30_000);
  await w.close();
}

describe('a compaction killed at each step between archiving and trimming', () => {
  it.each([
    ['archived', 2],
    ['snapshotted', 2],
    ['recorded', 2],
    ['trimmed', 3],
  ])(
    'after step %s #%i: nothing is lost, a replay gives each event once, verify and the archive are clean',
    async (kind, nth) => {
      const dir = mkdtempSync(join(tmpdir(), 'taskledger-crash-'));
      const q = r.queue({ retention: { logMs: 1 }, archive: new FileArchive(dir), compactIntervalMs: 0 });
      await workload(q);
      const before = await replay(q);
      expect(before.length).toBeGreaterThanOrEqual(24_000);
      await sleep(5);
      expect(await crashAt(q.namespace, dir, kind, nth)).toBe('SIGKILL');
      // The lock of the dead pass lapses in 30 s: an operator (or this test) may clear it to resume at once.
      await r.raw().del(`{${q.namespace}}:compaction-lock`);
      await sleep(5);
      const report = await q.compact();
      expect(report.skipped).toBeUndefined();
      const after = await replay(q);
      // Every event written before the crash, once, in order; after them only compaction's own records.
      expect(after.slice(0, before.length)).toEqual(before);
      expect(new Set(after.map((e) => e.id)).size).toBe(after.length);
      expect(new Set(after.slice(before.length).map((e) => e.type))).toEqual(new Set(['snapshot', 'compacted']));
      expect((await q.archive!.verify()).ok).toBe(true);
      expect((await q.verify()).mismatches).toEqual([]);
      // All-time counts: none lost or doubled by the crash.
      expect(await r.raw().hget(`{${q.namespace}}:counts`, 'finished:q')).toBe('8000');
      await r.raw().del(`{${q.namespace}}:counts`);
      await q.rebuild();
      expect(await r.raw().hget(`{${q.namespace}}:counts`, 'finished:q')).toBe('8000');
    },
    120_000,
  );
});
