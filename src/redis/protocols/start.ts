import type { Keys } from '../keys.js';
import { KEPT_BY_START } from '../../events/fold-rules.js';
import { foldInto, type ProjectionHash } from '../../events/fold.js';
import { fixed, fixedKeys, positions, pushHeader, readNamed, record, type LuaConstant } from './lua.js';
import { decodeCodes, pushWriteArgs, readWrites, TASK_WRITES, type ScriptArgs, type TaskWrite } from './task-writes.js';

/**
 * What start.lua returns of each started task: KEPT_BY_START but for `attempt`, which start.lua reads for
 * itself and the started event always sets (a value read and returned twice is converted four times).
 */
export const START_REPLY_FIELDS: readonly string[] = KEPT_BY_START.filter((field) => field !== 'attempt');

/** The hash fields start.lua reads of each task for itself, before START_REPLY_FIELDS. */
const OWN_FIELDS = ['status', 'readyId', 'attempt', 'events'] as const;

/**
 * The protocol of start.lua (dequeue/start.ts calls it). KEYS: `keys`, then one task hash per finish, then
 * `entryKeys` per claimed entry and per arrived entry, then per queue `queueKeys` and that queue's ready
 * streams (highest level first). ARGV: `header`, then TASK_WRITES.record per finish, then `entry` per claimed
 * entry and per arrived entry (`queue` is the place of its queue among the queues, from 1), then `queue` per
 * queue. The queues are those of the entries and those to claim the next entries from (`claimFrom` = '1'),
 * in visiting order. The reply is `reply`: `starts` one JSON text, a list with per claimed then arrived entry
 * a `started` record, 0 (not started: its task moved on, or another reader took the arrived entry) or 1 (held
 * back by its queue's controls: still claimed, for the caller to give back); `claims` and `extra` flat lists
 * of `claim` records (`index` counts from 1 among all the queues' streams, or among the arrived entries);
 * `finishes` a status code per finish. The Lua reads the positions, and the fields to read of each task
 * (`read`), from includes/start-protocol.lua, generated from this object.
 */
export const START = {
  keys: ['events', 'running', 'counts', 'endedIndex', 'throughput', 'controls', 'wake'],
  header: ['group', 'ttlMs', 'claimed', 'consumer', 'prefetch', 'finishes', 'arrived', 'queues'],
  entryKeys: ['task', 'ready'],
  entry: ['taskId', 'entryId', 'queue'],
  queueKeys: ['rate'],
  queue: ['name', 'streams', 'claimFrom'],
  /** The task hash fields start.lua reads (HMGET): those it uses itself, then those it returns. */
  read: [...OWN_FIELDS, ...START_REPLY_FIELDS],
  reply: ['starts', 'claims', 'finishes', 'extra'],
  started: ['eventId', 'attempt', ...START_REPLY_FIELDS],
  claim: ['index', 'entryId', 'taskId'],
} as const;

/** An entry to start: claimed by the caller, or seen arriving (start.lua claims it itself). */
export interface StartEntry {
  queue: string;
  priority: number;
  entryId: string;
  taskId: string;
}

/** An entry start.lua claimed for the caller to start next, as dequeue/claim.ts' Claimed. */
export interface ClaimedEntry extends StartEntry {
  at?: number;
}

/** A queue's ready streams, as their levels (highest first, then 0). */
export interface QueueLevels {
  queue: string;
  levels: readonly number[];
}

export interface StartInput {
  group: string;
  consumer: string;
  /** Heartbeat TTL (ms): each started task's deadline is its start plus this. */
  ttlMs: number;
  /** Finishes taken along, answered in the reply's `finishes`. */
  finishes: readonly TaskWrite[];
  claimed: readonly StartEntry[];
  arrived: readonly StartEntry[];
  /** Queues to claim the next entries from, in visiting order, and how many entries to claim. */
  claimFrom: readonly QueueLevels[];
  /** The levels of the entries' queues that are not in claimFrom (their controls are checked too). */
  levelsOf: (queue: string) => readonly number[];
  prefetch: number;
}

type StartKeys = Pick<
  Keys,
  'events' | 'running' | 'counts' | 'endedIndex' | 'throughput' | 'controls' | 'wake' | 'task' | 'ready' | 'rate'
>;

/**
 * start.lua's KEYS and ARGV, and the queue and level of each stream of the queue section (in its order: what
 * a `claim` record's index counts).
 */
export function encodeStart(
  k: StartKeys,
  input: StartInput,
): ScriptArgs & { sources: { queue: string; priority: number }[] } {
  const { finishes, claimed, arrived, claimFrom } = input;
  const queues: { queue: string; levels: readonly number[]; claimFrom: boolean }[] = claimFrom.map((q) => ({
    ...q,
    claimFrom: true,
  }));
  const place = new Map<string, number>();
  queues.forEach((q, i) => place.set(q.queue, i + 1));
  const queueOf = (queue: string): number => {
    let at = place.get(queue);
    if (at === undefined) {
      queues.push({ queue, levels: input.levelsOf(queue), claimFrom: false });
      at = queues.length;
      place.set(queue, at);
    }
    return at;
  };
  const keys = fixedKeys(k, START.keys);
  const args: (string | number)[] = [];
  const headerAt = args.length;
  pushHeader(args, START.header, {
    group: input.group,
    ttlMs: input.ttlMs,
    claimed: claimed.length,
    consumer: input.consumer,
    prefetch: input.prefetch,
    finishes: finishes.length,
    arrived: arrived.length,
    queues: 0,
  });
  for (const w of finishes) {
    keys.push(k.task(w.taskId));
    pushWriteArgs(args, w);
  }
  // In START.entryKeys and START.entry order.
  for (const c of claimed) {
    keys.push(k.task(c.taskId), k.ready(c.queue, c.priority));
    args.push(c.taskId, c.entryId, queueOf(c.queue));
  }
  for (const c of arrived) {
    keys.push(k.task(c.taskId), k.ready(c.queue, c.priority));
    args.push(c.taskId, c.entryId, queueOf(c.queue));
  }
  const sources: { queue: string; priority: number }[] = [];
  // In START.queueKeys and START.queue order.
  for (const q of queues) {
    keys.push(k.rate(q.queue));
    for (const p of q.levels) {
      keys.push(k.ready(q.queue, p));
      sources.push({ queue: q.queue, priority: p });
    }
    args.push(q.queue, q.levels.length, q.claimFrom ? '1' : '0');
  }
  args[headerAt + START.header.indexOf('queues')] = queues.length;
  return { keys, args, sources };
}

const indexOf = <N extends string>(names: readonly N[]) =>
  Object.fromEntries(names.map((n, i) => [n, i])) as Record<N, number>;
const ENTRY_KEY = indexOf(START.entryKeys);
const ENTRY = indexOf(START.entry);
const REPLY = indexOf(START.reply);
const STARTED = { eventId: START.started.indexOf('eventId'), attempt: START.started.indexOf('attempt') };
/** Where the kept values begin in a `started` record: after the event id and the attempt. */
const KEPT_AT = START.started.length - START_REPLY_FIELDS.length;
const CLAIM = indexOf(START.claim);
const QUEUE = indexOf(START.queue);
const QUEUE_KEY = indexOf(START.queueKeys);

/** encodeStart's arguments read back, the keys as start.lua sees them (round-trip tests). */
export function decodeStartArgs({ keys, args }: ScriptArgs) {
  const header = readNamed(args, START.header);
  let k = START.keys.length;
  let a = START.header.length;
  const nf = Number(header.finishes);
  const finishes = readWrites(keys, args, k, a, nf);
  k += nf;
  a += nf * TASK_WRITES.record.length;
  const entries = (count: number) => {
    const out: { taskKey: string; readyKey: string; taskId: string; entryId: string; queue: number }[] = [];
    for (let i = 0; i < count; i++) {
      out.push({
        taskKey: keys[k + ENTRY_KEY.task]!,
        readyKey: keys[k + ENTRY_KEY.ready]!,
        taskId: String(args[a + ENTRY.taskId]),
        entryId: String(args[a + ENTRY.entryId]),
        queue: Number(args[a + ENTRY.queue]),
      });
      k += START.entryKeys.length;
      a += START.entry.length;
    }
    return out;
  };
  const claimed = entries(Number(header.claimed));
  const arrived = entries(Number(header.arrived));
  const queues: { name: string; rateKey: string; streams: string[]; claimFrom: boolean }[] = [];
  for (let i = 0; i < Number(header.queues); i++) {
    const n = Number(args[a + QUEUE.streams]);
    queues.push({
      name: String(args[a + QUEUE.name]),
      rateKey: keys[k + QUEUE_KEY.rate]!,
      streams: keys.slice(k + START.queueKeys.length, k + START.queueKeys.length + n),
      claimFrom: args[a + QUEUE.claimFrom] === '1',
    });
    k += START.queueKeys.length + n;
    a += START.queue.length;
  }
  return {
    keys: readNamed(keys, START.keys),
    group: header.group,
    ttlMs: Number(header.ttlMs),
    consumer: header.consumer,
    prefetch: Number(header.prefetch),
    finishes,
    claimed,
    arrived,
    queues,
    /** KEYS and ARGV values past the last queue: none. */
    restKeys: keys.slice(k),
    rest: args.slice(a),
  };
}

/** A `started` record (START.started) of the reply, 0 when the entry started no task, 1 when its queue's controls held it back. */
export type StartedRecord = (string | false)[] | 0 | 1;

/** The status code of each finish taken along, from start.lua's reply. */
export const decodeStartFinishes = (reply: unknown): number[] => decodeCodes((reply as unknown[])[REPLY.finishes]);

/** start.lua's reply: the started records, and the flat `claim` records of `claims` and `extra`. */
export function decodeStartReply(reply: unknown): {
  starts: StartedRecord[];
  claims: (string | number)[];
  extra: (string | number)[];
} {
  const r = reply as unknown[];
  return {
    starts: JSON.parse(r[REPLY.starts] as string) as StartedRecord[],
    claims: r[REPLY.claims] as (string | number)[],
    extra: r[REPLY.extra] as (string | number)[],
  };
}

/**
 * A started task's hash as Redis now holds it (but for `events`, which a Task does not carry): the kept
 * fields of its record, into which the started event folds here as it did in Redis.
 */
export function startedHash(started: (string | false)[], taskId: string): ProjectionHash {
  const hash: ProjectionHash = {};
  for (let j = 0; j < START_REPLY_FIELDS.length; j++) {
    const value = started[j + KEPT_AT];
    if (value !== false && value !== undefined) hash[START_REPLY_FIELDS[j]!] = value;
  }
  foldInto(hash, {
    id: started[STARTED.eventId] as string,
    type: 'started',
    taskId,
    fields: { attempt: started[STARTED.attempt] as string },
  });
  return hash;
}

/** Appends the entries of flat `claim` records to `out`, each stream's queue and level given by `sourceOf(index)`. */
export function decodeClaims(
  flat: readonly (string | number)[],
  sourceOf: (index: number) => { queue: string; priority: number },
  at: number,
  out: ClaimedEntry[],
): void {
  const width = START.claim.length;
  for (let i = 0; i + width - 1 < flat.length; i += width) {
    out.push({
      ...sourceOf(Number(flat[i + CLAIM.index])),
      entryId: String(flat[i + CLAIM.entryId]),
      taskId: String(flat[i + CLAIM.taskId]),
      at,
    });
  }
}

/**
 * The constants of includes/start-protocol.lua: START_KEYS, START_KEY_<name>, START_HEADER, START_ARG_<name>;
 * START_ENTRY_KEYS, START_ENTRY_KEY_<name>, START_ENTRY_WIDTH, START_ENTRY_<name>; START_FIELDS (the fields
 * read), START_FIELD_<name> (the four used by start.lua itself) and START_KEPT_FROM (the first returned).
 */
export function startConstants(): Record<string, LuaConstant> {
  return {
    ...fixed('START', START),
    START_ENTRY_KEYS: START.entryKeys.length,
    ...positions('START_ENTRY_KEY', START.entryKeys),
    ...record('START_ENTRY', 'WIDTH', START.entry),
    START_QUEUE_KEYS: START.queueKeys.length,
    ...positions('START_QUEUE_KEY', START.queueKeys),
    ...record('START_QUEUE', 'WIDTH', START.queue),
    START_FIELDS: START.read,
    ...positions('START_FIELD', OWN_FIELDS),
    START_KEPT_FROM: OWN_FIELDS.length + 1,
  };
}
