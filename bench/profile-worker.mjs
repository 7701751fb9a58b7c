// Profiles one workload for docs/benchmarks.md: node --cpu-prof bench/profile-worker.mjs [concurrency] [n]
// Prints the rate and Redis' own time per command (INFO commandstats) for the run. SYSTEM=bullmq, bee-queue
// or floor (bench/floor.mjs) profiles another system.
import { Redis } from 'ioredis';
import { startRedis } from './redis.mjs';
import { floor } from './floor.mjs';
import { SYSTEMS as QUEUES, counter } from './systems.mjs';

const SYSTEMS = { ...QUEUES, floor };

const concurrency = Number(process.argv[2] ?? 64);
const n = Number(process.argv[3] ?? 20_000);
const server = await startRedis({ aof: false });
const sys = SYSTEMS[process.env.SYSTEM ?? 'taskledger'](server.url);
await sys.open();
for (let i = 0; i < n; i += 500)
  await sys.enqueueBulk(Array.from({ length: Math.min(500, n - i) }, (_, j) => ({ i: i + j, pad: 'x'.repeat(80) })));
const raw = new Redis(server.url);
await raw.config('RESETSTAT');
const done = counter(n);
const t0 = performance.now();
const stop = await sys.work(concurrency, async () => undefined, done.tick);
await done.all;
const secs = (performance.now() - t0) / 1000;
await stop();
console.log(`${sys.name} c${concurrency}: ${Math.round(n / secs)} tasks/s`);
const stats = (await raw.info('commandstats')).split('\r\n').filter((l) => l.startsWith('cmdstat_'));
const rows = stats
  .map((l) => {
    const [, name, calls, usec] = /cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(l);
    return { name, calls: Number(calls), usec: Number(usec) };
  })
  .sort((a, b) => b.usec - a.usec)
  .slice(0, 8);
for (const r of rows)
  console.log(
    `  ${r.name.padEnd(14)} calls ${String(r.calls).padStart(7)}  total ${(r.usec / 1000).toFixed(0).padStart(6)} ms  per call ${(r.usec / r.calls).toFixed(1)} µs`,
  );
console.log(`  Redis busy ${(rows.reduce((a, r) => a + r.usec, 0) / 1000 / secs / 10).toFixed(0)}% of the run`);
raw.disconnect();
await sys.close();
server.stop();
process.exit(0);
