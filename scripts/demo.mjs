// npm run demo: what taskledger does, in under a minute.
// Connects to REDIS_URL, or to redis://127.0.0.1:6379 when something answers there, or starts a throw-away
// redis-server of its own. `--short` runs a smaller workload with shorter retention (used by the test suite).
// Two phases: a burst of varied tasks (retries, failures, a cancellation), then a steady stream while
// retention and compaction keep Redis's memory flat.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { createServer } from 'node:http';
import * as taskledger from '../dist/index.js';
import {
  dequeuerWithMetrics,
  metricsHandler,
  queueStateMetrics,
  queuerWithMetrics,
  setupTaskQueueMetrics,
  workerWithMetrics,
} from '../dist/metrics/index.js';

const { TaskQueue, Worker, UnrecoverableError } = taskledger;
const SHORT = process.argv.includes('--short');
const TOTAL = SHORT ? 400 : 3000;
/** Finished tasks go after 5 s, log entries after 10 s (1 s and 2 s in short mode, so the test sees it work). */
const RETENTION = SHORT ? { finishedMs: 1000, logMs: 2000 } : { finishedMs: 5000, logMs: 10_000 };
const COMPACT_INTERVAL_MS = SHORT ? 250 : 1000;
/** The steady phase: how long, how many tasks every 100 ms, and how often memory is printed. */
const STEADY_MS = SHORT ? 3000 : 30_000;
const STEADY_BATCH = SHORT ? 10 : 50;
const MEMORY_EVERY_MS = SHORT ? 1000 : 3000;
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
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, throwAway: false, stop: () => {} };
  const local = 'redis://127.0.0.1:6379';
  if (await answers(local)) return { url: local, throwAway: false, stop: () => {} };
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
    throwAway: true,
    stop: () => {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Where compaction puts the log entries it trims: a FileArchive in a temp dir where this build has one,
 * else none (`archive: false`: the trimmed entries are gone, as they are from the log).
 */
function demoArchive() {
  if (typeof taskledger.FileArchive !== 'function') return { archive: false, describe: 'no archive (archive: false)' };
  const dir = mkdtempSync(join(tmpdir(), 'taskledger-demo-archive-'));
  return { archive: new taskledger.FileArchive(dir), dir, describe: `archive: FileArchive in ${dir}` };
}

const redis = await connect();
const namespace = `demo-${Date.now().toString(36)}`;
const archive = demoArchive();
const metrics = setupTaskQueueMetrics('taskledger');
const q = dequeuerWithMetrics(
  queuerWithMetrics(
    new TaskQueue({
      connection: redis.url,
      namespace,
      heartbeatTtlMs: 5000,
      retention: RETENTION,
      archive: archive.archive,
      compactIntervalMs: COMPACT_INTERVAL_MS,
    }),
    metrics,
  ),
  metrics,
);
const compaction = { passes: 0, removedTasks: 0, trimmedEvents: 0, archivedEvents: 0 };
q.on('compacted', (report) => {
  compaction.passes++;
  compaction.removedTasks += report.removedTasks;
  compaction.trimmedEvents += report.trimmedEvents;
  compaction.archivedEvents += report.archivedEvents;
});
q.on('error', (err) => console.error('queue error:', err.message));
queueStateMetrics(q);
const metricsServer = createServer(metricsHandler());
await new Promise((res) => metricsServer.listen(Number(process.env.METRICS_PORT ?? 0), '127.0.0.1', res));
console.log(`taskledger demo: ${TOTAL} tasks in namespace "${namespace}" on ${redis.url}`);
console.log(
  `Retention: finished tasks ${RETENTION.finishedMs / 1000} s, log entries ${RETENTION.logMs / 1000} s; ` +
    `compaction every ${COMPACT_INTERVAL_MS} ms; ${archive.describe}`,
);
const metricsUrl = `http://127.0.0.1:${metricsServer.address().port}/metrics`;
console.log(`Prometheus metrics: ${metricsUrl} (while the demo runs${tty ? ', and after it until Ctrl-C' : ''})\n`);

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
// Read as soon as the retried task finishes: retention removes finished tasks a few seconds later.
let retriedHistory;
const workers = [1, 2].map(() =>
  workerWithMetrics(new Worker(q, handlers, { concurrency: 32, heartbeatIntervalMs: 500, progressThrottleMs: 100 })),
);
for (const w of workers) {
  w.on('task:finished', (task) => {
    counts.finished++;
    if (task.id === retriedId) retriedHistory ??= q.history(task.id);
  });
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
const sum = (queues, field) => Object.values(queues).reduce((n, x) => n + x[field], 0);
async function line(final = false) {
  const done = counts.finished + counts.failed + counts.cancelled;
  const running = workers.reduce((n, w) => n + w.state().running, 0);
  const secs = (Date.now() - started) / 1000;
  // Waiting (ready now) and delayed (a retry's backoff, a report due later) as Redis counts them.
  const { queues } = await q.stats();
  // Short enough for an 80-column terminal (the cancellation is in the summary).
  const text =
    `${Math.round(done / secs)}/s  waiting ${sum(queues, 'waiting')} delayed ${sum(queues, 'delayed')} ` +
    `running ${running}  finished ${counts.finished} failed ${counts.failed} retries ${counts.retrying}`;
  // One terminal line, rewritten in place: cut to the width, as a wrapped line could not be rewritten.
  if (tty) process.stdout.write(`\r${text.slice(0, (process.stdout.columns || 80) - 1)}\u001b[K${final ? '\n' : ''}`);
  else if (final || Date.now() - lastLine >= 1000) {
    console.log(text);
    lastLine = Date.now();
  }
}
while (counts.finished + counts.failed + counts.cancelled < total) {
  await line();
  await sleep(tty ? 100 : 250);
  if (Date.now() - started > 55_000) break;
}
await line(true);
await canceller;

const elapsed = (Date.now() - started) / 1000;
const burst = { ...counts };
console.log(
  `\nSummary: ${total} tasks in ${elapsed.toFixed(1)} s: ${counts.finished} finished, ${counts.failed} failed (poisoned input),`,
);
console.log(`${counts.cancelled} cancelled midway, ${counts.retrying} retries after handler errors.`);

if (retriedId) {
  console.log(`\nAudit history of retried task ${retriedId}, replayed from the event log when it finished:`);
  for (const e of (await retriedHistory) ?? []) {
    const data = Object.keys(e.data).length ? JSON.stringify(e.data) : '';
    console.log(
      `  ${e.at.toISOString()}  ${e.type.padEnd(9)} ${data.length > 110 ? data.slice(0, 107) + '...' : data}`,
    );
  }
}
const video = await q.get(videoId);
console.log(`\nThe cancelled transcode stopped at ${JSON.stringify(video.progress)} (status ${video.status}).`);

// The steady phase: a stream of thumbnails while compaction removes finished tasks and trims the log.
const usedMemory = async () => Number(/^used_memory:(\d+)/m.exec(await q.redis.info('memory'))?.[1] ?? 0);
const mb = (n) => `${(n / 1024 / 1024).toFixed(1)} MB`;
console.log(
  `\nSteady load: ${STEADY_BATCH * 10} thumbnails/s for ${STEADY_MS / 1000} s. Redis memory stays flat once ` +
    `the retention has passed (${RETENTION.logMs / 1000} s):`,
);
const steadyStart = Date.now();
let steadyEnqueued = 0;
let nextMemoryLine = steadyStart;
while (Date.now() - steadyStart < STEADY_MS) {
  await q.enqueueMany(
    Array.from({ length: STEADY_BATCH }, (_, i) => ({
      queue: 'images',
      type: 'thumbnail',
      spec: { image: `steady-${steadyEnqueued + i}.png`, width: 320 },
    })),
  );
  steadyEnqueued += STEADY_BATCH;
  if (Date.now() >= nextMemoryLine) {
    nextMemoryLine += MEMORY_EVERY_MS;
    const s = await q.stats();
    console.log(
      `  ${String(Math.round((Date.now() - steadyStart) / 1000)).padStart(3)} s  used_memory ${mb(await usedMemory()).padStart(8)}` +
        ` | log ${String(s.log.events).padStart(6)} events | finished tasks held ${String(s.ended.finished).padStart(6)}` +
        ` | compaction: ${compaction.passes} passes, ${compaction.removedTasks} tasks removed, ${compaction.trimmedEvents} events trimmed`,
    );
  }
  await sleep(100);
}
for (let i = 0; i < 200 && counts.finished - burst.finished < steadyEnqueued; i++) await sleep(25);
await Promise.all(workers.map((w) => w.close()));
console.log(
  `Steady phase: ${steadyEnqueued} enqueued, ${counts.finished - burst.finished} finished; ` +
    `${compaction.passes} compaction passes removed ${compaction.removedTasks} finished tasks and trimmed ${compaction.trimmedEvents} log entries` +
    (archive.archive ? ` (${compaction.archivedEvents} archived first).` : ' (archive: false: not kept).'),
);

const scrape = await (await fetch(`http://127.0.0.1:${metricsServer.address().port}/metrics`)).text();
const pick = (name) =>
  scrape
    .split('\n')
    .filter((l) => l.startsWith(name))
    .map((l) => Number(l.split(' ').pop()))
    .reduce((a, b) => a + b, 0);
console.log(
  `\nFrom /metrics: ${pick('taskledger_tasks_enqueued_total')} enqueued, ${pick('taskledger_task_retries_total')} retries, ` +
    `${pick('taskledger_event_log_entries')} events in the log, ${pick('taskledger_compaction_removed_tasks_total')} ` +
    `tasks removed by retention, ${pick('taskledger_ended_tasks_held{')} ended tasks held.`,
);
// Closing stops compaction (waiting for a pass in flight), so verify reads a log nothing trims meanwhile.
await q.close();
const checker = new TaskQueue({ connection: redis.url, namespace, recoveryIntervalMs: 0 });
const { tasks, mismatches } = await checker.verify();
console.log(`verify(): ${tasks} projections checked against the event log, ${mismatches.length} mismatches.`);

if (redis.throwAway) console.log('\nThe throw-away redis-server stops when the demo ends, and the namespace with it.');
else {
  const cli = `npx taskledger --redis ${redis.url} --namespace ${namespace}`;
  console.log(`\nThe namespace stays in ${redis.url}. Inspect it:`);
  console.log(`  ${cli} stats`);
  console.log(`  ${cli} doctor`);
  console.log(`  ${cli} events --type compacted`);
  if (archive.dir) {
    console.log(`  ${cli} events --archive ${archive.dir}     (the archive, then the log: every event)`);
    console.log(`  npx taskledger archive verify ${archive.dir}`);
  }
  console.log(`Drop it when done:\n  ${cli} drop --yes`);
}
if (archive.dir) console.log(`The archive stays in ${archive.dir}: remove it with rm -r when done.`);
if (tty) {
  // The address printed at the start keeps answering, with the namespace's state read live, until Ctrl-C.
  queueStateMetrics(checker);
  console.log(`\n${metricsUrl} is still served. Ctrl-C to stop.`);
  await new Promise((res) => process.once('SIGINT', res));
}
metricsServer.close();
await checker.close();
redis.stop();
const ok =
  mismatches.length === 0 &&
  burst.finished + burst.failed + burst.cancelled === total &&
  burst.cancelled === 1 &&
  counts.finished - burst.finished === steadyEnqueued;
process.exit(ok ? 0 : 1);
