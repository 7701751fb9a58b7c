// Node's cost of the Worker's own runtime per task, without Redis or the queue's commands: the Worker runs
// no-op handlers for tasks from a stand-in queue whose prefetcher hands out tasks made beforehand, and whose
// finish resolves, each a turn of the event loop later, answering all calls of a turn together (as the real
// queue's batched calls are answered). What it measures is the worker's bookkeeping per task: its records,
// promises, handler context and events. Not a measure of a queue: the benchmark (run.mjs) is.
//   node bench/worker-runtime.mjs [--n 400000] [--concurrency 64] [--rounds 3] [--dist <a build, default dist/>]
// Prints tasks/s and this process's CPU time (all threads, so the collector's too) per task, per round.
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const argv = process.argv.slice(2);
const opt = (name, fallback) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : fallback);
const n = Number(opt('n', 400_000));
const concurrency = Number(opt('concurrency', 64));
const rounds = Number(opt('rounds', 3));
const dist = argv.includes('--dist') ? resolve(opt('dist')) : fileURLToPath(new URL('../dist', import.meta.url));
const { Worker } = await import(pathToFileURL(resolve(dist, 'index.js')).href);

/** Resolves every call of one event-loop turn in the next turn, as one batched reply would. */
function nextTurn() {
  let waiting = [];
  return () =>
    new Promise((res) => {
      if (waiting.push(res) > 1) return;
      setImmediate(() => {
        const now = waiting;
        waiting = [];
        for (const r of now) r();
      });
    });
}

async function round() {
  const later = nextTurn();
  const at = new Date();
  const tasks = Array.from({ length: n }, (_, i) => ({
    id: `task-${i}`,
    queue: 'bench',
    type: 'noop',
    spec: { i },
    status: 'running',
    progress: null,
    result: null,
    error: null,
    references: {},
    attempt: 1,
    maxAttempts: 3,
    lease: `lease-${i}`,
    runAt: null,
    backoff: null,
    timeoutMs: null,
    scheduledAt: null,
    createdAt: at,
    updatedAt: at,
    startedAt: at,
    finishedAt: null,
    lastHeartbeatAt: at,
  }));
  let taken = 0;
  let finished = 0;
  let allDone;
  const done = new Promise((res) => (allDone = res));
  const unexpected = async () => {
    throw new Error('the stand-in queue only takes and finishes tasks');
  };
  const queue = {
    heartbeatTtlMs: 30_000,
    definition: () => undefined,
    prefetcher: () => ({
      held: 0,
      take: (count) =>
        later().then(() => {
          const batch = tasks.slice(taken, Math.min(n, taken + count));
          taken += batch.length;
          return batch;
        }),
      handBack: async () => undefined,
    }),
    finish: () => later().then(() => ++finished === n && allDone()),
    fail: unexpected,
    retryLater: unexpected,
    heartbeat: async () => undefined,
    release: async () => undefined,
  };
  const worker = new Worker(queue, async () => undefined, { concurrency });
  let failure;
  worker.on('error', (err) => (failure ??= err));
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  worker.start();
  await done;
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  await worker.close();
  if (failure) throw failure;
  return { rate: n / secs, cpuUs: (cpu.user + cpu.system) / n };
}

for (let r = 1; r <= rounds; r++) {
  const { rate, cpuUs } = await round();
  console.log(
    `round ${r}: ${Math.round(rate).toLocaleString('en-US')} tasks/s, ${cpuUs.toFixed(2)} µs of CPU per task (concurrency ${concurrency}, n = ${n})`,
  );
}
