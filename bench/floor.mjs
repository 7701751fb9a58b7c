// The floor of the design: a minimal queue built from only the mechanisms the design fixes. For every
// transition it appends an event to a log stream and folds it into the task's hash, in one Lua call that
// checks the task first (start: still waiting for exactly this ready entry; finish: still running under the
// caller's lease); dequeue is served by a consumer group; finishes ride along with the next start; enqueues
// and starts are batched as taskledger's are. It leaves out all the rest: idempotent ids, task keys declared
// in KEYS (Redis Cluster), the full task returned to the handler, the running set of heartbeat deadlines
// (stall recovery), removing started entries from the ready stream, the task's list of event ids
// (history()), the counts, validation and the worker's runtime. It is not a queue to use. It estimates what
// the design alone costs: taskledger does strictly more, so a target the floor misses, taskledger misses too,
// and the gap between the two is the price of what taskledger adds (bench/ablate.mjs splits it up).
//   node bench/floor.mjs [--n 20000] [--rounds 3]
// Runs floor, taskledger and BullMQ on one redis-server (AOF off) in alternating order and prints, per
// workload, the median rates, each side's CPU per task (medians taken one measure at a time) and the ratios
// to BullMQ. `bench/instructions.mjs --systems floor,taskledger,bullmq` counts its Redis instructions.
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { bulkFill, closedLoop, medians, redisCpu, spec } from './common.mjs';
import { startRedis } from './redis.mjs';
import { SYSTEMS, counter } from './systems.mjs';

const NS = '{floor}';
const GROUP = 'g';

// Per task: XADD the ready entry, XADD the enqueued event, HSET the hash (readyId: what start checks).
const ENQUEUE = `
for i = 1, #ARGV, 2 do
  local id, spec = ARGV[i], ARGV[i + 1]
  local r = redis.call('XADD', KEYS[3], '*', 'task', id)
  local e = redis.call('XADD', KEYS[1], '*', 'event', 'enqueued', 'task', id, 'spec', spec)
  redis.call('HSET', KEYS[2] .. id, 'status', 'waiting', 'spec', spec, 'readyId', r, 'attempt', 0, 'updatedAt', e)
end
return #ARGV / 2`;

// ARGV: how many to start, then (task id, lease) per task to finish. Per finish: HMGET check (running under
// that lease), XADD, HSET. Then one XREADGROUP and per entry: HMGET check (waiting for this entry), XADD,
// HSET (the event id is the lease); one XACK. Returns id, lease, attempt, spec per started task.
const STEP = `
local events, prefix, ready = KEYS[1], KEYS[2], KEYS[3]
for i = 2, #ARGV, 2 do
  local k = prefix .. ARGV[i]
  local s = redis.call('HMGET', k, 'status', 'lease')
  if s[1] == 'running' and s[2] == ARGV[i + 1] then
    local e = redis.call('XADD', events, '*', 'event', 'finished', 'task', ARGV[i])
    redis.call('HSET', k, 'status', 'finished', 'updatedAt', e)
  end
end
local out, acks = {}, {}
local n = tonumber(ARGV[1])
if n > 0 then
  local r = redis.call('XREADGROUP', 'GROUP', '${GROUP}', 'c', 'COUNT', n, 'STREAMS', ready, '>')
  if r then
    for _, entry in ipairs(r[1][2]) do
      local id = entry[2][2]
      local k = prefix .. id
      local s = redis.call('HMGET', k, 'status', 'readyId', 'attempt', 'spec')
      if s[1] == 'waiting' and s[2] == entry[1] then
        local attempt = tostring(tonumber(s[3]) + 1)
        local e = redis.call('XADD', events, '*', 'event', 'started', 'task', id, 'attempt', attempt)
        redis.call('HSET', k, 'status', 'running', 'lease', e, 'attempt', attempt, 'updatedAt', e)
        out[#out + 1] = id
        out[#out + 1] = e
        out[#out + 1] = attempt
        out[#out + 1] = s[4]
      end
      acks[#acks + 1] = entry[1]
    end
    if #acks > 0 then redis.call('XACK', ready, '${GROUP}', unpack(acks)) end
  end
end
return out`;

const KEYS = [`${NS}:events`, `${NS}:task:`, `${NS}:ready`];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The floor, behind the interface of bench/systems.mjs. Task keys are built in Lua: fine on one node, which is all a bound needs. */
export function floor(url) {
  let q;
  let next = 0;
  const pending = [];
  const flush = () => {
    const batch = pending.splice(0, 32);
    if (pending.length) setImmediate(flush);
    const args = batch.flatMap((b) => [b.id, b.spec]);
    q.flEnqueue(...KEYS, ...args).then(
      () => batch.forEach((b) => b.resolve()),
      (e) => batch.forEach((b) => b.reject(e)),
    );
  };
  const connect = () => {
    const r = new Redis(url);
    r.on('error', () => {}); // a failed command rejects; the event alone would only be logged
    r.defineCommand('flEnqueue', { numberOfKeys: 3, lua: ENQUEUE });
    r.defineCommand('flStep', { numberOfKeys: 3, lua: STEP });
    return r;
  };
  return {
    name: 'floor',
    async open() {
      q = connect();
      await q.xgroup('CREATE', KEYS[2], GROUP, '0', 'MKSTREAM').catch((e) => {
        if (!String(e.message).startsWith('BUSYGROUP')) throw e;
      });
    },
    enqueue(spec) {
      return new Promise((resolve, reject) => {
        pending.push({ id: `t${next++}`, spec: JSON.stringify(spec), resolve, reject });
        if (pending.length === 1) setImmediate(flush);
      });
    },
    async enqueueBulk(specs) {
      await Promise.all(specs.map((s) => this.enqueue(s)));
    },
    /** Two readers (one at concurrency 1), each starting as many as it has slots free and finishing the last batch in the same call. */
    async work(concurrency, handler, onDone) {
      const w = connect();
      let stopped = false;
      const readers = concurrency > 1 ? 2 : 1;
      const loops = Array.from({ length: readers }, async (_, i) => {
        const slots = Math.floor(concurrency / readers) + (i < concurrency % readers ? 1 : 0);
        let finishing = [];
        while (!stopped || finishing.length) {
          const reply = await w.flStep(...KEYS, stopped ? 0 : slots, ...finishing);
          for (let j = 0; j < finishing.length; j += 2) onDone();
          finishing = [];
          if (reply.length === 0) {
            if (!stopped) await sleep(1);
            continue;
          }
          const runs = [];
          for (let j = 0; j < reply.length; j += 4) {
            finishing.push(reply[j], reply[j + 1]);
            runs.push(handler(JSON.parse(reply[j + 3])));
          }
          await Promise.all(runs);
        }
      });
      return async () => {
        stopped = true;
        await Promise.all(loops);
        w.disconnect();
      };
    },
    close: async () => q.disconnect(),
  };
}

const argv = process.argv.slice(2);
const opt = (name, fallback) => (argv.includes(`--${name}`) ? Number(argv[argv.indexOf(`--${name}`) + 1]) : fallback);

async function main() {
  const server = await startRedis({ aof: false });
  // A failed call in a worker loop rejects where nobody awaits: stop the server rather than leave it running.
  process.on('unhandledRejection', (err) => {
    console.error(err);
    server.stop();
    process.exit(1);
  });
  const admin = new Redis(server.url);
  try {
    await compare(server.url, admin);
  } finally {
    admin.disconnect();
    server.stop();
  }
}

async function compare(url, admin) {
  const N = opt('n', 20_000);
  const ROUNDS = opt('rounds', 3);
  const systems = { floor, taskledger: SYSTEMS.taskledger, bullmq: SYSTEMS.bullmq };
  const workloads = {
    'enqueue, 64 in flight': (sys) => closedLoop(N, 64, (i) => sys.enqueue(spec(i))),
    'processing, concurrency 64': async (sys, prepared) => prepared(64),
    'processing, concurrency 1': async (sys, prepared) => prepared(1),
  };
  const results = {};
  for (const [wname, run] of Object.entries(workloads)) {
    results[wname] = {};
    for (let round = 0; round < ROUNDS; round++) {
      const names = Object.keys(systems);
      for (const name of names.map((_, i) => names[(i + round) % names.length])) {
        await admin.flushdb();
        const sys = systems[name](url);
        await sys.open();
        if (wname.startsWith('processing')) await bulkFill(sys, N);
        const done = counter(N);
        let stop;
        const prepared = async (c) => {
          stop = await sys.work(c, async () => undefined, done.tick);
          await done.all;
        };
        const r0 = await redisCpu(url);
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        await run(sys, prepared);
        const secs = (performance.now() - t0) / 1000;
        const c = process.cpuUsage(c0);
        const redisUs = ((await redisCpu(url)) - r0) / N;
        if (stop) await stop();
        await sys.close();
        // The bound only counts if the floor did the work: one event per transition of every task.
        const events = await admin.xlen(KEYS[0]);
        const expected = wname.startsWith('processing') ? 3 * N : N;
        if (name === 'floor' && events !== expected)
          throw new Error(`floor wrote ${events} events for ${wname}, not ${expected}`);
        (results[wname][name] ??= []).push({ rate: N / secs, redisUs, nodeUs: (c.user + c.system) / N });
        process.stderr.write(`${wname} ${name} round ${round + 1}: ${Math.round(N / secs)}/s\n`);
      }
    }
  }
  console.log(
    `\nThe floor of the design against taskledger and BullMQ (AOF off, medians of ${ROUNDS} rounds, N = ${N})\n`,
  );
  console.log(
    '| workload | floor | taskledger | BullMQ | floor / BullMQ | taskledger / BullMQ | CPU per task, Redis / Node (µs): floor, taskledger, BullMQ |',
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const [wname, by] of Object.entries(results)) {
    const m = Object.fromEntries(Object.entries(by).map(([name, rs]) => [name, medians(rs)]));
    const cpuCell = ['floor', 'taskledger', 'bullmq']
      .map((n) => `${m[n].redisUs.toFixed(0)} / ${m[n].nodeUs.toFixed(0)}`)
      .join(', ');
    console.log(
      `| ${wname} | ${Math.round(m.floor.rate).toLocaleString('en-US')} | ${Math.round(m.taskledger.rate).toLocaleString('en-US')} | ${Math.round(m.bullmq.rate).toLocaleString('en-US')} | ${(m.floor.rate / m.bullmq.rate).toFixed(2)}x | ${(m.taskledger.rate / m.bullmq.rate).toFixed(2)}x | ${cpuCell} |`,
    );
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
  process.exit(0);
}
