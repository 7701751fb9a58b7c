import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keysFor } from '../src/redis/keys.js';
import { expandIncludes } from '../src/redis/scripts.js';
import {
  decodeEnqueueArgs,
  encodeEnqueue,
  ENQUEUE,
  enqueueConstants,
  type EnqueueTask,
} from '../src/redis/protocols/enqueue.js';
import {
  decodeClaims,
  decodeStartArgs,
  decodeStartReply,
  encodeStart,
  START,
  START_REPLY_FIELDS,
  startConstants,
  startedHash,
  type ClaimedEntry,
  type StartEntry,
  type StartInput,
} from '../src/redis/protocols/start.js';
import {
  decodeFinishArgs,
  decodeHeartbeatArgs,
  encodeFinish,
  encodeHeartbeat,
  TASK_WRITES,
  taskWritesConstants,
  type TaskWrite,
} from '../src/redis/protocols/task-writes.js';
import { KEPT_BY_START } from '../src/events/fold-rules.js';
import { upperSnake, type LuaConstant } from '../src/redis/protocols/lua.js';
import { useRedis } from './helpers/fixture.js';

const r = useRedis();
const k = keysFor('proto');

// Ids and text as they come: a lease may be '', progress any JSON text (or none).
const write: fc.Arbitrary<TaskWrite> = fc.record({
  taskId: fc.string({ minLength: 1, maxLength: 12 }),
  lease: fc.oneof(fc.constant(''), fc.string({ maxLength: 20 })),
  progress: fc.option(fc.string({ maxLength: 30 }), { nil: undefined }),
  // A finish's result or a fail's error: JSON text, never empty.
  outcome: fc.option(fc.string({ minLength: 1, maxLength: 30 }), { nil: undefined }),
});
// Queue 'b' has a priority level 3 besides 0; the others only 0.
const levelsOf = (queue: string): readonly number[] => (queue === 'b' ? [3, 0] : [0]);
const entry: fc.Arbitrary<StartEntry> = fc
  .record({
    queue: fc.constantFrom('a', 'b', 'emails'),
    high: fc.boolean(),
    entryId: fc.tuple(fc.nat(), fc.nat()).map(([ms, seq]) => `${ms}-${seq}`),
    taskId: fc.string({ minLength: 1, maxLength: 12 }),
  })
  .map(({ high, ...e }) => ({ ...e, priority: high ? levelsOf(e.queue)[0]! : 0 }));

/** The write records as the script sees them: each with its task hash. */
const withKeys = (writes: readonly TaskWrite[]) => writes.map((w) => ({ key: k.task(w.taskId), write: w }));

describe('task writes (finish.lua, fail.lua, heartbeat.lua)', () => {
  it('finish and fail: encode then decode gives back the writes', () => {
    fc.assert(
      fc.property(fc.array(write, { maxLength: 20 }), (writes) => {
        const encoded = encodeFinish(k, 'finished', writes);
        expect(encoded.args).toHaveLength(writes.length * TASK_WRITES.record.length);
        expect(decodeFinishArgs(encoded)).toEqual({
          keys: {
            events: k.events,
            running: k.running,
            counts: k.counts,
            endedIndex: k.endedIndex,
            throughput: k.throughput,
            controls: k.controls,
            wake: k.wake,
          },
          writes: withKeys(writes),
        });
      }),
    );
  });

  it('heartbeat: encode then decode gives back the TTL and the writes', () => {
    fc.assert(
      fc.property(fc.nat(), fc.array(write, { maxLength: 20 }), (ttlMs, writes) => {
        const decoded = decodeHeartbeatArgs(encodeHeartbeat(k, ttlMs, writes));
        expect(decoded).toEqual({ keys: { events: k.events, running: k.running }, ttlMs, writes: withKeys(writes) });
      }),
    );
  });

  it('keeps a progress of empty text apart from no progress', () => {
    const writes = [
      { taskId: 't1', lease: 'l', progress: '' },
      { taskId: 't2', lease: '', progress: undefined },
    ];
    expect(decodeFinishArgs(encodeFinish(k, 'finished', writes)).writes.map((w) => w.write)).toEqual(writes);
  });
});

/** What decodeStartArgs should read back for `input`: the input, each entry with the keys it brings. */
function startExpected(input: StartInput) {
  // The queues to claim from, then the entries' other queues in the order they first appear.
  const queues: string[] = input.claimFrom.map((q) => q.queue);
  for (const c of [...input.claimed, ...input.arrived]) if (!queues.includes(c.queue)) queues.push(c.queue);
  const entries = (list: readonly StartEntry[]) =>
    list.map((c) => ({
      taskKey: k.task(c.taskId),
      readyKey: k.ready(c.queue, c.priority),
      taskId: c.taskId,
      entryId: c.entryId,
      queue: queues.indexOf(c.queue) + 1,
    }));
  return {
    keys: {
      events: k.events,
      running: k.running,
      counts: k.counts,
      endedIndex: k.endedIndex,
      throughput: k.throughput,
      controls: k.controls,
      wake: k.wake,
    },
    group: input.group,
    ttlMs: input.ttlMs,
    consumer: input.consumer,
    prefetch: input.prefetch,
    finishes: withKeys(input.finishes),
    claimed: entries(input.claimed),
    arrived: entries(input.arrived),
    queues: queues.map((name, i) => ({
      name,
      rateKey: k.rate(name),
      streams: levelsOf(name).map((p) => k.ready(name, p)),
      claimFrom: i < input.claimFrom.length,
    })),
    restKeys: [],
    rest: [],
  };
}

describe('start (start.lua)', () => {
  const base: StartInput = {
    group: 'workers',
    consumer: 'taskledger',
    ttlMs: 30_000,
    finishes: [],
    claimed: [],
    arrived: [],
    claimFrom: [],
    levelsOf,
    prefetch: 0,
  };
  const from = (...queues: string[]) => queues.map((queue) => ({ queue, levels: levelsOf(queue) }));
  const claimed = [
    { queue: 'a', priority: 0, entryId: '1-0', taskId: 't1' },
    { queue: 'b', priority: 3, entryId: '1-1', taskId: 't2' },
  ];
  const finishes = Array.from({ length: 40 }, (_, i) => ({
    taskId: `f${i}`,
    lease: `${i}-0`,
    progress: i % 3 ? undefined : `{"n":${i}}`,
  }));
  const shapes: Record<string, StartInput> = {
    'claimed entries only': { ...base, claimed },
    'no finishes, a prefetch': { ...base, claimed, claimFrom: from('b', 'a'), prefetch: 8 },
    'many finishes': { ...base, finishes, claimed },
    'arrived entries': { ...base, arrived: [{ queue: 'a', priority: 0, entryId: '2-0', taskId: 't3' }] },
    'all at once': {
      ...base,
      finishes: finishes.slice(0, 3),
      claimed,
      arrived: claimed,
      claimFrom: from('a'),
      prefetch: 1,
    },
    'only a prefetch': { ...base, claimFrom: from('a', 'b', 'c'), prefetch: 64 },
  };

  it.each(Object.entries(shapes))('encode then decode gives back the input: %s', (_, input) => {
    expect(decodeStartArgs(encodeStart(k, input))).toEqual(startExpected(input));
  });

  it('encode then decode gives back the input, for any shape', () => {
    const input = fc.record({
      group: fc.string(),
      consumer: fc.string(),
      ttlMs: fc.nat(),
      finishes: fc.array(write, { maxLength: 10 }),
      claimed: fc.array(entry, { maxLength: 10 }),
      arrived: fc.array(entry, { maxLength: 10 }),
      claimFrom: fc.uniqueArray(fc.constantFrom('a', 'b', 'c'), { maxLength: 3 }).map((qs) => from(...qs)),
      levelsOf: fc.constant(levelsOf),
      prefetch: fc.nat({ max: 100 }),
    });
    fc.assert(
      fc.property(input, (i) => {
        expect(decodeStartArgs(encodeStart(k, i))).toEqual(startExpected(i));
      }),
    );
  });

  it('decodes the reply: started records into hashes, claims with their queues', () => {
    const values = Object.fromEntries(
      START_REPLY_FIELDS.map((f) => [f, f === 'queue' ? 'a' : f === 'maxAttempts' ? '3' : false]),
    );
    const record = ['1700000000000-5', '2', ...START_REPLY_FIELDS.map((f) => values[f]!)];
    const reply = [JSON.stringify([record, 0]), [2, '5-0', 'x', 1, '5-1', 'y'], [1, -6], [1, '6-0', 'z']];
    const { starts, claims, extra } = decodeStartReply(reply);
    expect(starts[1]).toBe(0);
    const hash = startedHash(starts[0] as (string | false)[], 't1');
    expect(hash).toMatchObject({
      queue: 'a',
      maxAttempts: '3',
      status: 'running',
      attempt: '2',
      lease: '1700000000000-5',
      startedAt: '1700000000000',
    });
    expect(hash).not.toHaveProperty('type'); // false: absent from the task
    const out: ClaimedEntry[] = [];
    const sources = [
      { queue: 'q1', priority: 0 },
      { queue: 'q2', priority: 5 },
    ];
    decodeClaims(claims, (i) => sources[i - 1]!, 7, out);
    decodeClaims(extra, () => ({ queue: 'arrived', priority: 0 }), 7, out);
    expect(out).toEqual([
      { queue: 'q2', priority: 5, entryId: '5-0', taskId: 'x', at: 7 },
      { queue: 'q1', priority: 0, entryId: '5-1', taskId: 'y', at: 7 },
      { queue: 'arrived', priority: 0, entryId: '6-0', taskId: 'z', at: 7 },
    ]);
  });
});

const task = (id: string, queue: string, request: Partial<EnqueueTask['request']> = {}): EnqueueTask => ({
  id,
  maxAttempts: 3,
  request: {
    queue,
    type: 'send',
    specJson: '{"to":"x"}',
    references: {},
    referencesJson: '{}',
    delayMs: undefined,
    runAt: undefined,
    backoffJson: undefined,
    timeoutMs: undefined,
    priority: undefined,
    ...request,
  },
});

/** What decodeEnqueueArgs should read back for `tasks`: each task with its keys and the options it sent. */
function enqueueExpected(tasks: readonly EnqueueTask[]) {
  // Each priority level of a queue is a queue of its own in the call, with the queue's name.
  const units = [...new Map(tasks.map((t) => [`${t.request.priority ?? 0}:${t.request.queue}`, t.request])).values()];
  return {
    keys: { events: k.events, queues: k.queues, wake: k.wake, levels: k.levels },
    group: 'workers',
    queues: units.map((r) => ({
      name: r.queue,
      readyKey: k.ready(r.queue, r.priority ?? 0),
      delayedKey: k.delayed(r.queue),
    })),
    tasks: tasks.map(({ id, request: r, maxAttempts }) => {
      const refs = Object.entries(r.references);
      const options: Record<string, string | number> = {};
      if (refs.length) options.references = r.referencesJson;
      if (r.delayMs !== undefined) options.delay = r.delayMs;
      if (r.runAt !== undefined) options.runAt = r.runAt;
      if (r.backoffJson !== undefined) options.backoff = r.backoffJson;
      if (r.timeoutMs !== undefined) options.timeoutMs = r.timeoutMs;
      if (r.priority) options.priority = r.priority;
      return {
        id,
        queue: r.queue,
        type: r.type,
        specJson: r.specJson,
        maxAttempts,
        options,
        taskKey: k.task(id),
        referenceKeys: refs.map(([n, v]) => k.reference(n, v)),
      };
    }),
    restKeys: [],
    rest: [],
  };
}

describe('enqueue (enqueue.lua)', () => {
  const shapes: Record<string, EnqueueTask[]> = {
    'one task, no options': [task('t1', 'a')],
    'tasks of several queues, one named twice': [task('t1', 'a'), task('t2', 'b'), task('t3', 'a')],
    'references and every option': [
      task('t1', 'a', {
        references: { user: 7, org: 'x' },
        referencesJson: '{"user":7,"org":"x"}',
        delayMs: 500,
        backoffJson: '{"type":"fixed"}',
        timeoutMs: 1000,
      }),
      task('t2', 'a', { runAt: 1_800_000_000_000, priority: 4 }),
      task('t3', 'b'),
      task('t4', 'a', { priority: 4 }),
    ],
  };

  it.each(Object.entries(shapes))('encode then decode gives back the input: %s', (_, tasks) => {
    const encoded = encodeEnqueue(k, 'workers', tasks);
    expect(decodeEnqueueArgs(encoded)).toEqual(enqueueExpected(tasks));
  });

  it('a task without options costs ENQUEUE.task values', () => {
    const { args } = encodeEnqueue(k, 'workers', [task('t1', 'a'), task('t2', 'a')]);
    expect(args).toHaveLength(ENQUEUE.header.length + 1 + 2 * ENQUEUE.task.length);
  });

  it('encode then decode gives back the input, for any shape', () => {
    const one = fc
      .record({
        id: fc.string({ minLength: 1, maxLength: 8 }),
        queue: fc.constantFrom('a', 'b', 'c'),
        refs: fc.dictionary(
          fc.string({ minLength: 1, maxLength: 5 }),
          fc.oneof(fc.string(), fc.integer(), fc.boolean()),
          { maxKeys: 3 },
        ),
        delayMs: fc.option(fc.nat(), { nil: undefined }),
        runAt: fc.option(fc.nat(), { nil: undefined }),
        backoffJson: fc.option(fc.constant('{}'), { nil: undefined }),
        timeoutMs: fc.option(fc.nat(), { nil: undefined }),
        priority: fc.option(fc.integer({ min: 1, max: 9 }), { nil: undefined }),
      })
      .map(({ id, queue, refs, ...options }) =>
        task(id, queue, { references: refs, referencesJson: JSON.stringify(refs), ...options }),
      );
    fc.assert(
      fc.property(fc.array(one, { minLength: 1, maxLength: 12 }), (tasks) => {
        expect(decodeEnqueueArgs(encodeEnqueue(k, 'workers', tasks))).toEqual(enqueueExpected(tasks));
      }),
    );
  });
});

/** The constants as Redis reads them in a script that declares the include. */
async function luaValues(include: string, names: string[]): Promise<Record<string, LuaConstant>> {
  const { lua } = expandIncludes(
    'test.lua',
    `--@include ${include}\nreturn cjson.encode({ ${names.map((n) => `${n} = ${n}`).join(', ')} })\n`,
  );
  return JSON.parse((await r.raw().eval(lua, 0)) as string) as Record<string, LuaConstant>;
}

describe('the generated Lua of each protocol', () => {
  const protocols = {
    'start-protocol': startConstants(),
    'enqueue-protocol': enqueueConstants(),
    'task-writes-protocol': taskWritesConstants(),
  };

  it.each(Object.entries(protocols))(
    '%s: Redis reads the constants of the TypeScript definition',
    async (name, constants) => {
      expect(await luaValues(name, Object.keys(constants))).toEqual(constants);
    },
  );

  it('the constants are the positions of the definitions', () => {
    const at = (names: readonly string[], name: string) => names.indexOf(name) + 1;
    const s = startConstants();
    expect(s).toMatchObject({
      START_KEYS: START.keys.length,
      START_HEADER: START.header.length,
      START_ENTRY_KEYS: START.entryKeys.length,
      START_ENTRY_WIDTH: START.entry.length,
    });
    for (const name of START.keys) expect(s[`START_KEY_${upperSnake(name)}`]).toBe(at(START.keys, name));
    expect(s).toMatchObject({
      START_ARG_GROUP: 1,
      START_ARG_TTL_MS: 2,
      START_ARG_FINISHES: at(START.header, 'finishes'),
      START_ENTRY_ENTRY_ID: at(START.entry, 'entryId'),
    });
    // start.lua reads the four fields it uses, then returns the rest in START_REPLY_FIELDS' order.
    expect(s.START_FIELDS).toEqual(START.read);
    expect(START.read.slice((s.START_KEPT_FROM as number) - 1)).toEqual(START_REPLY_FIELDS);
    expect(
      START.read.slice(0, 4).map((f) => s[`START_FIELD_${f.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`]),
    ).toEqual([1, 2, 3, 4]);
    expect([...START_REPLY_FIELDS, 'attempt'].sort()).toEqual([...KEPT_BY_START].sort());
    expect(START.started.slice(2)).toEqual(START_REPLY_FIELDS);

    const w = taskWritesConstants();
    expect(w).toMatchObject({
      WRITE_WIDTH: TASK_WRITES.record.length,
      WRITE_TASK_ID: 1,
      WRITE_PROGRESS: 4,
      WRITE_OUTCOME: 5,
      FINISH_KEYS: 7,
      FINISH_HEADER: 0,
      HEARTBEAT_KEYS: 2,
      HEARTBEAT_HEADER: 1,
      HEARTBEAT_ARG_TTL_MS: 1,
    });

    const e = enqueueConstants();
    expect(e).toMatchObject({
      ENQUEUE_KEYS: 4,
      ENQUEUE_HEADER: 3,
      ENQUEUE_QUEUE_KEYS: 2,
      ENQUEUE_TASK_WIDTH: ENQUEUE.task.length,
      ENQUEUE_TASK_OPTION_COUNT: ENQUEUE.task.length,
    });
    expect(
      ENQUEUE.options.map((o) => e[`ENQUEUE_OPTION_${o.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`]),
    ).toEqual(ENQUEUE.options);
  });
});

describe('constants Lua and TypeScript share', () => {
  it('the highest priority level is the same in includes/codes.lua and src/redis/keys.ts', async () => {
    const { MAX_PRIORITY } = await import('../src/redis/keys.js');
    const { loadInclude } = await import('../src/redis/scripts.js');
    expect(loadInclude('codes')).toContain(`local MAX_PRIORITY = ${MAX_PRIORITY}\n`);
  });
});
