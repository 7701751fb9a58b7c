// Partitions over a Redis Cluster: one namespace on 1, 2 and 3 primaries, each primary capped to the same
// small CPU share (a cgroup v1 cpu quota), so that Redis, not this 2-core machine's client, sets the pace.
//   node bench/cluster.mjs [--n 12000] [--quota 10] [--partitions 6] [--sizes 1,2,3] [--rounds 2] [--workers 6]
// Needs redis-server and a writable /sys/fs/cgroup/cpu (root); prints JSON and a table, writes
// bench/cluster-results.json. Run `npm run build` first (it loads dist/).
import { mkdirSync, writeFileSync, existsSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { TaskQueue, Worker } from '../dist/index.js';
import { spawnRedis } from './redis.mjs';

const argv = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const N = Number(opt('n', 12_000));
const QUOTA = Number(opt('quota', 10)); // percent of one core per primary
const PARTITIONS = Number(opt('partitions', 6));
const SIZES = opt('sizes', '1,2,3').split(',').map(Number);
const ROUNDS = Number(opt('rounds', 2));
const WORKERS = Number(opt('workers', 6)); // worker instances, each its own TaskQueue and connection: one per partition
const CGROUP = '/sys/fs/cgroup/cpu';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Calls per command since the last reset (INFO commandstats), summed over the nodes. */
async function commandCalls(ports) {
  const calls = {};
  for (const port of ports) {
    const r = new Redis(port, '127.0.0.1');
    const info = await r.info('commandstats');
    r.disconnect();
    for (const [, name, n] of info.matchAll(/cmdstat_([\w|]+):calls=(\d+)/g))
      calls[name] = (calls[name] ?? 0) + Number(n);
  }
  return calls;
}

async function resetStats(ports) {
  for (const port of ports) {
    const r = new Redis(port, '127.0.0.1');
    await r.config('RESETSTAT');
    r.disconnect();
  }
}

async function cpuOf(port) {
  const r = new Redis(port, '127.0.0.1');
  const info = await r.info('cpu');
  r.disconnect();
  return (Number(/used_cpu_user:([\d.]+)/.exec(info)[1]) + Number(/used_cpu_sys:([\d.]+)/.exec(info)[1])) * 1e6;
}

/** A cluster of `size` primaries, slots split in equal runs, each node in its own cpu cgroup. */
async function startCluster(size) {
  const nodes = [];
  for (let i = 0; i < size; i++) {
    const node = await spawnRedis([
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      'nodes.conf',
      '--appendonly',
      'no',
      '--cluster-announce-ip',
      '127.0.0.1',
    ]);
    nodes.push(node);
  }
  for (const n of nodes) {
    const cg = join(CGROUP, `taskledger-bench-${n.port}`);
    mkdirSync(cg, { recursive: true });
    writeFileSync(join(cg, 'cpu.cfs_period_us'), '100000');
    writeFileSync(join(cg, 'cpu.cfs_quota_us'), String(QUOTA * 1000));
    writeFileSync(join(cg, 'cgroup.procs'), String(n.child.pid));
    n.cgroup = cg;
  }
  const per = Math.floor(16384 / size);
  for (const [i, n] of nodes.entries()) {
    const r = new Redis(n.port, '127.0.0.1');
    await r.call('CLUSTER', 'ADDSLOTSRANGE', i * per, i === size - 1 ? 16383 : (i + 1) * per - 1);
    if (i > 0) await r.call('CLUSTER', 'MEET', '127.0.0.1', nodes[0].port);
    r.disconnect();
  }
  for (const n of nodes) {
    const r = new Redis(n.port, '127.0.0.1');
    for (let i = 0; i < 200 && !/cluster_state:ok/.test(await r.cluster('INFO')); i++) await sleep(50);
    r.disconnect();
  }
  await sleep(500);
  return {
    nodes,
    async stop() {
      for (const n of nodes) {
        const exited = new Promise((res) => (n.child.exitCode !== null ? res() : n.child.once('exit', res)));
        n.stop();
        await exited;
        if (existsSync(n.cgroup)) rmdirSync(n.cgroup);
      }
    },
  };
}

async function round(cluster, partitions, r) {
  const conn = new Cluster(cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })));
  const q = new TaskQueue({
    connection: conn,
    namespace: `bench-${partitions}-${r}-${Date.now()}`,
    partitions,
    recoveryIntervalMs: 0,
  });
  const ports = cluster.nodes.map((n) => n.port);
  await q.stats();
  // Each node's CPU at rest (its cron and the cluster bus), per second: what the task counts are net of.
  const idle0 = await Promise.all(ports.map(cpuOf));
  await sleep(2000);
  const idlePerS = (await Promise.all(ports.map(cpuOf))).map((c, i) => (c - idle0[i]) / 2);
  // Enqueue: 16 producers, 50 tasks a call.
  let cpu0 = await Promise.all(ports.map(cpuOf));
  let t0 = performance.now();
  let made = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (made < N) {
        made += 50;
        await q.enqueueMany(Array.from({ length: 50 }, (_, i) => ({ queue: 'bench', type: 't', spec: { i } })));
      }
    }),
  );
  const enqueueS = (performance.now() - t0) / 1000;
  let cpu1 = await Promise.all(ports.map(cpuOf));
  const enqueueCpu = cpu1.map((c, i) => c - cpu0[i]);
  const total = made;
  // Process: WORKERS workers at concurrency 64, which share the partitions out among themselves.
  const extra = Array.from({ length: WORKERS - 1 }, () => ({
    conn: new Cluster(cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port }))),
  }));
  const queues = [
    q,
    ...extra.map(
      (e) => new TaskQueue({ connection: e.conn, namespace: q.namespace, partitions, recoveryIntervalMs: 0 }),
    ),
  ];
  await Promise.all(queues.map((x) => x.stats()));
  await resetStats(ports);
  cpu0 = await Promise.all(ports.map(cpuOf));
  t0 = performance.now();
  let done = 0;
  const workers = queues.map((x) => new Worker(x, async () => undefined, { concurrency: 64, queues: ['bench'] }));
  const errors = [];
  let poll;
  await new Promise((res) => {
    for (const w of workers) {
      w.on('task:finished', () => ++done === total && res());
      w.on('error', (e) => errors.push(e));
      w.start();
    }
    // Counted from Redis too: a finish whose reply was lost still ends its task.
    // Seldom: with P partitions each poll is P stats calls, which the Redis CPU measured would include.
    poll = setInterval(async () => {
      const s = await q.stats().catch(() => null);
      if (s && s.ended.finished >= total) res();
    }, 2000);
  });
  clearInterval(poll);
  if (errors.length) console.error(`${errors.length} worker errors, first: ${errors[0]}`);
  const processS = (performance.now() - t0) / 1000;
  await Promise.all(workers.map((w) => w.close()));
  for (const [i, e] of extra.entries()) {
    await queues[i + 1].close();
    e.conn.disconnect();
  }
  cpu1 = await Promise.all(ports.map(cpuOf));
  const calls = await commandCalls(ports);
  const processCpu = cpu1.map((c, i) => c - cpu0[i]);
  await q.close();
  conn.disconnect();
  const sum = (xs) => xs.reduce((a, b) => a + b, 0);
  const share = (xs) => xs.map((x) => Math.round((1000 * x) / sum(xs)) / 10);
  return {
    enqueuePerS: Math.round(total / enqueueS),
    processPerS: Math.round(total / processS),
    enqueueShare: share(enqueueCpu),
    processShare: share(processCpu),
    // Redis CPU (µs) per task, all nodes together, and per node over the tasks its partitions held.
    enqueueCpuPerTask: Math.round((10 * sum(enqueueCpu)) / total) / 10,
    processCpuPerTask: Math.round((10 * sum(processCpu)) / total) / 10,
    // The same, less each node's CPU at rest over the phase.
    idleCpuPerNodePerS: Math.round(sum(idlePerS) / idlePerS.length),
    processNetCpuPerTask: Math.round((10 * (sum(processCpu) - sum(idlePerS) * processS)) / total) / 10,
    // Redis commands per task while processing (evalsha is a script call), the ones above 0.01.
    processCallsPerTask: Object.fromEntries(
      Object.entries(calls)
        .map(([name, n]) => [name, Math.round((100 * n) / total) / 100])
        .filter(([, n]) => n >= 0.01)
        .sort((a, b) => b[1] - a[1]),
    ),
  };
}

const results = [];
for (const size of SIZES) {
  for (const partitions of size === 1 ? [1, PARTITIONS] : [PARTITIONS]) {
    const cluster = await startCluster(size);
    try {
      const rounds = [];
      for (let r = 0; r < ROUNDS; r++) rounds.push(await round(cluster, partitions, r));
      const best = rounds.reduce((a, b) => (b.processPerS > a.processPerS ? b : a));
      const row = { primaries: size, partitions, quotaPercent: QUOTA, n: N, rounds, best };
      results.push(row);
      console.log(JSON.stringify({ primaries: size, partitions, ...best }));
    } finally {
      await cluster.stop();
    }
  }
}
writeFileSync(
  new URL('./cluster-results.json', import.meta.url),
  `${JSON.stringify({ at: new Date().toISOString(), results }, null, 2)}\n`,
);
const base = results.find((r) => r.primaries === 1 && r.partitions === PARTITIONS)?.best;
console.log(
  '\nprimaries partitions  enqueue/s  process/s  (x one primary)  process share per node (%)  Redis µs/task enq/proc',
);
for (const r of results) {
  const b = r.best;
  console.log(
    `${String(r.primaries).padStart(9)} ${String(r.partitions).padStart(10)} ${String(b.enqueuePerS).padStart(10)} ${String(b.processPerS).padStart(10)}  ${base ? (b.processPerS / base.processPerS).toFixed(2) + 'x' : ''}`.padEnd(
      70,
    ) +
      `${b.processShare.join(' / ')}`.padEnd(28) +
      `${b.enqueueCpuPerTask} / ${b.processCpuPerTask} (net ${b.processNetCpuPerTask})`,
  );
}
process.exit(0); // a cluster connection may still be retrying the stopped nodes
