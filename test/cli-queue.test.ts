import { describe, expect, it } from 'vitest';
import { useRedis } from './helpers/fixture.js';
import { runCli, type Run } from './helpers/cli.js';

const r = useRedis();
const cli = (args: string[]): Promise<Run> => runCli(r.url, args);

describe('taskledger queue', { timeout: 120_000 }, () => {
  it('set, pause, resume, show and history, each change in the log', async () => {
    const q = r.queue();
    const ns = q.namespace;
    await q.enqueue({ queue: 'mail', type: 't' });
    const set = await cli(['--namespace', ns, 'queue', 'set', 'mail', '--concurrency', '3', '--rate', '50/1000']);
    expect(set.code).toBe(0);
    expect(set.stdout).toContain('cap 0/3');
    expect(set.stdout).toContain('rate 50/');
    expect((await cli(['--namespace', ns, 'queue', 'pause', 'mail'])).stdout).toContain('mail paused');
    expect((await cli(['--namespace', ns, 'queue', 'pause', 'mail'])).stdout).toContain('paused already');
    const show = await cli(['--namespace', ns, '--json', 'queue', 'show', 'mail']);
    expect(JSON.parse(show.stdout)).toMatchObject({
      queue: 'mail',
      paused: true,
      concurrency: 3,
      rateLimit: { max: 50, perMs: 1000 },
      running: 0,
    });
    const stats = await cli(['--namespace', ns, 'stats']);
    expect(stats.stdout).toMatch(/mail.*paused, cap 0\/3, rate 50\//);
    expect((await cli(['--namespace', ns, 'queue', 'resume', 'mail'])).stdout).toContain('mail resumed');
    await cli(['--namespace', ns, 'queue', 'set', 'mail', '--concurrency', 'none']);
    expect(await q.getQueueOptions('mail')).toMatchObject({ paused: false, concurrency: null });
    const history = await cli(['--namespace', ns, 'queue', 'history', 'mail']);
    expect(history.code).toBe(0);
    const rows = history.stdout.trim().split('\n').slice(1);
    expect(rows.map((l) => l.split(/\s{2,}/)[1])).toEqual(['set', 'pause', 'resume', 'set']);
    expect(history.stdout).toMatch(/:\d+\s*$/m);
    const json = await cli(['--namespace', ns, '--json', 'queue', 'history', 'mail']);
    expect(
      json.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { type: string }).type),
    ).toEqual(Array(4).fill('queue-options'));
  });

  it.each([
    [['queue', 'set', 'mail'], /at least one of/],
    [['queue', 'set', 'mail', '--concurrency', '0'], /concurrency/],
    [['queue', 'set', 'mail', '--concurrency', 'lots'], /--concurrency/],
    [['queue', 'set', 'mail', '--rate', '50'], /--rate/],
    [['queue', 'set', 'mail', '--rate', '50/0'], /rateLimit.perMs/],
    [['queue', 'set', 'mail', '--aging', '-5'], /--aging/],
    [['queue', 'pause', ' '], /blank/],
  ])('%j exits 2 naming the flag, and stores nothing', async (args, message) => {
    const ns = r.queue().namespace;
    const bad = await cli(['--namespace', ns, ...args]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(message);
    expect(await r.raw().exists(`{${ns}}:controls`, `{${ns}}:events`)).toBe(0);
  });
});
