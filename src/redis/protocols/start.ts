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
 * `entryKeys` per claimed entry and per arrived entry, then the ready streams to claim the next entries
 * from. ARGV: `header`, then TASK_WRITES.record per finish, then `entry` per claimed entry and per arrived
 * entry. The reply is `reply`: `starts` one JSON text, a list with per claimed then arrived entry a
 * `started` record or 0 (not started); `claims` and `extra` flat lists of `claim` records (`index` counts
 * from 1 among the streams claimed from, or among the arrived entries); `finishes` a status code per
 * finish. The Lua reads the positions, and the fields to read of each task (`read`), from
 * includes/start-protocol.lua, generated from this object.
 */
export const START = {
  keys: ['events', 'running', 'counts', 'finishedSet', 'throughput'],
  header: ['group', 'ttlMs', 'claimed', 'consumer', 'prefetch', 'finishes', 'arrived'],
  entryKeys: ['task', 'ready'],
  entry: ['taskId', 'entryId'],
  /** The task hash fields start.lua reads (HMGET): those it uses itself, then those it returns. */
  read: [...OWN_FIELDS, ...START_REPLY_FIELDS],
  reply: ['starts', 'claims', 'finishes', 'extra'],
  started: ['eventId', 'attempt', ...START_REPLY_FIELDS],
  claim: ['index', 'entryId', 'taskId'],
} as const;

/** An entry to start: claimed by the caller, or seen arriving (start.lua claims it itself). */
export interface StartEntry {
  queue: string;
  entryId: string;
  taskId: string;
}

/** An entry start.lua claimed for the caller to start next, as dequeue/claim.ts' Claimed. */
export interface ClaimedEntry extends StartEntry {
  at?: number;
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
  claimFrom: readonly string[];
  prefetch: number;
}

type StartKeys = Pick<Keys, 'events' | 'running' | 'counts' | 'finishedSet' | 'throughput' | 'task' | 'ready'>;

/** start.lua's KEYS and ARGV. */
export function encodeStart(k: StartKeys, input: StartInput): ScriptArgs {
  const { finishes, claimed, arrived, claimFrom } = input;
  const keys = fixedKeys(k, START.keys);
  const args: (string | number)[] = [];
  pushHeader(args, START.header, {
    group: input.group,
    ttlMs: input.ttlMs,
    claimed: claimed.length,
    consumer: input.consumer,
    prefetch: input.prefetch,
    finishes: finishes.length,
    arrived: arrived.length,
  });
  for (const w of finishes) {
    keys.push(k.task(w.taskId));
    pushWriteArgs(args, w);
  }
  // In START.entryKeys and START.entry order.
  for (const c of claimed) {
    keys.push(k.task(c.taskId), k.ready(c.queue));
    args.push(c.taskId, c.entryId);
  }
  for (const c of arrived) {
    keys.push(k.task(c.taskId), k.ready(c.queue));
    args.push(c.taskId, c.entryId);
  }
  for (const q of claimFrom) keys.push(k.ready(q));
  return { keys, args };
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
    const out: { taskKey: string; readyKey: string; taskId: string; entryId: string }[] = [];
    for (let i = 0; i < count; i++) {
      out.push({
        taskKey: keys[k + ENTRY_KEY.task]!,
        readyKey: keys[k + ENTRY_KEY.ready]!,
        taskId: String(args[a + ENTRY.taskId]),
        entryId: String(args[a + ENTRY.entryId]),
      });
      k += START.entryKeys.length;
      a += START.entry.length;
    }
    return out;
  };
  const claimed = entries(Number(header.claimed));
  const arrived = entries(Number(header.arrived));
  return {
    keys: readNamed(keys, START.keys),
    group: header.group,
    ttlMs: Number(header.ttlMs),
    consumer: header.consumer,
    prefetch: Number(header.prefetch),
    finishes,
    claimed,
    arrived,
    claimFrom: keys.slice(k),
    /** ARGV values past the last entry: none. */
    rest: args.slice(a),
  };
}

/** A `started` record (START.started) of the reply, or 0 when the entry started no task. */
export type StartedRecord = (string | false)[] | 0;

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

/** Appends the entries of flat `claim` records to `out`, each stream's queue named by `queueOf(index)`. */
export function decodeClaims(
  flat: readonly (string | number)[],
  queueOf: (index: number) => string,
  at: number,
  out: ClaimedEntry[],
): void {
  const width = START.claim.length;
  for (let i = 0; i + width - 1 < flat.length; i += width) {
    out.push({
      queue: queueOf(Number(flat[i + CLAIM.index])),
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
    START_FIELDS: START.read,
    ...positions('START_FIELD', OWN_FIELDS),
    START_KEPT_FROM: OWN_FIELDS.length + 1,
  };
}
