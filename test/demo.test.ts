import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { until, useRedis } from './helpers/fixture.js';
import { adoptNamespace } from './helpers/redis.js';

const r = useRedis();
const DEMO = fileURLToPath(new URL('../scripts/demo.mjs', import.meta.url));

describe('npm run demo', () => {
  it('runs to completion (short mode), with a summary and a replayed history, and exits 0', async () => {
    expect(
      existsSync(new URL('../dist/index.js', import.meta.url)),
      'the demo runs on the built package: npm run build',
    ).toBe(true);
    const { code, out } = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, [DEMO, '--short'], {
        env: { ...process.env, REDIS_URL: r.url },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (out += c.toString()));
      child.on('exit', (code) => resolve({ code, out }));
    });
    // The demo's namespace goes with the tests' own after the file (a REDIS_URL server is left as found).
    const ns = /in namespace "([^"]+)"/.exec(out)?.[1];
    if (ns) adoptNamespace(ns);
    // So does its archive, where this build has a FileArchive.
    const archiveDir = /archive: FileArchive in (\S+)/.exec(out)?.[1];
    if (archiveDir) rmSync(archiveDir, { recursive: true, force: true });
    expect(out).toMatch(/Summary: 402 tasks in [\d.]+ s: 400 finished, 1 failed/);
    expect(out).toMatch(/1 cancelled midway, \d+ retries/);
    // Retention removes finished tasks as it goes: fewer projections are left than ran.
    expect(out).toMatch(/verify\(\): \d+ projections checked against the event log, 0 mismatches/);
    expect(out).toMatch(
      /Audit history of retried task \w+, replayed from the event log when it finished:\n.*enqueued[\s\S]*retrying[\s\S]*finished/,
    );
    expect(out).toMatch(/Retention: finished tasks 1 s, log entries 2 s; compaction every 250 ms; /);
    expect(out).toMatch(
      /\n +\d+ s +used_memory +[\d.]+ MB \| log +\d+ events \| finished tasks held +\d+ \| compaction: /,
    );
    expect(out).toMatch(
      /Steady phase: (\d+) enqueued, \1 finished; [1-9]\d* compaction passes removed \d+ finished tasks/,
    );
    expect(out).toMatch(/tasks removed by retention, \d+ ended tasks held/);
    // It says how to look at what it left, and how to remove it.
    expect(out).toContain(`npx taskledger --redis ${r.url} --namespace ${ns ?? '?'} stats`);
    expect(out).toContain(`npx taskledger --redis ${r.url} --namespace ${ns ?? '?'} drop --yes`);
    expect(out).toMatch(/The cancelled transcode stopped at \{"pct":\d+\} \(status cancelled\)/);
    expect(code).toBe(0);
  }, 90_000);
});

// `script` gives the demo a terminal of 80 columns, as a user's would be.
describe.runIf(existsSync('/usr/bin/script'))('npm run demo on a terminal', () => {
  it('keeps its status line within 80 columns, counts delayed tasks apart, and serves /metrics until Ctrl-C', async () => {
    const child = spawn(
      '/usr/bin/script',
      ['-qec', `stty cols 80 rows 24; exec '${process.execPath}' '${DEMO}' --short`, '/dev/null'],
      {
        env: { ...process.env, REDIS_URL: r.url },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((res) => child.on('exit', res));
    await until(() => out.includes('Ctrl-C to stop') || child.exitCode !== null, 85_000);
    const ns = /in namespace "([^"]+)"/.exec(out)?.[1];
    if (ns) adoptNamespace(ns);
    const archiveDir = /archive: FileArchive in (\S+)/.exec(out)?.[1];
    if (archiveDir) rmSync(archiveDir, { recursive: true, force: true });
    // The address printed at the start still answers after the demo's work is done.
    const url = /Prometheus metrics: (http:\/\/\S+\/metrics)/.exec(out)?.[1];
    expect(url).toBeDefined();
    const scrape = await fetch(url!);
    expect(scrape.status).toBe(200);
    expect(await scrape.text()).toMatch(new RegExp(`taskledger_queue_waiting\\{namespace="${ns ?? '?'}"`));
    child.stdin.write('\u0003');
    expect(await exited).toBe(0);
    const frames = out
      .split(/\r|\n/)
      // The terminal's own code (clear to the end of the line) is what is taken out.
      .map((l) => l.replaceAll('\u001b[K', ''))
      .filter((l) => /\/s {2}waiting/.test(l));
    expect(frames.length).toBeGreaterThan(0);
    for (const frame of frames) expect(frame.length, frame).toBeLessThan(80);
    // Reports are due a second after the start: delayed, not waiting, until then.
    expect(frames.some((f) => /delayed [1-9]/.test(f))).toBe(true);
  }, 90_000);
});
