import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Scheduler } from '../src/index.js';
import { until, useRedis } from './helpers/fixture.js';
import { freePort, namespace, tempDir } from './helpers/redis.js';
import { BIN, runCli, type Run } from './helpers/cli.js';

const r = useRedis();

const cli = (args: string[], { url = r.url, timeoutMs = 60_000 } = {}): Promise<Run> => runCli(url, args, timeoutMs);
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- a typed JSON.parse: T names the shape of the CLI's JSON output, which the assertions then check
const parsed = <T = Record<string, unknown>>(run: Run): T => {
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as T;
};

/** A namespace with finished, failed, cancelled, waiting, delayed and running tasks. */
async function populated() {
  const q = r.queue();
  const ids = await q.enqueueMany([
    { queue: 'mail', type: 'send', spec: { to: 'a' }, references: { account: 1 } },
    { queue: 'mail', type: 'send', spec: { to: 'b' }, references: { account: 1 } },
    { queue: 'mail', type: 'send', spec: { to: 'c' } },
    { queue: 'mail', type: 'send', spec: { to: 'd' } },
    { queue: 'mail', type: 'send', spec: { to: 'e' }, delayMs: 3_600_000 },
    { queue: 'img', type: 'resize' },
  ]);
  const a = await q.dequeue(['mail']);
  await q.heartbeat(a.id, { pct: 50 });
  await q.finish(a.id, { ok: true });
  const b = await q.dequeue(['mail']);
  await q.fail(b.id, { error: 'smtp 550' });
  await q.cancel(ids[2]!);
  const running = await q.dequeue(['mail']);
  return {
    q,
    ns: q.namespace,
    ids,
    finished: a.id,
    failed: b.id,
    cancelled: ids[2]!,
    running: running.id,
    delayed: ids[4]!,
  };
}

// Each test runs the command line several times, a process each: minutes on a loaded machine.
describe('taskledger command line', { timeout: 120_000 }, () => {
  it('stats: per-queue counts as a table and as JSON', async () => {
    const p = await populated();
    const table = await cli(['--namespace', p.ns, 'stats']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/QUEUE\s+WAITING\s+DELAYED\s+RUNNING\s+FINISHED\s+FAILED\s+CANCELLED/);
    const out = parsed<{ queues: Record<string, unknown>[]; events: number }>(
      await cli(['--namespace', p.ns, '--json', 'stats']),
    );
    expect(out.queues.find((x) => x.queue === 'mail')).toMatchObject({
      waiting: 0,
      delayed: 1,
      running: 1,
      finished: 1,
      failed: 1,
      cancelled: 1,
      finishedLastMinute: 1,
      failedLastMinute: 1,
    });
    expect(out.queues.find((x) => x.queue === 'img')).toMatchObject({ waiting: 1 });
    // --watch refreshes until interrupted.
    const child = spawn(process.execPath, [
      BIN,
      '--redis',
      r.url,
      '--namespace',
      p.ns,
      '--json',
      'stats',
      '--watch',
      '--interval',
      '100',
    ]);
    let frames = '';
    child.stdout.on('data', (d: Buffer) => (frames += d.toString()));
    const exited = new Promise((res) => child.on('exit', res));
    await until(() => frames.trim().split('\n').length >= 3, 20_000);
    child.kill('SIGINT');
    await exited;
    // One JSON document per refresh, each a complete reading.
    const readings = frames
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { queues: { queue: string }[] });
    expect(readings.length).toBeGreaterThanOrEqual(3);
    for (const reading of readings) expect(reading.queues.map((x) => x.queue).sort()).toEqual(['img', 'mail']);
  });

  it('tasks: lists by queue and status, newest first or oldest first, with paging', async () => {
    const p = await populated();
    const list = async (...args: string[]) =>
      parsed<{ tasks: { id: string; status: string }[]; next: string | null }>(
        await cli(['--namespace', p.ns, '--json', 'tasks', '--queue', 'mail', ...args]),
      );
    expect((await list('--status', 'finished')).tasks.map((t) => t.id)).toEqual([p.finished]);
    expect((await list('--status', 'failed')).tasks.map((t) => t.id)).toEqual([p.failed]);
    expect((await list('--status', 'cancelled')).tasks.map((t) => t.id)).toEqual([p.cancelled]);
    expect((await list('--status', 'running')).tasks.map((t) => t.id)).toEqual([p.running]);
    expect((await list('--status', 'delayed')).tasks.map((t) => t.id)).toEqual([p.delayed]);
    const q2 = r.queue({ namespace: p.ns });
    const more = await q2.enqueueMany(Array.from({ length: 5 }, () => ({ queue: 'mail', type: 'send' })));
    const page1 = await list('--status', 'waiting', '--oldest', '--limit', '3');
    expect(page1.tasks.map((t) => t.id)).toEqual(more.slice(0, 3));
    const page2 = await list('--status', 'waiting', '--oldest', '--limit', '3', '--after', page1.next!);
    expect(page2.tasks.map((t) => t.id)).toEqual(more.slice(3));
    expect(page2.next).toBeNull();
    expect((await list('--status', 'waiting', '--limit', '1')).tasks.map((t) => t.id)).toEqual([more[4]]);
    const bad = await cli(['--namespace', p.ns, 'tasks', '--queue', 'mail', '--status', 'lost']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--status must be one of/);
  });

  it('show: the task and its timeline', async () => {
    const p = await populated();
    const out = parsed<{ task: { id: string; status: string }; history: { type: string }[] }>(
      await cli(['--namespace', p.ns, '--json', 'show', p.finished]),
    );
    expect(out.task).toMatchObject({ id: p.finished, status: 'finished' });
    expect(out.history.map((e) => e.type)).toEqual(['enqueued', 'started', 'progress', 'finished']);
    const text = await cli(['--namespace', p.ns, 'show', p.failed]);
    expect(text.stdout).toMatch(/TIME\s+EVENT\s+ATTEMPT\s+DETAIL/);
    expect(text.stdout).toMatch(/failed\s+1\s+\{"error":"smtp 550"\}/);
  });

  it('events: replays, filters by task and type, and follows live', async () => {
    const p = await populated();
    const lines = (run: Run) =>
      run.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { type: string; taskId: string; id: string });
    const all = lines(await cli(['--namespace', p.ns, '--json', 'events']));
    expect(all.length).toBe(6 + 3 + 1 + 1 + 1 + 1); // 6 enqueued, 3 started, progress, finished, failed, cancelled
    expect(all.filter((e) => e.type === 'enqueued')).toHaveLength(6);
    expect(lines(await cli(['--namespace', p.ns, '--json', 'events', '--task', p.failed])).map((e) => e.type)).toEqual([
      'enqueued',
      'started',
      'failed',
    ]);
    expect(
      lines(await cli(['--namespace', p.ns, '--json', 'events', '--type', 'cancelled'])).map((e) => e.taskId),
    ).toEqual([p.cancelled]);
    expect(lines(await cli(['--namespace', p.ns, '--json', 'events', '--from', all[5]!.id]))[0]!.id).toBe(all[5]!.id);
    const child = spawn(process.execPath, [
      BIN,
      '--redis',
      r.url,
      '--namespace',
      p.ns,
      '--json',
      'events',
      '--follow',
      '--type',
      'enqueued',
    ]);
    let live = '';
    child.stdout.on('data', (d: Buffer) => (live += d.toString()));
    const exited = new Promise((res) => child.on('exit', res));
    // The replay first (the 6 enqueued events), so the late one arrives while it follows.
    await until(() => live.split('\n').length > 6, 20_000);
    const late = await r.queue({ namespace: p.ns }).enqueue({ queue: 'mail', type: 'late' });
    await until(() => live.includes(late), 20_000);
    child.kill('SIGINT');
    expect(await exited).toBe(0);
  });

  it('cancel, retry and delete operate on tasks; verify and rebuild check and repair', async () => {
    const p = await populated();
    const c = parsed(await cli(['--namespace', p.ns, '--json', 'cancel', p.running]));
    expect(c).toEqual({ id: p.running, cancelled: true, changed: true });
    expect(parsed(await cli(['--namespace', p.ns, '--json', 'retry', p.failed]))).toEqual({
      id: p.failed,
      waiting: true,
      changed: true,
    });
    expect((await p.q.get(p.failed))?.status).toBe('waiting');
    const refused = await cli(['--namespace', p.ns, 'cancel', p.finished]);
    expect(refused.code).toBe(6);
    expect(refused.stderr).toMatch(/has finished/);
    expect(parsed(await cli(['--namespace', p.ns, '--json', 'delete', '--reference', 'account=1', '--yes']))).toEqual({
      tasks: 2,
      schedules: 0,
    });
    expect(await p.q.get(p.finished)).toBeNull();
    expect(parsed(await cli(['--namespace', p.ns, '--json', 'verify']))).toMatchObject({ mismatches: [] });
    await r.raw().hset(`{${p.ns}}:task:${p.cancelled}`, 'status', 'running');
    const bad = await cli(['--namespace', p.ns, 'verify']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/1 mismatches|2 mismatches/);
    expect(parsed<{ tasks: number }>(await cli(['--namespace', p.ns, '--json', 'rebuild'])).tasks).toBeGreaterThan(0);
    expect((await cli(['--namespace', p.ns, 'verify'])).code).toBe(0);
  });

  it('schedules, schedule add and schedule remove', async () => {
    const ns = namespace();
    const added = parsed<{ id: string; cronSchedule: string; nextRunAt: string }>(
      await cli([
        '--namespace',
        ns,
        '--json',
        'schedule',
        'add',
        '--queue',
        'reports',
        '--type',
        'daily',
        '--cron',
        '0 9 * * *',
        '--timezone',
        'Europe/Berlin',
        '--spec',
        '{"format":"pdf"}',
        '--reference',
        'tenant=7',
      ]),
    );
    expect(added).toMatchObject({ cronSchedule: '0 9 * * *' });
    const list = parsed<{ id: string; references: unknown; spec: unknown }[]>(
      await cli(['--namespace', ns, '--json', 'schedules']),
    );
    expect(list).toMatchObject([{ id: added.id, references: { tenant: 7 }, spec: { format: 'pdf' } }]);
    const bad = await cli([
      '--namespace',
      ns,
      'schedule',
      'add',
      '--queue',
      'q',
      '--type',
      't',
      '--cron',
      '61 * * * *',
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/invalid cron "61 \* \* \* \*"/);
    expect(
      parsed(
        await cli([
          '--namespace',
          ns,
          '--json',
          'schedule',
          'remove',
          '--queue',
          'reports',
          '--type',
          'daily',
          '--reference',
          'tenant=7',
        ]),
      ),
    ).toEqual({ removed: true });
    expect(
      (
        await cli([
          '--namespace',
          ns,
          'schedule',
          'remove',
          '--queue',
          'reports',
          '--type',
          'daily',
          '--reference',
          'tenant=7',
        ])
      ).code,
    ).toBe(3);
    await new Scheduler({ connection: r.url, namespace: ns }).stop();
  });

  it('doctor checks the Redis and says what to change', async () => {
    // What doctor reports follows the server's settings, and the test changes one: on a server this process
    // started (appendonly no, maxmemory-policy as it comes), never REDIS_URL's.
    const own = await r.ownServer();
    const raw = own.raw();
    const fresh = namespace();
    const out = parsed<{ ok: boolean; checks: { check: string; status: string; fix?: string; detail: string }[] }>(
      await cli(['--namespace', fresh, '--json', 'doctor'], { url: own.url }),
    );
    // Looking does not create: a namespace without data is reported as such, and stays without data.
    expect(out.checks.find((c) => c.check === 'format version')).toMatchObject({
      status: 'warn',
      detail: expect.stringMatching(/has no data yet/),
    });
    expect(await raw.exists(`{${fresh}}:meta`)).toBe(0);
    expect(out.checks.map((c) => c.check)).toEqual([
      'Redis version',
      'maxmemory-policy',
      'persistence',
      'format version',
      'clock skew',
    ]);
    expect(out.checks.find((c) => c.check === 'persistence')).toMatchObject({
      status: 'warn',
      fix: expect.stringMatching(/appendonly yes/),
    });
    const policy = ((await raw.config('GET', 'maxmemory-policy')) as string[])[1]!;
    await raw.config('SET', 'maxmemory-policy', 'allkeys-lru');
    try {
      const failing = await cli(['--namespace', namespace(), 'doctor'], { url: own.url });
      expect(failing.code).toBe(1);
      expect(failing.stdout).toMatch(/FAIL\s+maxmemory-policy\s+allkeys-lru\n\s+→ set maxmemory-policy noeviction/);
    } finally {
      await raw.config('SET', 'maxmemory-policy', policy);
    }
  });

  it('exits with clear errors: unknown task, unreachable Redis, bad arguments, missing namespace', async () => {
    const p = await populated();
    expect((await cli(['--namespace', p.ns, 'events', '--task', '01UNKNOWNUNKNOWNUNKNOWNUNK'])).code).toBe(3);
    const unknown = await cli(['--namespace', p.ns, '--json', 'show', '01UNKNOWNUNKNOWNUNKNOWNUNK']);
    expect(unknown.code).toBe(3);
    expect(JSON.parse(unknown.stdout)).toMatchObject({ error: expect.stringMatching(/not found/), exitCode: 3 });
    const port = await freePort();
    const started = Date.now();
    const down = await cli(['stats'], { url: `redis://127.0.0.1:${port}` });
    expect(down.code).toBe(4);
    expect(down.stderr).toMatch(/cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+/);
    expect(Date.now() - started).toBeLessThan(15_000);
    const usage = await cli(['tasks', '--queue', 'q']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/required option '--status/);
    expect(usage.stderr).toMatch(/Usage: taskledger tasks/);
    const missing = await cli(['--namespace', 'no-such-namespace', 'stats']);
    expect(missing.code).toBe(5);
    expect(missing.stderr).toMatch(/namespace "no-such-namespace" does not exist/);
    expect(await r.raw().exists('{no-such-namespace}:meta')).toBe(0); // looking did not create it
  });

  it('export of 100,000 events round-trips through verify-export and import', async () => {
    const q = r.queue();
    for (let i = 0; i < 20; i++) {
      await q.enqueueMany(
        Array.from({ length: 5000 }, (_, j) => ({
          queue: `q${j % 3}`,
          type: 'bulk',
          spec: { i, j },
          references: { batch: i },
        })),
      );
    }
    // About 24 MB of export, removed however the test ends.
    const tmp = tempDir('export');
    onTestFinished(() => tmp.remove());
    const dir = tmp.path;
    const file = join(dir, 'log.ndjson');
    const exported = parsed<{ events: number }>(
      await cli(['--namespace', q.namespace, '--json', 'export', '--out', file], { timeoutMs: 120_000 }),
    );
    expect(exported.events).toBe(100_000);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(100_000);
    expect(JSON.parse(lines[0]!)).toMatchObject({ type: 'enqueued', data: { queue: 'q0', spec: { i: 0, j: 0 } } });
    expect(
      parsed(await cli(['--namespace', q.namespace, '--json', 'verify-export', file], { timeoutMs: 120_000 })),
    ).toEqual({ file, events: 100_000, mismatches: [] });
    // A tampered line is caught, with its line number.
    const tampered = join(dir, 'tampered.ndjson');
    writeFileSync(tampered, [lines[0], lines[1]!.replace('"bulk"', '"bulk!"'), lines[2]].join('\n') + '\n');
    const caught = await cli(['--namespace', q.namespace, '--json', 'verify-export', tampered]);
    expect(caught.code).toBe(1);
    expect(JSON.parse(caught.stdout).mismatches).toEqual([
      expect.stringMatching(/^line 2: event .* differs from the log/),
    ]);
    // Importing a slice into a fresh namespace rebuilds the same tasks.
    const slice = join(dir, 'slice.ndjson');
    writeFileSync(slice, lines.slice(0, 1000).join('\n') + '\n');
    const ns2 = namespace();
    expect(parsed(await cli(['--namespace', ns2, '--json', 'import', slice]))).toEqual({
      file: slice,
      events: 1000,
      tasks: 1000,
    });
    const first = JSON.parse(lines[0]!) as { taskId: string };
    const imported = r.queue({ namespace: ns2 });
    // The same task; being waiting with no ready stream in the new namespace, it got a ready entry (an event).
    const { updatedAt: _a, ...original } = (await q.get(first.taskId))!;
    const { updatedAt: _b, ...copy } = (await imported.get(first.taskId))!;
    expect(copy).toEqual(original);
    expect((await imported.history(first.taskId)).map((e) => e.data.reason ?? e.type)).toEqual(['enqueued', 'rebuild']);
    expect((await imported.verify()).mismatches).toEqual([]);
    expect((await cli(['--namespace', ns2, 'import', slice])).code).toBe(6); // not into a namespace with events
  }, 180_000);
});
