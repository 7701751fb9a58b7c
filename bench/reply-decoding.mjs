// Node's cost of decoding a worker's start reply, without the noise of a round trip: a reply of 32 started
// tasks, captured from Redis once in each form start.lua could send it (nested lists, one JSON text), is
// fed to ioredis' own reply path (redis-parser making Buffers, then ioredis' conversion to strings) many
// times, and the JSON text then parsed.
//   node bench/reply-decoding.mjs [--rounds 5] [--n 20000 replies per form and round]
// Prints µs per task for each form, per round (the machine drifts; compare within a round).
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { START_REPLY_FIELDS } from '../dist/redis/protocols/start.js';
import { spec } from './common.mjs';
import { startRedis } from './redis.mjs';

const require = createRequire(import.meta.url);
const Parser = require(createRequire(require.resolve('ioredis')).resolve('redis-parser'));
const { convertBufferToString } = require('ioredis/built/utils');

const TASKS = 32;
// One started task of the benchmark as start.lua returns it: event id, attempt, then the values of
// START_REPLY_FIELDS (false: absent).
const SAMPLE = {
  queue: 'bench',
  type: 'noop',
  spec: JSON.stringify(spec(1)),
  references: '{}',
  maxAttempts: '3',
  createdAt: '1795802699545',
};
const lua = (v) => (v === undefined ? 'false' : `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`);
const task = `{'1795802699545-7', '1', ${START_REPLY_FIELDS.map((f) => lua(SAMPLE[f])).join(', ')}}`;
const FORMS = {
  nested: `local s = {} for i = 1, ${TASKS} do s[i] = ${task} end return { s, {}, {}, {} }`,
  json: `local s = {} for i = 1, ${TASKS} do s[i] = ${task} end return { cjson.encode(s), {}, {}, {} }`,
};
const DECODE = { nested: (reply) => reply, json: (reply) => JSON.parse(reply[0]) };

/** The raw bytes Redis sends back for EVAL of `script`. */
function rawReply(port, script) {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks = [];
    socket.write(`*3\r\n$4\r\nEVAL\r\n$${Buffer.byteLength(script)}\r\n${script}\r\n$1\r\n0\r\n`);
    socket.on('error', reject);
    socket.on('data', (d) => {
      chunks.push(d);
      const bytes = Buffer.concat(chunks);
      const probe = new Parser({
        returnBuffers: true,
        returnReply: () => (socket.destroy(), resolve(bytes)),
        returnError: reject,
      });
      probe.execute(bytes);
    });
  });
}

function perTask(bytes, decode, n) {
  let reply;
  const parser = new Parser({
    returnBuffers: true,
    returnReply: (r) => (reply = r),
    returnError: (e) => {
      throw e;
    },
  });
  const run = (n) => {
    for (let i = 0; i < n; i++) {
      parser.execute(bytes);
      decode(convertBufferToString(reply));
    }
  };
  run(n / 10);
  const t0 = process.hrtime.bigint();
  run(n);
  return Number(process.hrtime.bigint() - t0) / 1000 / n / TASKS;
}

const argv = process.argv.slice(2);
const opt = (name, fallback) => Number(argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : fallback);
const rounds = opt('rounds', 5);
const n = opt('n', 20_000);
const server = await startRedis({ aof: false });
try {
  const port = Number(new URL(server.url).port);
  const bytes = {};
  for (const [form, script] of Object.entries(FORMS)) bytes[form] = await rawReply(port, script);
  // Both forms must hold the same tasks (nested lists turn Lua's false into null).
  const decoded = (form) => {
    let out;
    new Parser({
      returnBuffers: true,
      returnReply: (r) => (out = DECODE[form](convertBufferToString(r))),
      returnError: () => {},
    }).execute(bytes[form]);
    return JSON.stringify(form === 'nested' ? out[0].map((t) => t.map((v) => v ?? false)) : out);
  };
  if (decoded('nested') !== decoded('json')) throw new Error('the two forms of the reply differ');
  console.log(
    `start reply of ${TASKS} tasks: nested lists ${bytes.nested.length} bytes, JSON text ${bytes.json.length} bytes`,
  );
  for (let r = 1; r <= rounds; r++) {
    const cells = Object.keys(FORMS).map((form) => `${form} ${perTask(bytes[form], DECODE[form], n).toFixed(2)} µs`);
    console.log(`round ${r}: ${cells.join(', ')} per task`);
  }
} finally {
  server.stop();
}
