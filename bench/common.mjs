// What the benchmark scripts share: the task spec, filling a queue, the closed loop, medians, Redis' CPU time,
// the machine.
import { cpus, totalmem } from 'node:os';
import { Redis } from 'ioredis';

/** A ~100-byte JSON spec, as the workloads ask. */
export const spec = (i) => ({
  i,
  user: 'user-0012345',
  action: 'resize',
  width: 640,
  height: 480,
  url: `https://example.com/p/${i}.png`,
});

/** Enqueues n tasks (specs numbered from base) in batches of 500. */
export async function bulkFill(sys, n, base = 0) {
  for (let i = 0; i < n; i += 500)
    await sys.enqueueBulk(Array.from({ length: Math.min(500, n - i) }, (_, j) => spec(base + i + j)));
}

/** Runs `op(i)` for i < n with `inFlight` calls outstanding; returns ops per second. */
export async function closedLoop(n, inFlight, op) {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < n) await op(next++);
    }),
  );
  return n / ((performance.now() - t0) / 1000);
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN;
};

/** The median of each measure over several runs ({measure: value} each). */
export const medians = (runs) =>
  Object.fromEntries(Object.keys(runs[0]).map((k) => [k, median(runs.map((x) => x[k]))]));

/** Redis' own CPU time so far (user + system), in µs. */
export async function redisCpu(url) {
  const r = new Redis(url);
  const info = await r.info('cpu');
  r.disconnect();
  return (Number(/used_cpu_user:([\d.]+)/.exec(info)[1]) + Number(/used_cpu_sys:([\d.]+)/.exec(info)[1])) * 1e6;
}

/** The machine a run is on, as the results record it. */
export const machineInfo = () => ({
  cpus: cpus().length,
  cpu: cpus()[0]?.model,
  memGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
});

/** One line of the machine and the date, for the documents the benchmarks write. */
export const machineLine = (r) =>
  `${r.machine.cpus} × ${r.machine.cpu}, ${r.machine.memGiB} GiB, Node ${r.machine.node}, Redis ${r.redis}, ${r.date.slice(0, 10)}`;
