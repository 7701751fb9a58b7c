// What each part of taskledger's start/finish call costs Redis: counts instructions per task (as
// bench/instructions.mjs) for taskledger with one part of its scripts taken out at a time, against the
// unchanged build. For measuring only: every variant but the encoding one breaks a guarantee.
//   node bench/ablate.mjs [--n 2000] [--workloads 64,1] [--parts reply,zadd,...]
// Each variant is a copy of dist/ (under node_modules/.cache, so that its imports resolve) whose script
// loader applies text replacements to the scripts it loads; a replacement that matches nothing stops the
// run, so a variant can never quietly measure the unchanged scripts.
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { measure, workloads } from './instructions.mjs';
import { taskledgerFrom } from './systems.mjs';

/** name: [what is taken out, replacements in the loaded scripts (after includes and generated code)]. */
const PARTS = {
  reply: [
    'the full task in the start reply (12 HMGET fields and their values back)',
    [
      ['starts[i] = { id, next, unpack(state, 5) }', 'starts[i] = { id, next }'],
      [
        "redis.call('HMGET', taskKey, unpack(START_FIELDS))",
        "redis.call('HMGET', taskKey, 'status', 'readyId', 'attempt', 'events')",
      ],
    ],
  ],
  zadd: ["the heartbeat deadlines' ZADD into the running set", [['zadd_as_skiplist(runningKey, deadlines)', '']]],
  listpack: [
    'nothing: the running set left a listpack below 128 members (negative: what the skiplist saves)',
    [['zadd_as_skiplist(runningKey, deadlines)', "call_chunked('ZADD', runningKey, nil, deadlines)"]],
  ],
  trim: [
    'the removal of started entries from the ready stream (XPENDING, XTRIM; XACK kept)',
    [
      [
        'for _, readyKey in ipairs(order) do drop_started(readyKey, group, byStream[readyKey]) end',
        "for _, readyKey in ipairs(order) do redis.call('XACK', readyKey, group, unpack(byStream[readyKey])) end",
      ],
    ],
  ],
  hdel: ["the started event's HDEL of readyId", [[`if etype=="started" then redis.call('HDEL',k,"readyId") end`, '']]],
  events: [
    "the task's list of event ids (each transition sets only its own)",
    [["a[n+3]='events' a[n+4]=prev and (prev..' '..id) or id", "a[n+3]='events' a[n+4]=id"]],
  ],
  gate: [
    "the queue controls' read (one HMGET per queue and call; no queue is then limited)",
    [
      [
        "local c = redis.call('HMGET', controlsKey, 'paused:' .. queue, 'hold:' .. queue, 'concurrency:' .. queue,\n    'rate:' .. queue, 'active:' .. queue, 'aging:' .. queue)",
        'local c = {}',
      ],
    ],
  ],
  active: [
    "the running counts per queue (start.lua's one HINCRBY per queue and call, by starts less finishes)",
    [["if d ~= 0 then redis.call('HINCRBY', controlsKey, 'active:' .. queue, d) end", '']],
  ],
};
PARTS.all = [
  'all of the above but the encoding, together',
  Object.entries(PARTS).flatMap(([k, [, r]]) => (k === 'listpack' ? [] : r)),
];

const ROOT = new URL('../', import.meta.url);

/** A copy of dist/ whose loadScript() applies `replacements`, counting the matches of each in globalThis. */
async function patchedBuild(name, replacements) {
  const dir = new URL(`node_modules/.cache/taskledger-ablate/${name}/`, ROOT);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  cpSync(new URL('dist/', ROOT), dir, { recursive: true });
  const file = new URL('redis/scripts.js', dir);
  const source = readFileSync(file, 'utf8');
  if (!source.includes('export function loadScript('))
    throw new Error('dist/redis/scripts.js has no loadScript(): rebuild, or update bench/ablate.mjs');
  writeFileSync(
    file,
    source.replace('export function loadScript(', 'function loadScriptUnpatched(') +
      `\nexport function loadScript(file) {
  let out = loadScriptUnpatched(file);
  globalThis.__ablate.forEach(([from, to], i) => {
    const parts = out.split(from);
    globalThis.__ablateHits[i] += parts.length - 1;
    out = parts.join(to);
  });
  return out;
}\n`,
  );
  globalThis.__ablate = replacements;
  globalThis.__ablateHits = replacements.map(() => 0);
  const lib = await import(new URL('index.js', dir).href);
  const missed = replacements.filter((_, i) => globalThis.__ablateHits[i] === 0);
  if (missed.length)
    throw new Error(
      `${name}: no script holds ${JSON.stringify(missed[0][0])}: the scripts changed, update bench/ablate.mjs`,
    );
  return { make: taskledgerFrom(lib), dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

async function main() {
  const argv = process.argv.slice(2);
  const opt = (name, fallback) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : fallback);
  const n = Number(opt('n', 2000));
  const chosen = opt('workloads', '64,1').split(',');
  const parts = opt('parts', Object.keys(PARTS).join(',')).split(',');
  const unknown = parts.filter((p) => !PARTS[p]);
  if (unknown.length) throw new Error(`unknown part ${unknown[0]}: one of ${Object.keys(PARTS).join(', ')}`);
  const picked = Object.entries(workloads(n)).filter(([w]) => chosen.some((c) => w.endsWith(`concurrency ${c}`)));
  const base = await patchedBuild('unchanged', []);
  const baseline = {};
  for (const [w, workload] of picked) baseline[w] = await measure(base.make, workload);
  base.dispose();
  const rows = [];
  for (const part of parts) {
    const [what, replacements] = PARTS[part];
    const build = await patchedBuild(part, replacements);
    const row = { part, what, saved: {} };
    for (const [w, workload] of picked) row.saved[w] = baseline[w] - (await measure(build.make, workload));
    build.dispose();
    rows.push(row);
    process.stderr.write(`${part}: ${JSON.stringify(row.saved)}\n`);
  }
  const k = (x) => `${Math.round(x / 1000).toLocaleString('en-US')}k`;
  console.log(
    `\nRedis instructions per task saved by taking a part out (callgrind, N = ${n}); unchanged: ${picked.map(([w]) => `${w} ${k(baseline[w])}`).join(', ')}\n`,
  );
  console.log(`| taken out | ${picked.map(([w]) => w).join(' | ')} |`);
  console.log(`|---|${picked.map(() => '---').join('|')}|`);
  for (const r of rows)
    console.log(
      `| ${r.part}: ${r.what} | ${picked.map(([w]) => `${k(r.saved[w])} (${Math.round((100 * r.saved[w]) / baseline[w])} %)`).join(' | ')} |`,
    );
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
  process.exit(0);
}
