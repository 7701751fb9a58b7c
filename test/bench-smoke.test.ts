import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { useRedis } from './helpers/fixture.js';
import { tempDir } from './helpers/redis.js';

// The benchmarks flush the server they are given: always one of this file's own, never REDIS_URL's.
const r = useRedis({ own: true });
const BENCH = fileURLToPath(new URL('../bench/run.mjs', import.meta.url));
// The instruction counts (bench/instructions.mjs, bench/ablate.mjs) need valgrind: they are checked by
// scripts/smoke-instructions.mjs (npm run smoke:instructions, run by .ci/run), not here.

// Whatever the scripts put in the temp dir (their own redis-servers' dirs) goes under one dir of this
// file's, removed after it; a script still running then (its test timed out) is killed first.
const tmp = tempDir('bench-smoke');
const running = new Set<ChildProcess>();
afterAll(async () => {
  await Promise.all(
    [...running].map((c) => new Promise<void>((res) => (c.once('exit', () => res()), c.kill('SIGKILL')))),
  );
  tmp.remove();
});

/** Runs a script with this Node, extra environment added; resolves with its exit code and all its output. */
function runNode(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, {
      env: { ...process.env, TMPDIR: tmp.path, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(child);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', (err) => {
      running.delete(child);
      resolve({ code: -1, out: String(err) });
    });
    child.on('exit', (code) => {
      running.delete(child);
      resolve({ code, out });
    });
  });
}

describe('npm run bench (smoke: tiny N, so it cannot rot)', () => {
  it('runs every workload on taskledger, BullMQ and Bee-Queue and prints the table', async () => {
    // The file's own redis-server is this file's alone: the benchmark flushes it.
    const { code, out } = await runNode([BENCH, '--quick'], { BENCH_REDIS_URL: r.url });
    expect(code, out).toBe(0);
    for (const workload of [
      'enqueue, 64 in flight',
      'bulk enqueue',
      'processing, concurrency 64',
      'processing, concurrency 1',
      'latency at 500/s',
      'memory per task',
    ]) {
      // A row with a number for each of the three systems and a ratio.
      expect(out).toMatch(
        new RegExp(`\\| ${workload}[^|]*\\| [\\d,./ ]+ \\| [\\d,./ ]+ \\| [\\d,./ ]+ \\| \\d+\\.\\d\\dx \\|`),
      );
    }
    // CPU per task on each side, Redis / Node, for each system at both concurrencies.
    expect(out).toMatch(/\*\*CPU per task while processing\*\*/);
    for (const c of [64, 1])
      expect(out).toMatch(new RegExp(`\\| ${c} \\| \\d+ / \\d+ \\| \\d+ / \\d+ \\| \\d+ / \\d+ \\|`));
    expect(out).toMatch(/\*\*Scaling \(taskledger\)\*\*/);
    // Both sizes in each round, and the change within each round next to the change of the medians.
    expect(out).toMatch(/\| history\(\) of one task \| [\d.]+ ms \| [\d.]+ ms \| -?\d+% \| -?\d+% to -?\d+% \|/);
    expect(out).toMatch(/scaling round 1: /);
  }, 120_000);

  it("re-renders the last results without running anything, with each round's ratio", async () => {
    const { code, out } = await runNode([BENCH, '--from-results', '--no-docs']);
    expect(code, out).toBe(0);
    // bench/results.json holds several rounds: the ratio's range over them follows the median's.
    expect(out).toMatch(
      /\| processing, concurrency 64[^|]*\|[^|]+\|[^|]+\|[^|]+\| \d+\.\d\dx \| \d+\.\d\d-\d+\.\d\dx \|/,
    );
    expect(out).toMatch(/\| enqueue, 64 in flight \| \d+ \/s \| \d+ \/s \| -?\d+% \| -?\d+% to -?\d+% \|/);
    expect(out).not.toMatch(/round \d/); // nothing was run
  });

  it('bench/floor.mjs runs the floor of the design against taskledger and BullMQ, checking the floor did the work', async () => {
    const script = fileURLToPath(new URL('../bench/floor.mjs', import.meta.url));
    const { code, out } = await runNode([script, '--n', '200', '--rounds', '1'], { BENCH_REDIS_URL: r.url });
    // A non-zero exit also covers the floor writing fewer events than one per transition of every task.
    expect(code, out).toBe(0);
    for (const workload of ['enqueue, 64 in flight', 'processing, concurrency 64', 'processing, concurrency 1']) {
      // Three rates, the two ratios and each side's CPU per task for the three.
      expect(out).toMatch(
        new RegExp(
          `\\| ${workload} \\| [\\d,]+ \\| [\\d,]+ \\| [\\d,]+ \\| \\d+\\.\\d\\dx \\| \\d+\\.\\d\\dx \\| (\\d+ / \\d+(, )?){3} \\|`,
        ),
      );
    }
  }, 120_000);

  it('bench/reply-decoding.mjs decodes the same start reply in both forms and times each', async () => {
    const script = fileURLToPath(new URL('../bench/reply-decoding.mjs', import.meta.url));
    const { code, out } = await runNode([script, '--rounds', '1', '--n', '200'], { BENCH_REDIS_URL: r.url });
    // A non-zero exit also covers the two forms decoding to different tasks.
    expect(code, out).toBe(0);
    expect(out).toMatch(/round 1: nested \d+\.\d\d µs, json \d+\.\d\d µs per task/);
  }, 60_000);

  it('bench/worker-runtime.mjs runs a worker through tasks of a stand-in queue and times it', async () => {
    const script = fileURLToPath(new URL('../bench/worker-runtime.mjs', import.meta.url));
    const { code, out } = await runNode([script, '--n', '2000', '--rounds', '1']);
    // A non-zero exit also covers the worker calling anything but its prefetcher and finish (a handler that failed).
    expect(code, out).toBe(0);
    expect(out).toMatch(/round 1: [\d,]+ tasks\/s, \d+\.\d\d µs of CPU per task \(concurrency 64, n = 2000\)/);
  }, 60_000);
});
