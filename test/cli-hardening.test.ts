import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { until, useRedis } from './helpers/fixture.js';
import { freePort } from './helpers/redis.js';
import { BIN, run, runCli, type Run } from './helpers/cli.js';

const r = useRedis();

const cli = (args: string[]): Promise<Run> => runCli(r.url, args);
const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;

/** A namespace with waiting, finished and failed tasks in queue `mail`. */
async function populated() {
  const q = r.queue();
  const ids = await q.enqueueMany(
    Array.from({ length: 6 }, (_, i) => ({ queue: 'mail', type: 'send', spec: { i }, references: { account: i % 2 } })),
  );
  const a = await q.dequeue(['mail']);
  await q.finish(a.id, { ok: true });
  const b = await q.dequeue(['mail']);
  await q.finish(b.id, { ok: true });
  return { q, ns: q.namespace, ids };
}

describe('command line: bad input is refused with exit 2, naming the rule', { timeout: 120_000 }, () => {
  it('stats --interval, --after, --from, --to, --type, --namespace and --redis', async () => {
    const { ns } = await populated();
    for (const interval of ['abc', '0', '-5', '10', '1e3']) {
      const bad = await cli(['--namespace', ns, 'stats', '--watch', '--interval', interval]);
      expect(bad.code, interval).toBe(2);
      expect(bad.stderr, interval).toMatch(/--interval must be a whole number of ms from 100 to 3600000/);
    }
    for (const status of ['waiting', 'finished', 'running']) {
      const bad = await cli(['--namespace', ns, 'tasks', '--queue', 'mail', '--status', status, '--after', 'x!']);
      expect(bad.code, status).toBe(2);
      expect(bad.stderr, status).toMatch(/after must be a cursor a page printed/);
    }
    const from = await cli(['--namespace', ns, 'events', '--from', 'nope']);
    expect(from.code).toBe(2);
    expect(from.stderr).toMatch(/--from must be an event id/);
    for (const flag of ['--from', '--to']) {
      const bad = await cli(['--namespace', ns, 'export', '--out', '/dev/null', flag, 'nope']);
      expect(bad.code, flag).toBe(2);
      expect(bad.stderr, flag).toMatch(new RegExp(`${flag} must be an event id`));
    }
    const type = await cli(['--namespace', ns, 'events', '--type', 'nonsense']);
    expect(type.code).toBe(2);
    expect(type.stderr).toMatch(/--type must be one of enqueued, started, .*; got "nonsense"/);
    const colon = await cli(['--namespace', 'a:b', 'stats']);
    expect(colon.code).toBe(2);
    expect(colon.stderr).toMatch(/namespace "a:b" must be 1 to 64 letters, digits/);
    const url = await run(process.execPath, [BIN, '--redis', 'notaurl', 'stats']);
    expect(url.code).toBe(2);
    expect(url.stderr).toMatch(/--redis \(or REDIS_URL\) must be a URL such as redis:\/\/host:6379/);
    // A refused port: exit 4, with the address and why.
    const port = await freePort();
    const refused = await run(process.execPath, [BIN, '--redis', `redis://127.0.0.1:${port}`, 'stats']);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain(
      `cannot reach Redis at redis://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}`,
    );
  });

  it('export to a directory that does not exist (and import or verify-export of a missing file) is a usage error, not a crash', async () => {
    const { ns } = await populated();
    const out = await cli(['--namespace', ns, 'export', '--out', '/missing/dir/x']);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/^taskledger: cannot use \/missing\/dir\/x: ENOENT/);
    expect(out.stderr).not.toMatch(/\n\s+at /);
    for (const command of ['verify-export', 'import']) {
      const missing = await cli(['--namespace', ns, command, '/missing/dir/x']);
      expect(missing.code, command).toBe(2);
      expect(missing.stderr, command).toMatch(/^taskledger: cannot use \/missing\/dir\/x: ENOENT/);
    }
  });
});

describe('command line: what it adds', { timeout: 120_000 }, () => {
  it('--version, and help for schedule add and remove', async () => {
    const version = await run(process.execPath, [BIN, '--version']);
    expect(version).toMatchObject({ code: 0, stdout: `${VERSION}\n` });
    const add = await run(process.execPath, [BIN, 'schedule', 'add', '--help']);
    expect(add.stdout).toMatch(/add a cron schedule/);
    const remove = await run(process.execPath, [BIN, 'schedule', 'remove', '--help']);
    expect(remove.stdout).toMatch(/remove the cron schedule/);
    const schedule = await run(process.execPath, [BIN, 'schedule', '--help']);
    expect(schedule.stdout).toMatch(/add \[options\] +add a cron schedule/);
    expect(schedule.stdout).toMatch(/remove \[options\] +remove the cron schedule/);
  });

  it("events --from '$' --follow shows only events written after it started", async () => {
    const { q, ns, ids } = await populated();
    expect((await cli(['--namespace', ns, 'events', '--from', '$'])).code).toBe(2); // needs --follow
    const child = spawn(process.execPath, [
      BIN,
      '--redis',
      r.url,
      '--namespace',
      ns,
      '--json',
      'events',
      '--from',
      '$',
      '--follow',
    ]);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise((res) => child.on('exit', res));
    const fresh: string[] = [];
    // Enqueued until the follower shows one: it may not be reading yet when the first ones are written.
    await until(async () => {
      fresh.push(await q.enqueue({ queue: 'mail', type: 'late' }));
      return out.includes('"late"');
    }, 20_000);
    child.kill('SIGINT');
    await exited;
    const shown = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { taskId: string });
    expect(shown.length).toBeGreaterThan(0);
    for (const e of shown) {
      expect(ids).not.toContain(e.taskId);
      expect(fresh).toContain(e.taskId);
    }
  });

  it('output cut short (events | head) ends the command quietly', async () => {
    const q = r.queue();
    for (let i = 0; i < 4; i++)
      await q.enqueueMany(Array.from({ length: 2500 }, (_, j) => ({ queue: 'bulk', type: 't', spec: { i, j } })));
    const child = spawn(process.execPath, [BIN, '--redis', r.url, '--namespace', q.namespace, 'events'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = new Promise<number | null>((res) => child.on('exit', res));
    // As `head -1` does: read the first chunk, then close the pipe.
    await new Promise((res) => child.stdout.once('data', res));
    child.stdout.destroy();
    expect(await code).toBe(0);
    expect(stderr).toBe('');
  });

  it('delete --reference asks first: --dry-run counts, --yes deletes, and off a terminal it needs one of them', async () => {
    const { q, ns, ids } = await populated();
    const refused = await cli(['--namespace', ns, 'delete', '--reference', 'account=0']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/pass --yes \(or --dry-run to count\)/);
    const dry = await cli(['--namespace', ns, '--json', 'delete', '--reference', 'account=0', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)).toEqual({ tasks: 3, schedules: 0, dryRun: true });
    expect((await Promise.all(ids.map((id) => q.get(id)))).filter(Boolean)).toHaveLength(6);
    const yes = await cli(['--namespace', ns, '--json', 'delete', '--reference', 'account=0', '--yes']);
    expect(JSON.parse(yes.stdout)).toEqual({ tasks: 3, schedules: 0 });
    expect((await Promise.all(ids.map((id) => q.get(id)))).filter(Boolean)).toHaveLength(3);
  });

  it('tasks prints the next-page cursor only when another page follows', async () => {
    const { ns } = await populated();
    const page = (status: string, limit: number) =>
      cli(['--namespace', ns, 'tasks', '--queue', 'mail', '--status', status, '--limit', String(limit)]);
    // 4 waiting, 2 finished.
    expect((await page('waiting', 4)).stdout).not.toMatch(/more: --after/);
    expect((await page('waiting', 3)).stdout).toMatch(/more: --after \d+-\d+/);
    expect((await page('finished', 2)).stdout).not.toMatch(/more: --after/);
    const first = await page('finished', 1);
    const cursor = /more: --after (\S+)/.exec(first.stdout)![1]!;
    const second = await cli([
      '--namespace',
      ns,
      'tasks',
      '--queue',
      'mail',
      '--status',
      'finished',
      '--limit',
      '1',
      '--after',
      cursor,
    ]);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/finished/);
    expect(second.stdout).not.toMatch(/more: --after/);
  });

  // `script` gives the command a terminal, as a user's would be.
  it.runIf(existsSync('/usr/bin/script'))(
    'show neutralises escape sequences, C1 controls and bidi characters on a terminal',
    async () => {
      const q = r.queue();
      const id = await q.enqueue({ queue: 'mail', type: 'send', spec: { note: 'x\u009b2J\u202eevil' } });
      await q.dequeue(['mail']);
      await q.finish(id, '\u001b[2J\u001b]0;owned\u0007 done \u202egnp.exe');
      // As an older version could have stored it: a queue name with an escape sequence.
      await r.raw().hset(`{${q.namespace}}:task:${id}`, 'queue', 'mail\u001b[31m');
      const command = [process.execPath, BIN, '--redis', r.url, '--namespace', q.namespace, 'show', id]
        .map((a) => `'${a}'`)
        .join(' ');
      const tty = await run('/usr/bin/script', ['-qec', command, '/dev/null']);
      expect(tty.code).toBe(0);
      expect(tty.stdout).toMatch(/queue mail\\u001b\[31m/);
      expect(tty.stdout).toContain('\\u001b[2J\\u001b]0;owned\\u0007 done \\u202egnp.exe');
      expect(tty.stdout).toContain('\\u009b2J\\u202eevil');
      // eslint-disable-next-line no-control-regex -- what must not reach the terminal
      expect(tty.stdout).not.toMatch(/[\u001b\u0007\u009b\u202e]/);
      // Through a pipe the stored text is kept as it is (scripts read it).
      const piped = await runCli(r.url, ['--namespace', q.namespace, 'show', id]);
      expect(piped.stdout).toContain('\u001b]0;owned\u0007');
    },
  );
});
