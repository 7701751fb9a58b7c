import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { compareStreamIds } from '../src/events/stream-id.js';
import { partitionOfId } from '../src/partitions/routing.js';
import { useRedis } from './helpers/fixture.js';
import { spreadOverPartitions } from './helpers/partitions.js';
import { namespace, tempDir } from './helpers/redis.js';
import { runCli } from './helpers/cli.js';

const r = useRedis();

describe('the CLI on a namespace of several partitions', { timeout: 120_000 }, () => {
  it('exports every partition merged, each line with its partition, and imports it back', async () => {
    const q = r.queue({ partitions: 3 });
    const ids = await spreadOverPartitions(q, 'p');
    expect(new Set(ids.map((id) => partitionOfId(id, 3))).size).toBe(3);
    for (let i = 0; i < 6; i++) {
      const t = await q.dequeue(['p']);
      await (i % 2 ? q.finish(t.id, { i }) : q.fail(t.id, { error: 'no' }));
    }
    // stats sums the partitions; tasks lists them merged, or one with --partition.
    const cliJson = async (args: string[]) => {
      const run = await runCli(r.url, ['--namespace', q.namespace, '--json', ...args]);
      expect(run.stderr).toBe('');
      return JSON.parse(run.stdout) as Record<string, unknown>;
    };
    const waitingPage = (more: string[]) => cliJson(['tasks', '--queue', 'p', '--status', 'waiting', ...more]);
    const row = (
      (await cliJson(['stats'])).queues as { queue: string; waiting: number; finished: number; failed: number }[]
    )[0]!;
    expect(row).toMatchObject({ queue: 'p', waiting: 24, finished: 3, failed: 3 });
    const listed: string[] = [];
    for (const k of [0, 1, 2]) {
      const page = await waitingPage(['--limit', '100', '--partition', String(k)]);
      expect(page.partition).toBe(k);
      for (const t of page.tasks as { id: string }[]) {
        expect(partitionOfId(t.id, 3)).toBe(k);
        listed.push(t.id);
      }
    }
    expect(listed.length).toBe(24);
    // Without --partition: every partition merged, in one order, the cursor going on.
    const merged: string[] = [];
    let after: string | null = null;
    do {
      const page = await waitingPage(['--oldest', '--limit', '10', ...(after ? ['--after', after] : [])]);
      expect(page.partition).toBeUndefined();
      merged.push(...(page.tasks as { id: string }[]).map((t) => t.id));
      after = page.next as string | null;
    } while (after !== null);
    expect(merged).toEqual(ids.filter((id) => listed.includes(id)));
    const unknown = await runCli(r.url, [
      '--namespace',
      q.namespace,
      'tasks',
      '--queue',
      'p',
      '--status',
      'waiting',
      '--partition',
      '3',
    ]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(
      /--partition names partition "3", but the namespace has partitions 0 to 2 \(ERR_UNKNOWN_PARTITION\)/,
    );
    const dir = tempDir('cli-partitions');
    onTestFinished(() => dir.remove());
    const out = join(dir.path, 'log.ndjson');
    const exported = await runCli(r.url, ['--namespace', q.namespace, '--json', 'export', '--out', out]);
    expect(exported.stderr).toBe('');
    const lines = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; partition: number; taskId: string });
    // Every event of every partition, once, in the merged order, each task's events in its own partition.
    const logged = [];
    for await (const e of q.events()) logged.push(`${e.id}/${e.partition!}`);
    expect(lines.map((l) => `${l.id}/${l.partition}`)).toEqual(logged);
    expect(new Set(lines.map((l) => l.partition))).toEqual(new Set([0, 1, 2]));
    for (let i = 1; i < lines.length; i++) {
      const c = compareStreamIds(lines[i - 1]!.id, lines[i]!.id);
      expect(c < 0 || (c === 0 && lines[i - 1]!.partition < lines[i]!.partition)).toBe(true);
    }
    for (const l of lines) if (l.taskId) expect(l.partition).toBe(partitionOfId(l.taskId, 3));
    expect((await runCli(r.url, ['--namespace', q.namespace, 'verify-export', out])).code).toBe(0);

    // Into a namespace of one partition: refused, naming the line, and nothing stored.
    const one = namespace();
    const refused = await runCli(r.url, ['--namespace', one, 'import', out]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /log\.ndjson:\d+ names partition 2, but the namespace has partitions 0 to 0 \(ERR_UNKNOWN_PARTITION\)/,
    );
    expect(await r.raw().keys(`{${one}}*`)).toEqual([]);
    expect((await runCli(r.url, ['--namespace', one, 'import', '--partitions', 'x', out])).code).toBe(2);

    // Into a new namespace of three: the same tasks, each in its partition, the same history.
    const three = namespace();
    const imported = await runCli(r.url, ['--namespace', three, '--json', 'import', '--partitions', '3', out]);
    expect(imported.stderr).toBe('');
    expect(JSON.parse(imported.stdout)).toMatchObject({ events: lines.length, tasks: ids.length });
    const copy = r.queue({ namespace: three, partitions: 3 });
    for (const id of ids) {
      // A waiting task got a ready entry in the new namespace (a `requeued` event, reason rebuild).
      const { updatedAt: _a, ...original } = (await q.get(id))!;
      const { updatedAt: _b, ...copied } = (await copy.get(id))!;
      expect(copied).toEqual(original);
      const before = await q.history(id);
      expect((await copy.history(id)).slice(0, before.length)).toEqual(before);
    }
    const counts = async (x: typeof q) => {
      const { queues, ended } = await x.stats();
      return { waiting: queues.p!.waiting, running: queues.p!.running, ended };
    };
    expect(await counts(copy)).toEqual(await counts(q));
    expect((await copy.verify()).mismatches).toEqual([]);
  });

  it('shows the partition count, migrates a namespace of one partition, and finishes the migration', async () => {
    const q = r.queue();
    await q.stats();
    const ns = q.namespace;
    const show = async () =>
      JSON.parse((await runCli(r.url, ['--namespace', ns, '--json', 'partitions'])).stdout) as unknown;
    expect(await show()).toEqual({ partitions: 1, migrating: false });
    expect((await runCli(r.url, ['--namespace', ns, 'partitions', '--to', '0'])).code).toBe(2);
    const moved = await runCli(r.url, ['--namespace', ns, '--json', 'partitions', '--to', '3']);
    expect(JSON.parse(moved.stdout)).toEqual({ partitions: 3, migrated: true });
    expect(await show()).toEqual({ partitions: 3, migrating: true });
    const finished = await runCli(r.url, ['--namespace', ns, '--json', 'partitions', '--finish']);
    expect(JSON.parse(finished.stdout)).toEqual({ finished: true, tasksLeft: 0 });
    expect(await show()).toEqual({ partitions: 3, migrating: false });
    const again = await runCli(r.url, ['--namespace', ns, 'partitions', '--to', '4']);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/partition/);
  });
});
