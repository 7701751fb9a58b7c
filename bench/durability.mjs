// What `durability` costs: a primary with one replica on loopback; enqueue and processing rates with and
// without WAIT, alternating, median of rounds.
//   node bench/durability.mjs [--n 10000] [--rounds 3]
// Run `npm run build` first (it loads dist/).
import { Redis } from 'ioredis';
import { TaskQueue, Worker } from '../dist/index.js';
import { spawnRedis } from './redis.mjs';

const argv = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
};
const N = opt('n', 10_000);
const ROUNDS = opt('rounds', 3);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const server = (args) => spawnRedis(args);

const primary = await server(['--appendonly', 'no']);
const replica = await server(['--appendonly', 'no', '--replicaof', '127.0.0.1', String(primary.port)]);
const probe = new Redis(replica.port, '127.0.0.1');
while (!/master_link_status:up/.test(await probe.info('replication'))) await sleep(100);
probe.disconnect();

async function round(durable, r) {
  const q = new TaskQueue({
    connection: `redis://127.0.0.1:${primary.port}`,
    namespace: `dur-${durable}-${r}`,
    recoveryIntervalMs: 0,
    ...(durable ? { durability: { replicas: 1, timeoutMs: 1000 } } : {}),
  });
  await q.stats();
  let t0 = performance.now();
  let sent = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (sent++ < N) await q.enqueue({ queue: 'd', type: 't' });
    }),
  );
  const enqueuePerS = Math.round(N / ((performance.now() - t0) / 1000));
  t0 = performance.now();
  let done = 0;
  const w = new Worker(q, async () => undefined, { concurrency: 64, queues: ['d'] });
  await new Promise((res) => {
    w.on('task:finished', () => ++done === N && res());
    w.start();
  });
  const processPerS = Math.round(N / ((performance.now() - t0) / 1000));
  await w.close();
  await q.close();
  return { enqueuePerS, processPerS };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const runs = { off: [], on: [] };
for (let r = 0; r < ROUNDS; r++) {
  for (const durable of r % 2 ? [true, false] : [false, true])
    runs[durable ? 'on' : 'off'].push(await round(durable, r));
}
const row = (k) => ({
  enqueuePerS: median(runs[k].map((x) => x.enqueuePerS)),
  processPerS: median(runs[k].map((x) => x.processPerS)),
});
const off = row('off');
const on = row('on');
console.log(
  JSON.stringify({
    n: N,
    rounds: ROUNDS,
    off,
    on,
    enqueueRatio: +(on.enqueuePerS / off.enqueuePerS).toFixed(2),
    processRatio: +(on.processPerS / off.processPerS).toFixed(2),
  }),
);
primary.stop();
replica.stop();
