// npm run bench:soak: taskledger's retention and compaction under load, and BullMQ beside it.
//   node bench/soak.mjs [--n 200000] [--backlog N] [--rounds 3] [--rate 5000] [--tasks 3000000] [--tail 35]
//     [--interval 1000] [--soak-interval 3000] [--parts rate,soak,bullmq] [--no-write] [--from-results]
// Every run on a fresh redis-server of its own (AOF off):
//   rate    processing at concurrency 64 without and with compaction, alternately, --rounds times
//   soak    taskledger at --rate for --tasks (default: 10 minutes' worth, at least 1,000,000), retention and a
//           FileArchive on, used_memory every 2 s, a latency probe every 10 ms, then checks of the log and archive
//   bullmq  BullMQ at the same rate and count, removeOnComplete: { age: 10 }
// Writes bench/soak-results.json and docs/soak-memory.svg, and prints a section for docs/benchmarks.md.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker as Thread } from 'node:worker_threads';
import { Redis } from 'ioredis';
import * as tl from '../dist/index.js';
import { bulkFill, median, redisCpu, spec, machineInfo, machineLine } from './common.mjs';
import { startRedis } from './redis.mjs';
import { bullmq, counter } from './systems.mjs';

const argv = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const N = Number(opt('n', 200_000));
const ROUNDS = Number(opt('rounds', 3));
const RATE = Number(opt('rate', 5000));
const TASKS = Number(opt('tasks', Math.max(1_000_000, RATE * 600)));
const TAIL_S = Number(opt('tail', 35));
const RATE_INTERVAL = Number(opt('interval', 1000));
const SOAK_INTERVAL = Number(opt('soak-interval', 3000));
const BACKLOG = Number(opt('backlog', N));
const PARTS = opt('parts', 'rate,soak,bullmq').split(',');

const NS = 'soak';
const RETENTION = { finishedMs: 10_000, logMs: 30_000 };
const LOG_KEY = `{${NS}}:events`;
// Without compaction in the build, the same runs without retention; without FileArchive, with archive: false.
const HAS_COMPACTION = typeof tl.TaskQueue.prototype.compact === 'function';
const HAS_ARCHIVE = typeof tl.FileArchive === 'function';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.timeOrigin + performance.now();
const pct = (xs, p) => {
  const s = Float64Array.from(xs).sort();
  return s.length ? s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))] : NaN;
};
const sum = (xs) => xs.reduce((a, b) => a + b, 0);
const round = (x, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const tempDir = () => mkdtempSync(join(tmpdir(), 'taskledger-archive-'));

/** taskledger behind the interface of bench/systems.mjs, with the queue itself (`q`) for compact, verify, history. */
function taskledger(url, options = {}) {
  const q = new tl.TaskQueue({ connection: url, namespace: NS, recoveryIntervalMs: 0, ...options });
  return {
    name: 'taskledger',
    q,
    open: () => q.stats(),
    enqueueBulk: (specs) => q.enqueueMany(specs.map((s) => ({ queue: NS, type: 'noop', spec: s }))),
    async work(concurrency, handler, onDone) {
      // The worker on a queue of its own, which compacts nothing: the main queue's timer does.
      const wq = new tl.TaskQueue({ connection: url, namespace: NS, recoveryIntervalMs: 0 });
      const w = new tl.Worker(wq, async (task) => handler(task.spec), { queues: [NS], concurrency });
      w.on('task:finished', onDone);
      w.start();
      return async () => {
        await w.close();
        await wq.close();
      };
    },
    close: () => q.close(),
  };
}

const compaction = (dir, interval) =>
  HAS_COMPACTION
    ? { retention: RETENTION, archive: HAS_ARCHIVE && new tl.FileArchive(dir), compactIntervalMs: interval }
    : {};

/** Collects the queue's compaction reports and errors; `windows()` gives each pass's [start, end] in epoch ms. */
function passes(q) {
  const reports = [];
  const errors = [];
  q.on('error', (err) => errors.push(String(err)));
  // A pass skipped (another instance held the lock) did nothing: not counted.
  if (HAS_COMPACTION) q.on('compacted', (r) => r.skipped || reports.push(r));
  return { reports, errors, windows: () => reports.map((r) => [r.startedAt, r.startedAt + r.durationMs]) };
}

function passSummary(reports) {
  const durations = reports.map((r) => r.durationMs);
  return {
    passes: reports.length,
    durationMsP50: median(durations),
    durationMsMax: reports.length ? Math.max(...durations) : 0,
    ...Object.fromEntries(
      ['archivedEvents', 'trimmedEvents', 'removedTasks', 'snapshots', 'reclaimedLogBytes'].map((k) => [
        k,
        sum(reports.map((r) => r[k])),
      ]),
    ),
  };
}

/** Starts a worker at concurrency 64 and resolves with the rate once it has finished n tasks. */
async function drain(sys, n) {
  const done = counter(n);
  const t0 = performance.now();
  const stop = await sys.work(64, async () => undefined, done.tick);
  await done.all;
  const rate = n / ((performance.now() - t0) / 1000);
  await stop();
  return rate;
}

/**
 * One processing run. Both variants first process a backlog (N tasks) and leave it to age past logMs, so
 * that compaction has about as much to archive, trim and remove while measured as the measured run adds
 * (without it, nothing would be old enough to compact within the run); then N tasks are enqueued and processed.
 */
async function rateRun(withCompaction) {
  const server = await startRedis({ aof: false });
  const dir = tempDir();
  try {
    const fill = taskledger(server.url);
    if (BACKLOG) {
      await bulkFill(fill, BACKLOG);
      await drain(fill, BACKLOG);
      await sleep(RETENTION.logMs + 1000);
    }
    await bulkFill(fill, N);
    await fill.close();
    // Compaction as its timer runs it (a pass, then RATE_INTERVAL) but driven from here: the first pass starts
    // with the measurement, and every pass is reported (the timer's 'compacted' leaves out one close() stops).
    const sys = taskledger(server.url, withCompaction ? compaction(dir, 0) : {});
    const { reports, errors } = passes(sys.q);
    await sys.open();
    let measuring = true;
    const driver = (async () => {
      while (withCompaction && measuring) {
        const r = await sys.q.compact().catch((err) => void errors.push(String(err)));
        if (r && !r.skipped) reports.push(r);
        if (measuring) await sleep(RATE_INTERVAL);
      }
    })();
    const cpu0 = await redisCpu(server.url);
    const node0 = process.cpuUsage();
    const t0 = Date.now();
    const opsPerSec = await drain(sys, N);
    const t1 = Date.now();
    measuring = false;
    const node = process.cpuUsage(node0);
    const redisUsPerTask = ((await redisCpu(server.url)) - cpu0) / N;
    await driver;
    await sys.close();
    const during = reports.filter((r) => r.startedAt < t1 && r.startedAt + r.durationMs > t0);
    // The share of the measured time a pass was running.
    const busy = sum(during.map((r) => Math.min(t1, r.startedAt + r.durationMs) - Math.max(t0, r.startedAt)));
    return {
      opsPerSec,
      redisUsPerTask,
      nodeUsPerTask: (node.user + node.system) / N,
      ...(withCompaction && { compaction: { ...passSummary(during), busyShare: round(busy / (t1 - t0)) }, errors }),
    };
  } finally {
    server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function rateRounds() {
  const rounds = [];
  for (let i = 0; i < ROUNDS; i++) {
    // Alternate which variant goes first: the host's speed drifts within minutes.
    const r = {};
    for (const v of i % 2 ? ['with', 'without'] : ['without', 'with']) r[v] = await rateRun(v === 'with');
    r.ratio = r.with.opsPerSec / r.without.opsPerSec;
    rounds.push(r);
    process.stderr.write(`rate round ${i + 1}: ${JSON.stringify(r)}\n`);
  }
  return {
    rounds,
    withoutPerSec: median(rounds.map((r) => r.without.opsPerSec)),
    withPerSec: median(rounds.map((r) => r.with.opsPerSec)),
    ratio: median(rounds.map((r) => r.ratio)),
  };
}

/** used_memory every 2 s, with the backlog (enqueued, not yet finished) and the log's length. */
function memorySampler(url, t0, backlog) {
  const redis = new Redis(url);
  const rows = [];
  const sample = async () => {
    const [[, info], [, xlen]] = await redis.multi().info('memory').xlen(LOG_KEY).exec();
    const used = Number(/used_memory:(\d+)/.exec(info)[1]);
    const rss = Number(/used_memory_rss:(\d+)/.exec(info)[1]);
    rows.push({ t: round((Date.now() - t0) / 1000, 1), usedMB: round(used / 2 ** 20), rssMB: round(rss / 2 ** 20) });
    Object.assign(rows.at(-1), { backlog: backlog(), ...(xlen && { logEntries: xlen }) });
  };
  void sample();
  const timer = setInterval(sample, 2000);
  return {
    rows,
    stop: () => {
      clearInterval(timer);
      redis.disconnect();
    },
  };
}

/** This thread's event-loop delay every 10 ms: [at, delay ms, ...]. Compaction runs on this thread too. */
function loopDelay() {
  const samples = [];
  let last = now();
  const timer = setInterval(() => {
    const t = now();
    samples.push(last, Math.max(0, t - last - 10));
    last = t;
  }, 10);
  return { samples, stop: () => clearInterval(timer) };
}

function startProbe(url) {
  const thread = new Thread(new URL('./soak-probe.mjs', import.meta.url), { workerData: { url } });
  const result = new Promise((resolve) => thread.once('message', resolve));
  return async () => {
    thread.postMessage('stop');
    const samples = await result;
    await thread.terminate();
    return samples;
  };
}

/** Splits [at, ms, ...] samples into those overlapping a window (sorted, disjoint [start, end]) and the rest. */
function split(samples, windows) {
  const inside = [];
  const outside = [];
  let j = 0;
  for (let i = 0; i < samples.length; i += 2) {
    const [t, ms] = [samples[i], samples[i + 1]];
    while (j < windows.length && windows[j][1] < t) j++;
    (j < windows.length && windows[j][0] <= t + ms ? inside : outside).push(ms);
  }
  const stats = (xs) => ({ samples: xs.length, p50Ms: pct(xs, 50), p99Ms: pct(xs, 99), maxMs: Math.max(0, ...xs) });
  return { duringCompaction: stats(inside), outside: stats(outside) };
}

/** Offers n tasks at `rate` per second (a batch whenever some are due); returns the first batch's result. */
async function produce(sys, n, rate, progress) {
  const t0 = performance.now();
  let first;
  while (progress.sent < n) {
    const due = Math.min(n, Math.floor(((performance.now() - t0) * rate) / 1000));
    if (due <= progress.sent) {
      await sleep(5);
      continue;
    }
    const k = Math.min(500, due - progress.sent);
    const out = await sys.enqueueBulk(Array.from({ length: k }, (_, j) => spec(progress.sent + j)));
    first ??= out;
    progress.sent += k;
  }
  progress.offeredPerSec = n / ((performance.now() - t0) / 1000);
  return first;
}

/** The load's steady part (from logMs + 10 s, or its second half when shorter): mean, max, slope. */
function steady(rows, loadEndS) {
  const from = loadEndS > 2 * (RETENTION.logMs / 1000 + 10) ? RETENTION.logMs / 1000 + 10 : loadEndS / 2;
  const xs = rows.filter((r) => r.t >= from && r.t <= loadEndS);
  const mt = sum(xs.map((r) => r.t)) / xs.length;
  const mm = sum(xs.map((r) => r.usedMB)) / xs.length;
  const slope = sum(xs.map((r) => (r.t - mt) * (r.usedMB - mm))) / sum(xs.map((r) => (r.t - mt) ** 2));
  return {
    fromS: round(from, 0),
    toS: round(loadEndS, 0),
    meanMB: round(mm),
    maxMB: Math.max(...xs.map((r) => r.usedMB)),
    slopeMBPerMin: round(slope * 60),
  };
}

async function soak(name) {
  const server = await startRedis({ aof: false });
  const dir = tempDir();
  try {
    const sys =
      name === 'taskledger'
        ? taskledger(server.url, compaction(dir, SOAK_INTERVAL))
        : bullmq(server.url, { jobOptions: { removeOnComplete: { age: 10 } } });
    await sys.open();
    const pass = sys.q ? passes(sys.q) : null;
    const progress = { sent: 0 };
    let finished = 0;
    const done = counter(TASKS);
    const stopWork = await sys.work(
      64,
      async () => undefined,
      () => (finished++, done.tick()),
    );
    const t0 = Date.now();
    const stopProbe = startProbe(server.url);
    const delay = loopDelay();
    const memory = memorySampler(server.url, t0, () => progress.sent - finished);
    const first = await produce(sys, TASKS, RATE, progress);
    await done.all;
    const loadEndS = (Date.now() - t0) / 1000;
    // Latency is measured under load; memory for TAIL_S more, to show what stays.
    delay.stop();
    const probe = await stopProbe();
    process.stderr.write(`soak ${name}: ${TASKS} tasks in ${loadEndS.toFixed(0)} s; ${TAIL_S} s more of sampling\n`);
    // verify() while the tasks of the last logMs are still there and compaction goes on, as an operator would.
    const verifyAtEnd = pass && (await sys.q.verify());
    await sleep(Math.max(0, t0 + (loadEndS + TAIL_S) * 1000 - Date.now()));
    memory.stop();
    await stopWork();
    const windows = pass?.windows() ?? [];
    const out = {
      tasks: TASKS,
      offeredPerSec: round(progress.offeredPerSec, 0),
      loadEndS: round(loadEndS, 1),
      maxBacklog: Math.max(...memory.rows.map((r) => r.backlog)),
      memory: steady(memory.rows, loadEndS),
      finalMB: memory.rows.at(-1).usedMB,
      latency: split(probe, windows),
      loopDelay: split(delay.samples, windows),
      samples: memory.rows,
    };
    if (pass) {
      out.compaction = passSummary(pass.reports);
      out.passes = pass.reports;
      out.errors = pass.errors;
      await sys.close();
      out.checks = await checks(server.url, dir, first[0], verifyAtEnd);
    } else await sys.close();
    return out;
  } finally {
    server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** After the soak, on a queue that compacts nothing: the log and the archive add up, and agree. */
async function checks(url, dir, firstId, verifyAtEnd) {
  const archive = HAS_COMPACTION && HAS_ARCHIVE ? new tl.FileArchive(dir) : null;
  const q = new tl.TaskQueue({
    connection: url,
    namespace: NS,
    recoveryIntervalMs: 0,
    ...(HAS_COMPACTION && { retention: RETENTION, archive: archive ?? false, compactIntervalMs: 0 }),
  });
  // With the log trimmed and no archive, its older events are gone: those checks cannot hold.
  const lost = HAS_COMPACTION && !archive;
  const redis = new Redis(url);
  try {
    const segments = archive ? await archive.segments() : [];
    const archived = sum(segments.map((s) => s.count));
    const bytes = sum(segments.map((s) => s.bytes));
    const xlen = await redis.xlen(LOG_KEY);
    const info = await redis.xinfo('STREAM', LOG_KEY);
    const added = Number(info[info.indexOf('entries-added') + 1]);
    const verify = await q.verify();
    const archiveVerify = archive ? await archive.verify() : null;
    const h0 = performance.now();
    const types = new Set((await q.history(firstId)).map((e) => e.type));
    const historyMs = performance.now() - h0;
    const list = [
      {
        check: 'archived events + XLEN of the log = entries-added',
        pass: lost ? null : archived + xlen === added,
        detail: `${archived} + ${xlen} = ${archived + xlen}, entries-added ${added}`,
      },
      {
        check: 'q.verify() at the last task, compaction on, has no mismatches',
        pass: verifyAtEnd.mismatches.length === 0,
        detail: `${verifyAtEnd.tasks} tasks, ${verifyAtEnd.mismatches.length} mismatches${verifyAtEnd.mismatches.length ? `: ${verifyAtEnd.mismatches.slice(0, 3).join('; ')}` : ''}`,
      },
      {
        check: `q.verify() ${TAIL_S} s later, compaction off, has no mismatches`,
        pass: verify.mismatches.length === 0,
        detail: `${verify.tasks} tasks, ${verify.mismatches.length} mismatches${verify.mismatches.length ? `: ${verify.mismatches.slice(0, 3).join('; ')}` : ''}`,
      },
      {
        check: 'archive.verify() ok',
        pass: archiveVerify ? archiveVerify.ok : null,
        detail: archiveVerify
          ? `${archiveVerify.segments} segments, ${archiveVerify.events} events, ${archiveVerify.problems.length} problems`
          : 'no archive in this build',
      },
      {
        check: 'history(first task) has enqueued, started, finished',
        pass: lost ? null : ['enqueued', 'started', 'finished'].every((t) => types.has(t)),
        detail: `${[...types].join(', ')} (read in ${historyMs.toFixed(0)} ms)`,
      },
    ];
    return {
      list,
      segments: segments.length,
      archivedEvents: archived,
      archiveBytes: bytes,
      archiveBytesPerTask: round(bytes / TASKS, 1),
      archiveBytesPerEvent: archived ? round(bytes / archived, 1) : null,
    };
  } finally {
    redis.disconnect();
    await q.close();
  }
}

/** used_memory over time, one line per system; plain SVG. */
function chart(series, loadEndS, { rate, tasks }) {
  const [W, H] = [760, 380];
  const m = { l: 64, r: 20, t: 44, b: 52 };
  const step = (max) => {
    const raw = max / 6;
    const p = 10 ** Math.floor(Math.log10(raw));
    return [1, 2, 5, 10].map((k) => k * p).find((s) => s >= raw);
  };
  const pts = series.flatMap((s) => s.rows);
  const xMax = Math.max(...pts.map((r) => r.t));
  const yMax = Math.max(...pts.map((r) => r.usedMB)) * 1.25; // headroom for the legend
  const x = (t) => m.l + (t / xMax) * (W - m.l - m.r);
  const y = (mb) => H - m.b - (mb / yMax) * (H - m.t - m.b);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">Redis used_memory during the soak (${rate.toLocaleString('en-US')} tasks/s, ${tasks.toLocaleString('en-US')} tasks)</text>`,
  ];
  const [xs, ys] = [step(xMax), step(yMax)];
  for (let t = 0; t <= xMax; t += xs)
    out.push(
      `<line x1="${x(t)}" y1="${H - m.b}" x2="${x(t)}" y2="${H - m.b + 5}" stroke="black"/>`,
      `<text x="${x(t)}" y="${H - m.b + 18}" text-anchor="middle">${t}</text>`,
    );
  for (let mb = 0; mb <= yMax; mb += ys)
    out.push(
      `<line x1="${m.l}" y1="${y(mb)}" x2="${W - m.r}" y2="${y(mb)}" stroke="#e4e4e4"/>`,
      `<text x="${m.l - 8}" y="${y(mb) + 4}" text-anchor="end">${mb}</text>`,
    );
  out.push(
    `<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="black"/>`,
    `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="black"/>`,
    `<text x="${(m.l + W - m.r) / 2}" y="${H - 12}" text-anchor="middle">time (s)</text>`,
    `<text transform="translate(18 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">used_memory (MB)</text>`,
    `<line x1="${x(loadEndS)}" y1="${m.t}" x2="${x(loadEndS)}" y2="${H - m.b}" stroke="#888" stroke-dasharray="4 4"/>`,
    `<text x="${x(loadEndS) - 4}" y="${m.t + 12}" text-anchor="end" fill="#666">last task</text>`,
  );
  out.push(
    `<rect x="${m.l + 8}" y="${m.t}" width="120" height="${series.length * 18 + 6}" fill="white" stroke="#ccc"/>`,
  );
  series.forEach((s, i) => {
    const d = s.rows.map((r) => `${x(r.t).toFixed(1)},${y(r.usedMB).toFixed(1)}`).join(' ');
    out.push(
      `<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${d}"/>`,
      `<line x1="${m.l + 16}" y1="${m.t + 10 + i * 18}" x2="${m.l + 40}" y2="${m.t + 10 + i * 18}" stroke="${s.color}" stroke-width="2"/>`,
      `<text x="${m.l + 46}" y="${m.t + 14 + i * 18}">${s.name}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function markdown(r) {
  const f = (x) => Math.round(x).toLocaleString('en-US');
  const ms = (x) => (Number.isFinite(x) ? x.toFixed(2) : '-');
  const lines = ['## Soak: memory with retention', ''];
  lines.push(
    `\`npm run bench:soak\` (\`bench/soak.mjs\`), every run on a fresh \`redis-server\` with AOF off. Machine: ${machineLine(r)}.${r.compaction ? '' : ' **Compaction was not available in this build: taskledger ran without retention.**'}${r.compaction && !r.archive ? ' **FileArchive was not in this build: compaction ran with `archive: false`.**' : ''}`,
    '',
  );
  if (r.rate) {
    const c = r.rate.rounds.map((x) => x.ratio);
    const cpu = (v) =>
      `${median(r.rate.rounds.map((x) => x[v].redisUsPerTask)).toFixed(1)} / ${median(r.rate.rounds.map((x) => x[v].nodeUsPerTask)).toFixed(1)}`;
    lines.push(
      `**Processing at concurrency 64, without and with compaction** (${f(r.options.n)} tasks, medians of ${r.rate.rounds.length} alternating rounds; Redis and Node CPU per task as Redis / Node). Before each run a backlog of ${f(r.options.backlog)} tasks is processed and left ${RETENTION.logMs / 1000 + 1} s to age, so that the passes during the run (retention \`{ finishedMs: 10000, logMs: 30000 }\`, a \`FileArchive\`) have as much to archive, trim and remove as the run adds. Compaction runs as its timer would with \`compactIntervalMs: ${r.options.interval}\` (a pass, then that pause), driven by \`q.compact()\` so that the first pass starts with the measurement.`,
      '',
      '| | without compaction | with compaction | with / without | per round |',
      '|---|---|---|---|---|',
      `| tasks/s | ${f(r.rate.withoutPerSec)} | ${f(r.rate.withPerSec)} | ${r.rate.ratio.toFixed(2)} | ${Math.min(...c).toFixed(2)}-${Math.max(...c).toFixed(2)} |`,
      `| CPU per task, Redis / Node (µs) | ${cpu('without')} | ${cpu('with')} | | |`,
    );
    const during = r.rate.rounds.map((x) => x.with.compaction).filter(Boolean);
    if (during.length)
      lines.push(
        '',
        `Passes during each measured run: ${during.map((d) => `${d.passes} (${f(d.archivedEvents)} events archived, ${f(d.removedTasks)} tasks removed)`).join('; ')}.`,
      );
    lines.push('');
  }
  const t = r.soak?.taskledger;
  const b = r.soak?.bullmq;
  if (t || b) {
    lines.push(
      `**Soak**: ${f(r.options.tasks)} tasks offered at ${f(r.options.rate)}/s, one worker at concurrency 64; taskledger with retention \`{ finishedMs: 10000, logMs: 30000 }\`, a \`FileArchive\` and \`compactIntervalMs: ${r.options.soakInterval}\`; BullMQ with \`removeOnComplete: { age: 10 }\`. \`used_memory\` every 2 s, sampling on for ${r.options.tail} s after the last task. A probe thread sends \`PING\` every 10 ms on a connection of its own; samples overlapping a compaction pass (the \`compacted\` reports' \`startedAt\` and \`durationMs\`) are counted apart. Raw numbers: \`bench/soak-results.json\`.`,
      '',
      '![used_memory over the soak](soak-memory.svg)',
      '',
      '| | taskledger | BullMQ |',
      '|---|---|---|',
    );
    const row = (label, get) => lines.push(`| ${label} | ${t ? get(t) : '-'} | ${b ? get(b) : '-'} |`);
    row('offered rate (tasks/s)', (s) => f(s.offeredPerSec));
    row('largest backlog (enqueued, not finished)', (s) => f(s.maxBacklog));
    row(
      `used_memory from ${t?.memory.fromS ?? b.memory.fromS} s to the last task: mean / max (MB)`,
      (s) => `${s.memory.meanMB.toFixed(0)} / ${s.memory.maxMB.toFixed(0)}`,
    );
    row('trend over that span (MB/min)', (s) => s.memory.slopeMBPerMin.toFixed(1));
    row(`used_memory ${r.options.tail} s after the last task (MB)`, (s) => s.finalMB.toFixed(0));
    row(
      'PING round trip, p99 / max (ms; taskledger: outside passes)',
      (s) => `${ms(s.latency.outside.p99Ms)} / ${ms(s.latency.outside.maxMs)}`,
    );
    if (r.compaction && t?.compaction) {
      const l = t.latency.duringCompaction;
      const d = t.loopDelay.duringCompaction;
      const o = t.loopDelay.outside;
      lines.push(
        '',
        `Compaction: ${t.compaction.passes} passes (p50 ${f(t.compaction.durationMsP50)} ms, longest ${f(t.compaction.durationMsMax)} ms), ${f(t.compaction.archivedEvents)} events archived, ${f(t.compaction.trimmedEvents)} trimmed, ${f(t.compaction.removedTasks)} tasks removed. Archive: ${f(t.checks.archiveBytes)} bytes in ${t.checks.segments} segments, **${t.checks.archiveBytesPerTask} bytes per task** (${t.checks.archiveBytesPerEvent} per event).`,
        '',
        '| PING round trip (ms) | samples | p50 | p99 | max |',
        '|---|---|---|---|---|',
        `| during a compaction pass | ${f(l.samples)} | ${ms(l.p50Ms)} | ${ms(l.p99Ms)} | ${ms(l.maxMs)} |`,
        `| outside | ${f(t.latency.outside.samples)} | ${ms(t.latency.outside.p50Ms)} | ${ms(t.latency.outside.p99Ms)} | ${ms(t.latency.outside.maxMs)} |`,
        '',
        `The event loop of the process that compacts (and runs the worker) was late by up to ${ms(d.maxMs)} ms during passes (p99 ${ms(d.p99Ms)}), ${ms(o.maxMs)} ms outside them (p99 ${ms(o.p99Ms)}).`,
      );
    }
    if (t?.checks) {
      lines.push('', '**After the soak**', '', '| check | result | |', '|---|---|---|');
      for (const c of t.checks.list)
        lines.push(`| ${c.check} | ${c.pass === null ? 'n/a' : c.pass ? 'PASS' : 'FAIL'} | ${c.detail} |`);
    }
  }
  return lines.join('\n');
}

async function run() {
  const results = {
    date: new Date().toISOString(),
    machine: machineInfo(),
    compaction: HAS_COMPACTION,
    archive: HAS_ARCHIVE,
    options: {
      n: N,
      rounds: ROUNDS,
      backlog: BACKLOG,
      rate: RATE,
      tasks: TASKS,
      tail: TAIL_S,
      interval: RATE_INTERVAL,
      soakInterval: SOAK_INTERVAL,
      retention: RETENTION,
    },
  };
  const server = await startRedis({ aof: false });
  const r = new Redis(server.url);
  results.redis = /redis_version:(\S+)/.exec(await r.info('server'))?.[1];
  r.disconnect();
  server.stop();
  if (!HAS_COMPACTION) process.stderr.write('compaction not in this build: taskledger runs without retention\n');
  else if (!HAS_ARCHIVE) process.stderr.write('FileArchive not in this build: compaction runs with archive: false\n');
  if (PARTS.includes('rate')) results.rate = await rateRounds();
  results.soak = {};
  for (const name of ['taskledger', 'bullmq'].filter((n) => PARTS.includes(n === 'taskledger' ? 'soak' : n))) {
    results.soak[name] = await soak(name);
    const { samples: _samples, passes: _passes, ...brief } = results.soak[name];
    process.stderr.write(`soak ${name}: ${JSON.stringify(brief)}\n`);
  }
  return results;
}

// --from-results re-renders the chart and the section from bench/soak-results.json; --no-write writes neither.
const RESULTS = new URL('./soak-results.json', import.meta.url);
const results = argv.includes('--from-results') ? JSON.parse(readFileSync(RESULTS, 'utf8')) : await run();
const write = !argv.includes('--no-write');
for (const c of results.soak.taskledger?.checks?.list ?? [])
  console.log(`${c.pass === null ? 'N/A ' : c.pass ? 'PASS' : 'FAIL'}  ${c.check}: ${c.detail}`);
if (write && !argv.includes('--from-results')) writeFileSync(RESULTS, JSON.stringify(results, null, 2) + '\n');
const series = [
  ['taskledger', '#1f77b4'],
  ['bullmq', '#d62728'],
]
  .filter(([n]) => results.soak[n])
  .map(([n, color]) => ({ name: n === 'bullmq' ? 'BullMQ' : 'taskledger', color, rows: results.soak[n].samples }));
if (write && series.length) {
  const loadEnd = Math.max(...Object.values(results.soak).map((s) => s.loadEndS));
  writeFileSync(new URL('../docs/soak-memory.svg', import.meta.url), chart(series, loadEnd, results.options));
}
console.log(`\n${markdown(results)}\n`);
process.exit(0);
