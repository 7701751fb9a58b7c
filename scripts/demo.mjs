// npm run demo: what taskledger does, in under a minute.
// Connects to REDIS_URL, or to redis://127.0.0.1:6379 when something answers there, or starts a throw-away
// redis-server of its own. `--short` runs a smaller workload (used by the test suite).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { createServer } from 'node:http';
import { TaskQueue, Worker, UnrecoverableError } from '../dist/index.js';
import {
  dequeuerWithMetrics,
  metricsHandler,
  queueStateMetrics,
  queuerWithMetrics,
  setupTaskQueueMetrics,
  workerWithMetrics,
} from '../dist/metrics/index.js';

const SHORT = process.argv.includes('--short');
const TOTAL = SHORT ? 400 : 3000;
const tty = process.stdout.isTTY;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function answers(url) {
  const probe = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 500,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  probe.on('error', () => {});
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

async function freePort() {
  return new Promise((resolve) => {
    const srv = createNetServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** REDIS_URL, the default port, or a redis-server of our own (stopped at exit). */
async function connect() {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, stop: () => {} };
  const local = 'redis://127.0.0.1:6379';
  if (await answers(local)) return { url: local, stop: () => {} };
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status !== 0) {
    console.error('No Redis: set REDIS_URL, start one on 127.0.0.1:6379, or install redis-server');
    console.error(
      '(Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis) and run npm run demo again.',
    );
    process.exit(2);
  }
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'taskledger-demo-'));
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 100 && !(await answers(url)); i++) await sleep(50);
  console.log(`Started a throw-away redis-server on ${url}`);
  return {
    url,
    stop: () => {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const redis = await connect();
const namespace = `demo-${Date.now().toString(36)}`;
const metrics = setupTaskQueueMetrics('taskledger');
const q = dequeuerWithMetrics(
  queuerWithMetrics(new TaskQueue({ connection: redis.url, namespace, heartbeatTtlMs: 5000 }), metrics),
  metrics,
);
queueStateMetrics(q);
const metricsServer = createServer(metricsHandler());
await new Promise((res) => metricsServer.listen(Number(process.env.METRICS_PORT ?? 0), '127.0.0.1', res));
console.log(`taskledger demo: ${TOTAL} tasks in namespace "${namespace}" on ${redis.url}`);
console.log(`Prometheus metrics: http://127.0.0.1:${metricsServer.address().port}/metrics\n`);

// The workload: fast thumbnails, flaky e-mails that retry with backoff, reports due a little later,
// a few poisoned inputs that fail at once, and one long video transcode that a user cancels midway.
const requests = [];
for (let i = 0; i < TOTAL; i++) {
  const kind = i % 10;
  if (kind < 6) requests.push({ queue: 'images', type: 'thumbnail', spec: { image: `img-${i}.png`, width: 320 } });
  else if (kind < 9)
    requests.push({
      queue: 'mail',
      type: 'email',
      spec: { to: `user${i}@example.com` },
      maxAttempts: 4,
      backoff: { delayMs: 100 },
    });
  else requests.push({ queue: 'reports', type: 'report', spec: { day: i }, delayMs: 1000 + (i % 1000) });
}
requests.push({ queue: 'mail', type: 'email', spec: { to: 'not-an-address' } });
const started = Date.now();
const ids = await q.enqueueMany(requests);
const videoId = await q.enqueue({ queue: 'video', type: 'transcode', spec: { file: 'holiday.mp4' } });
console.log(`Enqueued ${ids.length + 1} tasks in ${Date.now() - started} ms (one round trip).`);

const handlers = {
  thumbnail: async () => {
    await sleep(2);
    return { ok: true };
  },
  email: async (task) => {
    if (task.spec.to === 'not-an-address') throw new UnrecoverableError('invalid address');
    // About a third of the first attempts hit a "temporary" SMTP error; retries succeed.
    if (task.attempt === 1 && Number(task.id.charCodeAt(25)) % 3 === 0) throw new Error('SMTP 451 temporary failure');
    await sleep(3);
    return { sent: true, attempt: task.attempt };
  },
  report: async (task, ctx) => {
    await ctx.progress({ rows: 0 });
    await sleep(5);
    return { rows: 100 + task.spec.day };
  },
  transcode: async (task, ctx) => {
    for (let pct = 0; pct <= 100; pct += 5) {
      if (ctx.signal.aborted) return;
      await ctx.progress({ pct });
      await sleep(100);
    }
    return { pct: 100 };
  },
};

const counts = { finished: 0, failed: 0, retrying: 0, cancelled: 0 };
let retriedId;
const workers = [1, 2].map(() =>
  workerWithMetrics(new Worker(q, handlers, { concurrency: 32, heartbeatIntervalMs: 500, progressThrottleMs: 100 })),
);
for (const w of workers) {
  w.on('task:finished', () => counts.finished++);
  w.on('task:failed', () => counts.failed++);
  w.on('task:retrying', (task) => {
    counts.retrying++;
    retriedId ??= task.id;
  });
  w.on('task:lost', (task, reason) => {
    if (reason.code === 'ERR_TASK_CANCELLED') counts.cancelled++;
  });
  w.on('error', (err) => console.error('worker error:', err.message));
  w.start();
}

// A user cancels the long transcode when it is about a third done.
const canceller = (async () => {
  for (;;) {
    const t = await q.get(videoId);
    if (t.progress && t.progress.pct >= 30) return q.cancel(videoId);
    await sleep(50);
  }
})();

const total = ids.length + 1;
let lastLine = 0;
function line(final = false) {
  const done = counts.finished + counts.failed + counts.cancelled;
  const running = workers.reduce((n, w) => n + w.state().running, 0);
  const secs = (Date.now() - started) / 1000;
  const text =
    `${String(Math.round(done / secs)).padStart(6)} tasks/s | waiting ${String(total - done - running).padStart(5)} | ` +
    `running ${String(running).padStart(3)} | finished ${String(counts.finished).padStart(5)} | failed ${counts.failed} | ` +
    `retries ${counts.retrying} | cancelled ${counts.cancelled}`;
  if (tty) process.stdout.write(`\r${text}${final ? '\n' : ''}`);
  else if (final || Date.now() - lastLine >= 1000) {
    console.log(text);
    lastLine = Date.now();
  }
}
while (counts.finished + counts.failed + counts.cancelled < total) {
  line();
  await sleep(tty ? 100 : 250);
  if (Date.now() - started > 55_000) break;
}
line(true);
await canceller;
await Promise.all(workers.map((w) => w.close()));

const elapsed = (Date.now() - started) / 1000;
const { tasks, mismatches } = await q.verify();
console.log(
  `\nSummary: ${total} tasks in ${elapsed.toFixed(1)} s: ${counts.finished} finished, ${counts.failed} failed (poisoned input),`,
);
console.log(`${counts.cancelled} cancelled midway, ${counts.retrying} retries after handler errors.`);
console.log(`verify(): ${tasks} projections checked against the event log, ${mismatches.length} mismatches.`);

if (retriedId) {
  console.log(`\nAudit history of retried task ${retriedId}, replayed from the event log:`);
  for (const e of await q.history(retriedId)) {
    const data = Object.keys(e.data).length ? JSON.stringify(e.data) : '';
    console.log(
      `  ${e.at.toISOString()}  ${e.type.padEnd(9)} ${data.length > 110 ? data.slice(0, 107) + '...' : data}`,
    );
  }
}
const video = await q.get(videoId);
console.log(`\nThe cancelled transcode stopped at ${JSON.stringify(video.progress)} (status ${video.status}).`);

const scrape = await (await fetch(`http://127.0.0.1:${metricsServer.address().port}/metrics`)).text();
const pick = (name) =>
  scrape
    .split('\n')
    .filter((l) => l.startsWith(name))
    .map((l) => Number(l.split(' ').pop()))
    .reduce((a, b) => a + b, 0);
console.log(
  `\nFrom /metrics: ${pick('taskledger_tasks_enqueued_total')} enqueued, ${pick('taskledger_task_retries_total')} retries, ` +
    `${pick('taskledger_event_log_entries')} events in the log.`,
);
metricsServer.close();
await q.close();
redis.stop();
const ok =
  mismatches.length === 0 && counts.finished + counts.failed + counts.cancelled === total && counts.cancelled === 1;
process.exit(ok ? 0 : 1);
