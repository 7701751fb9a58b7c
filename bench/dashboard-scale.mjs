// The dashboard at scale: a namespace of --tasks tasks (default 1,000,000) whose log holds about ten events
// per ended task (default about 10,000,000 events), then each dashboard route timed over HTTP.
//   node bench/dashboard-scale.mjs [--tasks 1000000] [--progress 8] [--reps 20] [--keep]
// On a redis-server of its own (AOF off). Made through the library, as an application would: enqueueMany
// in batches of 1,000 over three queues (mail 70 %, images 25 %, rare 5 %), then Workers at concurrency 64
// that report progress --progress times per task (each a logged event) and fail one task in seven. 10 % stay
// waiting, 1 % wait delayed, 64 stay running. Prints JSON: the fill, Redis memory and per route the median
// and p95 ms of --reps requests, and what a page of ended tasks cost when it was read from the log (the
// scan this version replaced: XREVRANGE pages of 2,000 until the page is full, at most 200,000 entries).
import * as tl from '../dist/index.js';
import { spawnRedis } from './redis.mjs';

const argv = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
};
const TASKS = opt('tasks', 1_000_000);
const PROGRESS = opt('progress', 8);
const REPS = opt('reps', 20);
const NS = 'scale';

const server = await spawnRedis([]);
const queue = new tl.TaskQueue({ connection: server.url, namespace: NS, heartbeatTtlMs: 600_000 });
const redis = queue.redis;
const log = (...a) => console.error(new Date().toISOString().slice(11, 19), ...a);

const queueOf = (i) => (i % 20 === 0 ? 'rare' : i % 4 === 1 ? 'images' : 'mail');
const t0 = Date.now();
// Enqueue: all but the delayed ones due now.
const delayedCount = Math.floor(TASKS / 100);
for (let i = 0; i < TASKS - delayedCount; i += 1000) {
  const n = Math.min(1000, TASKS - delayedCount - i);
  await queue.enqueueMany(
    Array.from({ length: n }, (_, j) => ({
      queue: queueOf(i + j),
      type: (i + j) % 3 === 0 ? 'digest' : 'send',
      spec: { i: i + j },
      references: { customer: (i + j) % 10_000 },
      maxAttempts: 1,
    })),
  );
  if (i % 100_000 === 0) log('enqueued', i);
}
for (let i = 0; i < delayedCount; i += 1000)
  await queue.enqueueMany(
    Array.from({ length: Math.min(1000, delayedCount - i) }, (_, j) => ({
      queue: queueOf(i + j),
      type: 'send',
      delayMs: 3_600_000 + (i + j) * 10,
    })),
  );
const enqueueMs = Date.now() - t0;

// Process all but 10 % (and 64 left running), each with PROGRESS progress events; one in ten fails.
const toProcess = Math.floor((TASKS - delayedCount) * 0.9);
let done = 0;
let held = 0;
let release;
const holding = new Promise((r) => (release = r));
const t1 = Date.now();
const workers = [0, 1].map(
  () =>
    new tl.Worker(
      queue,
      async (task, ctx) => {
        if (done >= toProcess) {
          held++;
          await holding; // the last ones stay running
          return null;
        }
        done++;
        for (let p = 1; p <= PROGRESS; p++) await ctx.progress({ p });
        if (task.spec.i % 7 === 3) throw new Error('no');
        return { ok: true };
      },
      { queues: ['mail', 'images', 'rare'], concurrency: 32, progressThrottleMs: 0 },
    ),
);
for (const w of workers) w.start();
let last = 0;
while (done < toProcess || held < 64) {
  await new Promise((r) => setTimeout(r, 1000));
  if (done - last >= 100_000 || done >= toProcess) {
    log('processed', done, 'held', held);
    last = done;
  }
}
const processMs = Date.now() - t1;

const info = await redis.info('memory');
const usedMemory = Number(/used_memory:(\d+)/.exec(info)[1]);
const events = await redis.xlen(`{${NS}}:events`);
const indexBytes = Number(await redis.memory('USAGE', `{${NS}}:ended-by-queue`, 'SAMPLES', '0'));
const indexSize = await redis.zcard(`{${NS}}:ended-by-queue`);
log('events', events, 'used memory', usedMemory);

// The dashboard, and each route timed.
const d = await tl.serveDashboard({ queue, port: 0 });
const time = async (path, status = 200) => {
  const ms = [];
  let body;
  for (let i = 0; i < REPS; i++) {
    const start = process.hrtime.bigint();
    const res = await fetch(new URL(path, d.url));
    body = await res.json();
    ms.push(Number(process.hrtime.bigint() - start) / 1e6);
    if (res.status !== status) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`);
  }
  ms.sort((a, b) => a - b);
  return { median: +ms[Math.floor(ms.length / 2)].toFixed(2), p95: +ms[Math.floor(ms.length * 0.95)].toFixed(2), body };
};
const tasks = (q, query) => `api/namespaces/${NS}/queues/${q}/tasks?limit=50&${query}`;
/** The cursor after `pages` pages. */
const deep = async (q, query, pages) => {
  let after = '';
  for (let i = 0; i < pages; i++) {
    const { body } = await time(tasks(q, `${query}${after}`));
    after = `&after=${encodeURIComponent(body.next)}`;
  }
  return `${query}${after}`;
};
const someTask = (await queue.listTasks({ queue: 'mail', status: 'finished', limit: 1 })).tasks[0];
const routes = {
  overview: `api/namespaces/${NS}/overview`,
  'mail waiting': tasks('mail', 'status=waiting'),
  'mail waiting, page 20': tasks('mail', await deep('mail', 'status=waiting', 20)),
  'mail delayed': tasks('mail', 'status=delayed'),
  'mail running': tasks('mail', 'status=running'),
  'mail finished': tasks('mail', 'status=finished'),
  'mail finished, oldest first': tasks('mail', 'status=finished&oldest=1'),
  'mail finished, page 100': tasks('mail', await deep('mail', 'status=finished', 100)),
  'mail failed': tasks('mail', 'status=failed'),
  'rare finished': tasks('rare', 'status=finished'),
  'rare failed, type digest': tasks('rare', 'status=failed&type=digest'),
  'reference customer=42': tasks('mail', 'status=finished&reference=customer%3D42'),
  'task and timeline': `api/namespaces/${NS}/tasks/${someTask.id}`,
  schedules: `api/namespaces/${NS}/schedules`,
  'unknown task (404)': [`api/namespaces/${NS}/tasks/no-such-task`, 404],
  'malformed cursor (400)': [tasks('mail', 'status=finished&after=nope'), 400],
};
const timed = {};
for (const [name, path] of Object.entries(routes)) {
  const { median, p95, body } = await (Array.isArray(path) ? time(...path) : time(path));
  timed[name] = { median, p95, items: body.tasks?.length ?? body.timeline?.length ?? body.queues?.length ?? null };
  log(name, median, p95);
}

// A page of ended tasks as it was read before the ended index: the log, newest first, until 51 found.
const scanned = async (q, status) => {
  const start = process.hrtime.bigint();
  let found = 0;
  let reads = 0;
  let cursor = '+';
  for (let n = 0; found <= 50 && n < 200_000; n += 2000) {
    const page = await redis.xrevrange(`{${NS}}:events`, cursor === '+' ? '+' : `(${cursor}`, '-', 'COUNT', 2000);
    reads += page.length;
    for (const [id, f] of page) {
      cursor = id;
      if (f[1] === status && f[f.indexOf('queue') + 1] === q) found++;
    }
    if (page.length < 2000) break;
  }
  return { ms: +(Number(process.hrtime.bigint() - start) / 1e6).toFixed(1), entriesRead: reads, found };
};
const fromLog = {
  'mail finished': await scanned('mail', 'finished'),
  'rare finished': await scanned('rare', 'finished'),
  'rare failed': await scanned('rare', 'failed'),
};
// The live log: time to its first message.
const liveStart = process.hrtime.bigint();
const ctl = new AbortController();
const live = await fetch(new URL(`api/namespaces/${NS}/live`, d.url), { signal: ctl.signal });
const reader = live.body.getReader();
await reader.read();
const liveMs = +(Number(process.hrtime.bigint() - liveStart) / 1e6).toFixed(2);
ctl.abort();

console.log(
  JSON.stringify(
    {
      tasks: TASKS,
      events,
      fill: { enqueueMs, processMs, processed: done },
      redis: {
        usedMemoryMB: Math.round(usedMemory / 2 ** 20),
        endedIndex: { members: indexSize, MB: +(indexBytes / 2 ** 20).toFixed(1) },
      },
      routesMs: timed,
      liveFirstMessageMs: liveMs,
      endedPageFromTheLog: fromLog,
    },
    null,
    2,
  ),
);
release();
await d.close();
await Promise.all(workers.map((w) => w.close()));
await queue.close();
if (!argv.includes('--keep')) server.stop();
else log('kept', server.url);
process.exit(0);
