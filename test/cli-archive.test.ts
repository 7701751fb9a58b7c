import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileArchive, type TaskEvent } from '../src/index.js';
import { sleep, useRedis } from './helpers/fixture.js';
import { runCli } from './helpers/cli.js';

const r = useRedis();
const cli = (args: string[]) => runCli(r.url, args);
const tempDir = () => mkdtempSync(join(tmpdir(), 'taskledger-cli-'));

/** A namespace whose early events went to a FileArchive: one task expired, one still live. */
async function compacted() {
  const dir = tempDir();
  const q = r.queue({ retention: { logMs: 1, finishedMs: 1 }, archive: new FileArchive(dir), compactIntervalMs: 0 });
  const gone = await q.enqueue({ queue: 'q', type: 't', spec: { n: 1 } });
  await q.dequeue(['q']);
  await q.finish(gone, { ok: true });
  const live = await q.enqueue({ queue: 'q', type: 't', spec: { n: 2 } });
  const all: TaskEvent[] = [];
  for await (const e of q.events()) all.push(e);
  await sleep(5);
  await q.compact();
  return { q, dir, gone, live, all };
}

describe('the CLI reads across the archive (--archive DIR)', () => {
  it('show: a live task has its whole history, a removed one its archived history', async () => {
    const { q, dir, gone, live } = await compacted();
    const shown = await cli(['--namespace', q.namespace, '--json', 'show', live, '--archive', dir]);
    expect(shown.code).toBe(0);
    const body = JSON.parse(shown.stdout) as { history: TaskEvent[] };
    expect(body.history.map((e) => e.type)).toEqual(['enqueued']);
    // Without the archive the trimmed history starts at the snapshot.
    const bare = JSON.parse((await cli(['--namespace', q.namespace, '--json', 'show', live])).stdout) as {
      history: TaskEvent[];
    };
    expect(bare.history.map((e) => e.type)).toEqual(['snapshot']);
    const removed = await cli(['--namespace', q.namespace, 'show', gone, '--archive', dir]);
    expect(removed.code).toBe(0);
    expect(removed.stdout).toMatch(/projection removed/);
    expect(removed.stdout).toMatch(/finished/);
    expect((await cli(['--namespace', q.namespace, 'show', gone])).code).toBe(3);
  });

  it('events and export: the archive, then the log, each event once', async () => {
    const { q, dir, all } = await compacted();
    const events = await cli(['--namespace', q.namespace, '--json', 'events', '--archive', dir]);
    expect(events.code).toBe(0);
    const ids = events.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as TaskEvent).id);
    expect(ids.slice(0, all.length)).toEqual(all.map((e) => e.id));
    expect(new Set(ids).size).toBe(ids.length);
    const out = join(tempDir(), 'all.ndjson');
    const exported = await cli(['--namespace', q.namespace, 'export', '--archive', dir, '--out', out]);
    expect(exported.code).toBe(0);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as TaskEvent).id)).toEqual(ids);
  });
});
