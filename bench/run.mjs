// npm run bench: taskledger, BullMQ and Bee-Queue on the same Redis in the same run.
//   node bench/run.mjs [--n 20000] [--rounds 3] [--quick] [--no-aof] [--scaling 1000000] [--no-docs]
//     [--systems taskledger,bullmq] [--workloads enqueue,latency,scaling] (a subset writes no results or docs)
//     [--from-results] (only re-renders the table and the docs block from bench/results.json)
// Starts its own redis-server (AOF off, then appendonly everysec) unless BENCH_REDIS_URL is set (that Redis
// is flushed: give it a dedicated one). Prints a table, writes bench/results.json and the table in
// docs/benchmarks.md.
import { readFileSync, writeFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { bulkFill, closedLoop, median, medians, redisCpu, spec, machineInfo, machineLine } from './common.mjs';
import { startRedis } from './redis.mjs';
import { SYSTEMS, counter } from './systems.mjs';

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(`--${name}`);
const opt = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
};
const QUICK = flag('quick');
const N = opt('n', QUICK ? 400 : 20_000);
const ROUNDS = opt('rounds', QUICK ? 1 : 3);
const SCALING = opt('scaling', QUICK ? 2_000 : 1_000_000);
const PASSES = flag('no-aof') || QUICK ? [false] : [false, true];
const ONLY = (() => {
  const i = argv.indexOf('--systems');
  return i >= 0 ? argv[i + 1].split(',') : null;
})();
const WORKLOAD_NAMES = (() => {
  const i = argv.indexOf('--workloads');
  return i >= 0 ? argv[i + 1].split(',') : null;
})();
const WRITE_DOCS = !flag('no-docs') && !QUICK && !ONLY && !WORKLOAD_NAMES;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))];
};

async function flush(url) {
  const r = new Redis(url);
  await r.flushdb();
  r.disconnect();
}
async function usedMemory(url) {
  const r = new Redis(url);
  const info = await r.info('memory');
  r.disconnect();
  return Number(/used_memory:(\d+)/.exec(info)[1]);
}

const WORKLOADS = {
  async enqueue(sys) {
    return { opsPerSec: await closedLoop(N, 64, (i) => sys.enqueue(spec(i))) };
  },
  async bulk(sys) {
    const t0 = performance.now();
    await bulkFill(sys, N);
    return { opsPerSec: N / ((performance.now() - t0) / 1000) };
  },
  async process64(sys, url) {
    return processing(sys, N, 64, N, url);
  },
  async process1(sys, url) {
    // All N tasks, as at 64: a quarter of them took under a second here and moved by 20 % between rounds.
    return processing(sys, N, 1, N, url);
  },
  // Queue controls (Bee-Queue has neither): a cap of 8 across the workers, against BullMQ's global
  // concurrency; and tasks of ten priority levels, against BullMQ's priorities.
  async capped(sys, url) {
    if (!sys.capConcurrency) return null;
    await sys.capConcurrency(8);
    return processing(sys, N, 64, N, url);
  },
  async priority(sys, url) {
    if (!sys.enqueuePrioritized) return null;
    for (let i = 0; i < N; i += 500)
      await sys.enqueuePrioritized(
        Array.from({ length: Math.min(500, N - i) }, (_, j) => spec(i + j)),
        (j) => (i + j) % 10,
      );
    return processing(sys, 0, 64, N, url);
  },
  async latency(sys) {
    const rate = 500;
    const n = QUICK ? 200 : 4000;
    const lat = [];
    const done = counter(n);
    // Sub-millisecond clock: at p99 the systems differ by fractions of a millisecond.
    const now = () => performance.timeOrigin + performance.now();
    const stop = await sys.work(64, async (s) => void lat.push(now() - s.t), done.tick);
    await sleep(200);
    const t0 = Date.now();
    for (let i = 0; i < n; i++) {
      const due = t0 + (i * 1000) / rate;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
      void sys.enqueue({ ...spec(i), t: now() });
    }
    await done.all;
    await stop();
    return { p50Ms: pct(lat, 50), p99Ms: pct(lat, 99) };
  },
  async memory(sys, url) {
    const before = await usedMemory(url);
    await bulkFill(sys, N);
    const waiting = (await usedMemory(url)) - before;
    await processing(sys, 0, 64, N);
    const finished = (await usedMemory(url)) - before;
    return { waitingBytesPerTask: Math.round(waiting / N), finishedBytesPerTask: Math.round(finished / N) };
  },
};

/**
 * Enqueues n (bulk, untimed), then times a worker of the given concurrency through `total` tasks. With
 * `url`, also the CPU time each side spent per task (Redis; this Node process, all its threads): steadier
 * than rates on a shared machine, and where the time goes.
 */
async function processing(sys, n, concurrency, total = n, url = undefined) {
  if (n) await bulkFill(sys, n);
  const done = counter(total);
  const r0 = url ? await redisCpu(url) : 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const stop = await sys.work(concurrency, async () => undefined, done.tick);
  await done.all;
  const secs = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const out = { opsPerSec: total / secs };
  if (url) {
    out.redisUsPerTask = ((await redisCpu(url)) - r0) / total;
    out.nodeUsPerTask = (c.user + c.system) / total;
  }
  await stop();
  return out;
}

/**
 * taskledger alone, with `waiting` tasks waiting (and as many events in the log): its rates, history() and
 * stats(). The rates are the medians of three passes over one fill, each enqueueing `ops` tasks and then
 * processing `ops` (the oldest), so that every pass sees the same number waiting: a short stall of the
 * machine moves one pass, not the measure.
 */
async function scalingOnce(url, waiting) {
  await flush(url);
  const sys = SYSTEMS.taskledger(url);
  await sys.open();
  await bulkFill(sys, waiting);
  const ops = Math.min(10_000, N);
  const enqueues = [];
  const processes = [];
  for (let pass = 0; pass < 3; pass++) {
    enqueues.push(await closedLoop(ops, 64, (i) => sys.enqueue(spec(i))));
    processes.push((await processing(sys, 0, 64, ops)).opsPerSec);
  }
  const enqueue = median(enqueues);
  const processRate = median(processes);
  // history() of one task with `waiting` events in the log
  const probe = await sys.enqueue(spec(-1));
  const times = [];
  for (let i = 0; i < 200; i++) {
    const t0 = performance.now();
    await sys.history(probe);
    times.push(performance.now() - t0);
  }
  const scrape = [];
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    await sys.scrape();
    scrape.push(performance.now() - t0);
  }
  await sys.close();
  return {
    enqueuePerSec: enqueue,
    processPerSec: processRate,
    historyMs: median(times),
    statsScrapeMs: median(scrape),
  };
}

/**
 * Do taskledger's rates and history() hold when the queue and the log are large? Both sizes in every round,
 * in alternating order: measured once each, a change in the machine's speed between the two read as scaling.
 */
async function scaling(url) {
  const sizes = [10_000, SCALING];
  const rounds = [];
  for (let round = 0; round < ROUNDS; round++) {
    const r = {};
    for (const waiting of round % 2 ? [...sizes].reverse() : sizes) r[waiting] = await scalingOnce(url, waiting);
    rounds.push(r);
    process.stderr.write(`scaling round ${round + 1}: ${JSON.stringify(r)}\n`);
  }
  const summary = Object.fromEntries(sizes.map((size) => [size, medians(rounds.map((r) => r[size]))]));
  return { summary, rounds };
}

async function run() {
  const results = {
    date: new Date().toISOString(),
    machine: machineInfo(),
    n: N,
    rounds: ROUNDS,
    passes: {},
  };
  for (const aof of PASSES) {
    const server = await startRedis({ aof });
    const pass = aof ? 'aof-everysec' : 'no-aof';
    const probe = new Redis(server.url);
    results.redis = /redis_version:(\S+)/.exec(await probe.info('server'))?.[1];
    probe.disconnect();
    const raw = {};
    const names = Object.keys(SYSTEMS).filter((n) => !ONLY || ONLY.includes(n));
    for (const [wname, workload] of Object.entries(WORKLOADS).filter(
      ([w]) => !WORKLOAD_NAMES || WORKLOAD_NAMES.includes(w),
    )) {
      raw[wname] = Object.fromEntries(names.map((n) => [n, []]));
      for (let round = 0; round < ROUNDS; round++) {
        // Alternate the order so that no system always runs on a warm (or cold) server.
        const order = names.map((_, i) => names[(i + round) % names.length]);
        for (const name of order) {
          await flush(server.url);
          const sys = SYSTEMS[name](server.url);
          await sys.open();
          const r = await workload(sys, server.url);
          await sys.close();
          // null: the system has no such feature.
          if (r === null) continue;
          raw[wname][name].push(r);
          process.stderr.write(`${pass} ${wname} ${name} round ${round + 1}: ${JSON.stringify(r)}\n`);
        }
      }
    }
    const summary = {};
    for (const [wname, bySystem] of Object.entries(raw)) {
      summary[wname] = {};
      for (const [name, runs] of Object.entries(bySystem)) {
        if (runs.length > 0) summary[wname][name] = medians(runs);
      }
    }
    results.passes[pass] = { summary, raw };
    if (!aof && (!WORKLOAD_NAMES || WORKLOAD_NAMES.includes('scaling'))) {
      const { summary: bySize, rounds } = await scaling(server.url);
      results.scaling = bySize;
      results.scalingRounds = rounds;
    }
    server.stop();
  }
  return results;
}

const TARGETS = {
  enqueue: ['opsPerSec', 2.5, 'higher'],
  bulk: ['opsPerSec', 2, 'higher'],
  process64: ['opsPerSec', 3, 'higher'],
  process1: ['opsPerSec', 1.5, 'higher'],
  capped: ['opsPerSec', 1, 'higher'],
  priority: ['opsPerSec', 1, 'higher'],
  latency: ['p99Ms', 1, 'lower'],
  memory: ['finishedBytesPerTask', 1.5, 'lower'],
};
const LABELS = {
  enqueue: 'enqueue, 64 in flight (tasks/s)',
  bulk: 'bulk enqueue, batches of 500 (tasks/s)',
  process64: 'processing, concurrency 64 (tasks/s)',
  process1: 'processing, concurrency 1 (tasks/s)',
  capped: 'processing at a cap of 8, worker concurrency 64 (tasks/s)',
  priority: 'processing 10 priority levels, concurrency 64 (tasks/s)',
  latency: 'latency at 500/s: p50 / p99 (ms)',
  memory: 'memory per task: waiting / finished (bytes)',
};

function table(results) {
  const lines = [];
  for (const [pass, { summary, raw }] of Object.entries(results.passes)) {
    lines.push(
      `\n**${pass === 'no-aof' ? 'AOF off' : 'appendonly yes, appendfsync everysec'}** (medians of ${results.rounds} rounds, N = ${results.n})\n`,
    );
    lines.push('| workload | taskledger | BullMQ | Bee-Queue | taskledger / BullMQ | per round | target | met |');
    lines.push('|---|---|---|---|---|---|---|---|');
    for (const [w, s] of Object.entries(summary)) {
      const fmt = (x) => {
        if (!x) return '-';
        if (w === 'latency') return `${x.p50Ms.toFixed(2)} / ${x.p99Ms.toFixed(2)}`;
        if (w === 'memory') return `${x.waitingBytesPerTask} / ${x.finishedBytesPerTask}`;
        return Math.round(x.opsPerSec).toLocaleString('en-US');
      };
      const [key, target, dir] = TARGETS[w];
      if (!s.taskledger || !s.bullmq) {
        lines.push(`| ${LABELS[w]} | ${fmt(s.taskledger)} | ${fmt(s.bullmq)} | ${fmt(s['bee-queue'])} | - | | | |`);
        continue;
      }
      const ratio = s.taskledger[key] / s.bullmq[key];
      const met = dir === 'higher' ? ratio >= target : ratio <= target;
      // The ratio within each round (the two ran minutes apart): how far one run's median can be trusted.
      const rounds = (raw?.[w]?.taskledger ?? [])
        .map((x, i) => x[key] / raw[w].bullmq[i]?.[key])
        .filter(Number.isFinite);
      const spread = rounds.length > 1 ? `${Math.min(...rounds).toFixed(2)}-${Math.max(...rounds).toFixed(2)}x` : '';
      lines.push(
        `| ${LABELS[w]} | ${fmt(s.taskledger)} | ${fmt(s.bullmq)} | ${fmt(s['bee-queue'])} | ${ratio.toFixed(2)}x | ${spread} | ${dir === 'higher' ? '>=' : '<='} ${target}x | ${met ? 'yes' : 'no'} |`,
      );
    }
  }
  for (const [pass, { summary }] of Object.entries(results.passes)) {
    if (!summary.process64?.taskledger?.redisUsPerTask) continue;
    lines.push(
      `\n**CPU per task while processing** (${pass === 'no-aof' ? 'AOF off' : 'AOF everysec'}; µs, medians): Redis / this Node process\n`,
    );
    lines.push('| concurrency | taskledger | BullMQ | Bee-Queue |');
    lines.push('|---|---|---|---|');
    for (const w of ['process64', 'process1']) {
      const cell = (x) => (x?.redisUsPerTask ? `${x.redisUsPerTask.toFixed(0)} / ${x.nodeUsPerTask.toFixed(0)}` : '-');
      lines.push(
        `| ${w === 'process64' ? 64 : 1} | ${cell(summary[w]?.taskledger)} | ${cell(summary[w]?.bullmq)} | ${cell(summary[w]?.['bee-queue'])} |`,
      );
    }
  }
  if (results.scaling) {
    const [small, large] = Object.keys(results.scaling);
    const a = results.scaling[small];
    const b = results.scaling[large];
    lines.push(
      `\n**Scaling (taskledger)**: ${Number(small).toLocaleString('en-US')} vs ${Number(large).toLocaleString('en-US')} tasks waiting (and events in the log)\n`,
    );
    lines.push(
      `| measure | ${Number(small).toLocaleString('en-US')} | ${Number(large).toLocaleString('en-US')} | change | per round |`,
    );
    lines.push('|---|---|---|---|---|');
    const change = (x, y) => Math.round(((y - x) / x) * 100) || 0; // whole per cent, and never "-0"
    // The change within each round (both sizes minutes apart), as the main table's per-round ratios.
    const perRound = (k) => {
      const changes = (results.scalingRounds ?? []).map((r) => change(r[small][k], r[large][k]));
      return changes.length ? `${Math.min(...changes)}% to ${Math.max(...changes)}%` : '-';
    };
    const row = (label, k, unit) =>
      lines.push(
        `| ${label} | ${a[k].toFixed(unit === 'ms' ? 3 : 0)} ${unit} | ${b[k].toFixed(unit === 'ms' ? 3 : 0)} ${unit} | ${change(a[k], b[k])}% | ${perRound(k)} |`,
      );
    row('enqueue, 64 in flight', 'enqueuePerSec', '/s');
    row('processing, concurrency 64', 'processPerSec', '/s');
    row('history() of one task', 'historyMs', 'ms');
    row('stats() (a metrics scrape)', 'statsScrapeMs', 'ms');
  }
  return lines.join('\n');
}

// --from-results re-renders the table (and the docs block) from bench/results.json without running anything.
const results = flag('from-results')
  ? JSON.parse(readFileSync(new URL('./results.json', import.meta.url), 'utf8'))
  : await run();
const text = table(results);
console.log(text);
if (!QUICK && !WORKLOAD_NAMES && !flag('from-results'))
  writeFileSync(new URL('./results.json', import.meta.url), JSON.stringify(results, null, 2) + '\n');
if (WRITE_DOCS) {
  const docs = new URL('../docs/benchmarks.md', import.meta.url);
  const current = readFileSync(docs, 'utf8');
  const machine = `${machineLine(results)}`;
  const block = `<!-- results:start -->\nMachine: ${machine}.\n${text}\n<!-- results:end -->`;
  writeFileSync(docs, current.replace(/<!-- results:start -->[\s\S]*<!-- results:end -->/, block));
}
process.exit(0);
