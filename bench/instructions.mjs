// Redis instructions per task, counted by valgrind (callgrind) rather than timed: the same count whatever
// else the machine is doing, so two systems (or two versions) compare without noise.
//   node bench/instructions.mjs [--systems taskledger,bullmq,bee-queue,floor] [--n 3000]
// Needs valgrind and callgrind_control on the PATH. For each system and workload it starts redis-server
// under callgrind, prepares the work untimed, zeroes the counters, runs the workload, and reads the total.
// bench/ablate.mjs uses measure() and workloads() to count taskledger with parts of its scripts taken out.
// CALLGRIND_REPORT=file keeps callgrind_annotate's report of the last count, per function (self cost;
// CALLGRIND_INCLUSIVE=1 for inclusive, CALLGRIND_TREE=1 with callers): names need a redis-server built
// with symbols first on the PATH (docs/benchmarks.md says how).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { bulkFill } from './common.mjs';
import { floor } from './floor.mjs';
import { SYSTEMS, counter } from './systems.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const freePort = () =>
  new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });

async function processAll(sys, n, concurrency) {
  const done = counter(n);
  const stop = await sys.work(concurrency, async () => undefined, done.tick);
  await done.all;
  await stop();
}

/** The workloads for n tasks: each prepares untimed, then runs while instructions are counted. */
export const workloads = (n) => ({
  'bulk enqueue': { n, prepare: async () => {}, run: (sys) => bulkFill(sys, n) },
  'processing, concurrency 64': { n, prepare: (sys) => bulkFill(sys, n), run: (sys) => processAll(sys, n, 64) },
  'processing, concurrency 1': { n, prepare: (sys) => bulkFill(sys, n), run: (sys) => processAll(sys, n, 1) },
});

/** Redis instructions per task of one workload on the system `makeSystem(url)` makes. */
export async function measure(makeSystem, workload) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'taskledger-cg-'));
  const out = join(dir, 'callgrind.out');
  const child = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      `--callgrind-out-file=${out}`,
      'redis-server',
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise((r) => child.on('exit', r));
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    probe.on('error', () => {});
    const ok = await probe.connect().then(
      () => true,
      () => false,
    );
    probe.disconnect();
    if (ok) break;
    if (i > 300) throw new Error('redis-server under valgrind did not start');
    await sleep(100);
  }
  const sys = makeSystem(url);
  await sys.open();
  await workload.prepare(sys);
  execFileSync('callgrind_control', ['--zero', String(child.pid)], { stdio: 'ignore' });
  await workload.run(sys);
  await sys.close();
  const admin = new Redis(url, { retryStrategy: () => null, maxRetriesPerRequest: 0 });
  admin.on('error', () => {});
  await admin.shutdown('NOSAVE').catch(() => undefined);
  admin.disconnect();
  await exited;
  const annotate = (...args) =>
    execFileSync('callgrind_annotate', [...args, out], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  const report = annotate();
  if (process.env.CALLGRIND_REPORT) {
    const env = process.env;
    writeFileSync(
      env.CALLGRIND_REPORT,
      annotate(
        '--threshold=100',
        ...(env.CALLGRIND_INCLUSIVE ? ['--inclusive=yes'] : []),
        ...(env.CALLGRIND_TREE ? ['--tree=caller'] : []),
      ),
    );
  }
  rmSync(dir, { recursive: true, force: true });
  const total = Number(/([\d,]+) +\(100\.0%\) +PROGRAM TOTALS/.exec(report)[1].replace(/,/g, ''));
  return total / workload.n;
}

async function main() {
  const argv = process.argv.slice(2);
  const opt = (name, fallback) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : fallback);
  const n = Number(opt('n', 3000));
  const names = opt('systems', 'taskledger,bullmq,bee-queue').split(',');
  const makers = { ...SYSTEMS, floor };
  const rows = [];
  for (const [wname, workload] of Object.entries(workloads(n))) {
    const row = { workload: wname };
    for (const name of names) {
      row[name] = await measure(makers[name], workload);
      process.stderr.write(
        `${wname} ${name}: ${Math.round(row[name]).toLocaleString('en-US')} instructions per task\n`,
      );
    }
    rows.push(row);
  }
  console.log(`\nRedis instructions per task (callgrind, N = ${n}; thousands)\n`);
  console.log(`| workload | ${names.join(' | ')} |`);
  console.log(`|---|${names.map(() => '---').join('|')}|`);
  for (const row of rows)
    console.log(
      `| ${row.workload} | ${names.map((x) => Math.round(row[x] / 1000).toLocaleString('en-US')).join(' | ')} |`,
    );
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
  process.exit(0);
}
