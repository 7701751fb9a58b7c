import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FileArchive, type TaskQueue } from '../src/index.js';
import { confirmDrop } from '../src/cli/retention-commands.js';
import { UNTRIMMED_LOG_WARNING } from '../src/cli/log-health.js';
import { run, runCli, BIN, type Run } from './helpers/cli.js';
import { tempFileArchive } from './helpers/archive.js';
import { sleep, useRedis } from './helpers/fixture.js';
import { adoptNamespace, namespace } from './helpers/redis.js';

const r = useRedis();

const cli = (args: string[]) => runCli(r.url, args);
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- a typed JSON.parse: T names the shape of the CLI's JSON output, which the assertions then check
const parsed = <T = Record<string, unknown>>(out: Run): T => {
  expect(out.stderr).toBe('');
  expect(out.code).toBe(0);
  return JSON.parse(out.stdout) as T;
};

/** Two finished tasks, one failed, one cancelled, one waiting. */
async function populate(q: TaskQueue): Promise<void> {
  const ids = await q.enqueueMany(Array.from({ length: 5 }, (_, i) => ({ queue: 'q', type: 't', spec: { i } })));
  for (const how of ['finish', 'finish', 'fail'] as const) {
    const t = await q.dequeue(['q']);
    await (how === 'finish' ? q.finish(t.id) : q.fail(t.id, { error: 'x' }));
  }
  await q.cancel(ids[3]!);
}

async function keysOf(ns: string): Promise<string[]> {
  const raw = r.raw();
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await raw.scan(cursor, 'MATCH', `{${ns}}:*`, 'COUNT', 1000);
    cursor = next;
    out.push(...keys);
  } while (cursor !== '0');
  return out.sort();
}

describe('taskledger stats and doctor: the log and compaction', { timeout: 120_000 }, () => {
  it('stats prints the log, the archive and the last compaction, and has them in its JSON', async () => {
    const q = r.queue({ retention: { finishedMs: 1 }, compactIntervalMs: 0 });
    await populate(q);
    const before = await cli(['--namespace', q.namespace, 'stats']);
    expect(before.code).toBe(0);
    expect(before.stdout).toMatch(/\n\d+ events in the log \([\d.]+ [KM]?B, oldest \S+ old\) · nothing archived · /);
    expect(before.stdout).toMatch(
      /no compaction has run · 0 B reclaimed and 0 tasks removed in all · ended tasks held: 2 finished, 1 failed, 1 cancelled/,
    );
    await sleep(5);
    await q.compact();
    const after = await cli(['--namespace', q.namespace, 'stats']);
    expect(after.stdout).toMatch(/last compaction \S+ ago \(2 tasks removed, 0 events trimmed, .* reclaimed\)/);
    expect(after.stdout).toMatch(/2 tasks removed in all · ended tasks held: 0 finished, 1 failed, 1 cancelled/);
    const json = parsed<{
      events: number;
      log: { events: number; archiveLagMs: null };
      compaction: { last: { removedTasks: number }; removedTasks: number };
      ended: Record<string, number>;
    }>(await cli(['--namespace', q.namespace, '--json', 'stats']));
    expect(json.log.events).toBe(json.events);
    expect(json.log.archiveLagMs).toBeNull();
    expect(json.compaction).toMatchObject({ last: { removedTasks: 2 }, removedTasks: 2 });
    expect(json.ended).toEqual({ finished: 0, failed: 1, cancelled: 1 });
  });

  it('doctor warns about a large log no compaction has touched, and not once compaction runs', async () => {
    const ns = namespace();
    const raw = r.raw();
    await raw.hset(`{${ns}}:meta`, 'format', '2');
    // The check reads only the log's length and the metadata: entries written straight to the stream do.
    for (let i = 0; i <= UNTRIMMED_LOG_WARNING; i += 10_000) {
      const p = raw.pipeline();
      for (let j = i; j < Math.min(i + 10_000, UNTRIMMED_LOG_WARNING + 1); j++)
        p.xadd(`{${ns}}:events`, '*', 'event', 'enqueued', 'task', `t${j}`);
      await p.exec();
    }
    type Doctor = { checks: { check: string; status: string; detail: string; fix?: string }[] };
    const doctor = async () =>
      parsed<Doctor>(await cli(['--namespace', ns, '--json', 'doctor'])).checks.filter((c) =>
        ['retention', 'archive lag'].includes(c.check),
      );
    expect(await doctor()).toEqual([
      {
        check: 'retention',
        status: 'warn',
        detail: expect.stringMatching(
          /^the log holds 100001 events \(.*, the oldest \S+ old\), and no compaction has ever run/,
        ),
        fix: expect.stringMatching(
          /set retention on the TaskQueue .*"Running in production" \(retention\) in the README/,
        ),
      },
    ]);
    const text = await cli(['--namespace', ns, 'doctor']);
    expect(text.stdout).toMatch(/warn {2}retention {9}the log holds 100001 events/);
    // Retention of ended tasks only: compaction runs, but the log is never trimmed, and still grows.
    expect((await cli(['--namespace', ns, 'compact', '--finished-ms', '1000'])).code).toBe(0);
    expect(await doctor()).toEqual([
      expect.objectContaining({
        check: 'retention',
        status: 'warn',
        detail: expect.stringMatching(/never trimmed \(last compaction \S+ ago, removing ended tasks only\)/),
        fix: expect.stringMatching(/set retention.logMs/),
      }),
    ]);
    // A trimmed log is fine.
    expect((await cli(['--namespace', ns, 'compact', '--log-ms', '1', '--no-archive'])).code).toBe(0);
    expect(await doctor()).toEqual([
      expect.objectContaining({
        check: 'retention',
        status: 'ok',
        detail: expect.stringMatching(/^the log holds \d+ events .*; last compaction \S+ ago, /),
      }),
    ]);
  });

  it('doctor shows the archive lag once something is archived, and warns when it falls far behind logMs', async () => {
    const q = r.queue({ retention: { logMs: 1 }, archive: tempFileArchive(), compactIntervalMs: 0 });
    await populate(q);
    await sleep(5);
    await q.compact();
    type Doctor = { checks: { check: string; status: string; detail: string; fix?: string }[] };
    const lagCheck = async (ns: string) =>
      parsed<Doctor>(await cli(['--namespace', ns, '--json', 'doctor'])).checks.find((c) => c.check === 'archive lag');
    expect(await lagCheck(q.namespace)).toEqual({
      check: 'archive lag',
      status: 'ok',
      detail: expect.stringMatching(/^the oldest entry not archived is \S+ old \(retention.logMs 1ms\)$/),
    });
    // A namespace whose archive stopped an hour ago, with logMs one minute: a log written by hand.
    const ns = namespace();
    const raw = r.raw();
    const [now] = await raw.time();
    const hourAgo = Number(now) * 1000 - 3_600_000;
    await raw.xadd(`{${ns}}:events`, `${hourAgo}-0`, 'event', 'enqueued', 'task', 'a');
    await raw.xadd(`{${ns}}:events`, `${hourAgo + 1}-0`, 'event', 'enqueued', 'task', 'b');
    const compacted = await raw.xadd(
      `{${ns}}:events`,
      `${hourAgo + 2}-0`,
      'event',
      'compacted',
      'retention',
      '{"logMs":60000}',
    );
    await raw.hset(`{${ns}}:meta`, 'format', '2', 'archivedTo', `${hourAgo}-0`, 'compacted', compacted!);
    expect(await lagCheck(ns)).toEqual({
      check: 'archive lag',
      status: 'warn',
      detail: 'the oldest entry not archived is 1h old (retention.logMs 1m)',
      fix: expect.stringMatching(/compaction is not keeping up, or not running/),
    });
  });
});

describe('taskledger compact', { timeout: 120_000 }, () => {
  it('says why it does nothing without retention flags', async () => {
    const q = r.queue();
    await populate(q);
    const out = await cli(['--namespace', q.namespace, 'compact']);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^nothing done: no retention configured: nothing to compact \(give --finished-ms/);
    expect(parsed(await cli(['--namespace', q.namespace, '--json', 'compact']))).toMatchObject({
      skipped: 'no retention configured: nothing to compact',
      removedTasks: 0,
    });
  });

  it('a dry run counts, a pass removes and trims; both print the report', async () => {
    const q = r.queue();
    await populate(q);
    await sleep(5);
    const events = await r.raw().xlen(`{${q.namespace}}:events`);
    const args = ['--finished-ms', '1', '--failed-ms', '1', '--log-ms', '1', '--no-archive'];
    const dry = await cli(['--namespace', q.namespace, 'compact', '--dry-run', ...args]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/dry run \(nothing written\):\n {2}3 ended tasks would be removed\n/);
    expect(dry.stdout).toMatch(new RegExp(`  ${events} events would be trimmed: the log would start at \\d+-\\d+`));
    expect(await r.raw().xlen(`{${q.namespace}}:events`)).toBe(events);
    const report = parsed<{ dryRun: boolean; removedTasks: number; trimmedEvents: number; snapshots: number }>(
      await cli(['--namespace', q.namespace, '--json', 'compact', ...args]),
    );
    expect(report).toMatchObject({ dryRun: false, removedTasks: 3, snapshots: 2 });
    expect(report.trimmedEvents).toBeGreaterThanOrEqual(events);
    expect((await q.stats()).ended).toEqual({ finished: 0, failed: 0, cancelled: 1 });
    expect((await q.verify()).mismatches).toEqual([]);
    const text = await cli(['--namespace', q.namespace, 'compact', '--cancelled-ms', '1']);
    expect(text.stdout).toMatch(/^compaction of ".*" done in \S+:\n {2}1 ended tasks removed\n/);
    expect(text.stdout).toMatch(/of log memory reclaimed \(an estimate\)/);
  });

  it('--log-ms with --archive DIR archives the log before trimming it', async () => {
    const q = r.queue();
    await populate(q);
    const dir = mkdtempSync(join(tmpdir(), 'taskledger-cli-compact-'));
    await new Promise((res) => setTimeout(res, 5));
    const run = await cli(['--namespace', q.namespace, '--json', 'compact', '--log-ms', '1', '--archive', dir]);
    expect(run.stderr).toBe('');
    const report = JSON.parse(run.stdout) as { archivedEvents: number; trimmedEvents: number };
    expect(report.archivedEvents).toBeGreaterThan(0);
    expect(report.trimmedEvents).toBe(report.archivedEvents);
    expect((await new FileArchive(dir).verify()).ok).toBe(true);
    expect((await q.verify()).mismatches).toEqual([]);
  });

  it('refuses bad flags with a usage error, and --no-archive on a namespace that archives', async () => {
    const q = r.queue();
    await populate(q);
    const noArchive = await cli(['--namespace', q.namespace, 'compact', '--log-ms', '1000']);
    expect(noArchive.code).toBe(2);
    expect(noArchive.stdout).toBe('');
    expect(noArchive.stderr).toMatch(
      /^taskledger: retention.logMs trims the log: give an archive .* \(here: --archive DIR, or --no-archive\)\n$/,
    );
    const json = await cli(['--namespace', q.namespace, '--json', 'compact', '--log-ms', '1000']);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: expect.stringMatching(/retention.logMs/), exitCode: 2 });
    const notNumber = await cli(['--namespace', q.namespace, 'compact', '--finished-ms', '1d']);
    expect(notNumber.code).toBe(2);
    expect(notNumber.stderr).toMatch(/--finished-ms must be a whole number of milliseconds, got "1d"/);
    const tooLong = await cli(['--namespace', q.namespace, 'compact', '--failed-ms', '999999999999999']);
    expect(tooLong.code).toBe(2);
    expect(tooLong.stderr).toMatch(/retention.failedMs/);
    // A namespace whose log goes to an archive is not trimmed past it from here.
    const archived = r.queue({ retention: { logMs: 1 }, archive: tempFileArchive(), compactIntervalMs: 0 });
    await populate(archived);
    await sleep(5);
    await archived.compact();
    await populate(archived);
    const events = await r.raw().xlen(`{${archived.namespace}}:events`);
    const gap = await cli(['--namespace', archived.namespace, 'compact', '--log-ms', '1', '--no-archive']);
    expect(gap.code).toBe(6);
    expect(gap.stderr).toMatch(/archives its log .* would leave a gap in that archive/);
    expect(await r.raw().xlen(`{${archived.namespace}}:events`)).toBe(events);
    expect((await cli(['--namespace', 'no-such-namespace', 'compact', '--finished-ms', '1'])).code).toBe(5);
  });
});

describe('taskledger drop', { timeout: 120_000 }, () => {
  it('deletes every key of the namespace and nothing of any other, however alike their names', async () => {
    const target = r.queue();
    const ns = target.namespace;
    // `ns` is a prefix of the other's name, and the other even holds a reference naming ns's keys.
    const longer = `${ns}b`;
    adoptNamespace(longer);
    const other = r.queue({ namespace: longer });
    for (const q of [target, other]) {
      await populate(q);
      await q.enqueue({ queue: 'refs', type: 't', references: { tag: `{${ns}}:task:x` } });
    }
    const theirs = await keysOf(longer);
    const ours = await keysOf(ns);
    expect(ours.length).toBeGreaterThan(10);
    expect(theirs.some((k) => k.includes(`{${ns}}:`))).toBe(true);
    await target.close();
    const out = parsed<{ namespace: string; keys: number; complete: boolean }>(
      await cli(['--namespace', ns, '--json', 'drop', '--yes']),
    );
    expect(out).toEqual({ namespace: ns, keys: ours.length, complete: true });
    expect(await keysOf(ns)).toEqual([]);
    expect(await keysOf(longer)).toEqual(theirs);
    expect((await other.verify()).mismatches).toEqual([]);
    // Gone: a second drop finds nothing, as does any command.
    const again = await cli(['--namespace', ns, 'drop', '--yes']);
    expect(again.code).toBe(5);
    expect(again.stderr).toMatch(/namespace ".*" does not exist here/);
    expect((await cli(['--namespace', ns, 'stats'])).code).toBe(5);
    const text = await cli(['--namespace', longer, 'drop', '--yes']);
    expect(text.stdout).toBe(`dropped namespace "${longer}": ${theirs.length} keys deleted\n`);
  });

  it('asks for the name on a terminal, refuses without one, and never falls back on the default namespace', async () => {
    const q = r.queue();
    await populate(q);
    const keys = await keysOf(q.namespace);
    const noTty = await cli(['--namespace', q.namespace, 'drop']);
    expect(noTty.code).toBe(2);
    expect(noTty.stderr).toMatch(
      /not dropping namespace ".*" without confirmation: this is not a terminal, so pass --yes/,
    );
    const noName = await cli(['drop', '--yes']);
    expect(noName.code).toBe(2);
    expect(noName.stderr).toMatch(/name it with --namespace NAME \(there is no default\)/);
    expect(await keysOf(q.namespace)).toEqual(keys);

    // On a terminal (a pseudo-terminal from util-linux `script`, where there is one).
    const script = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;
    if (!script) return;
    const onTty = (answer: string) => {
      const command = [process.execPath, BIN, '--redis', r.url, '--namespace', q.namespace, 'drop']
        .map((a) => `'${a}'`)
        .join(' ');
      return run('sh', ['-c', `(sleep 0.5; echo '${answer}') | script -qec "${command}" /dev/null`]);
    };
    const wrong = await onTty('not-it');
    expect(wrong.code).toBe(6);
    expect(wrong.stdout).toMatch(/This deletes every key of namespace ".*": \d+ events in the log, 0 running tasks/);
    expect(wrong.stdout).toMatch(/type the namespace name to confirm:/);
    expect(wrong.stdout).toMatch(/not dropped: the name typed was not/);
    expect(await keysOf(q.namespace)).toEqual(keys);
    const right = await onTty(q.namespace);
    expect(right.code).toBe(0);
    expect(right.stdout).toMatch(new RegExp(`dropped namespace "${q.namespace}": ${keys.length} keys deleted`));
    expect(await keysOf(q.namespace)).toEqual([]);
  });

  it('confirmDrop: true only for the exact name typed back', async () => {
    const ask = async (typed: string | null) => {
      const input = new PassThrough();
      const output = new PassThrough();
      let shown = '';
      output.on('data', (d: Buffer) => (shown += d.toString()));
      const answer = confirmDrop('shop', 'This deletes shop.', input, output);
      if (typed === null) input.end();
      else input.write(`${typed}\n`);
      return { ok: await answer, shown };
    };
    expect(await ask('shop')).toEqual({ ok: true, shown: 'This deletes shop.\ntype the namespace name to confirm: ' });
    expect((await ask('  shop  ')).ok).toBe(true);
    expect((await ask('shop2')).ok).toBe(false);
    expect((await ask('')).ok).toBe(false);
    expect((await ask(null)).ok).toBe(false); // the input ended
  });
});
