import type { Keys } from '../keys.js';
import type { ValidRequest } from '../../validation.js';
import { fixed, fixedKeys, positions, pushHeader, readNamed, record, upperSnake, type LuaConstant } from './lua.js';
import type { ScriptArgs } from './task-writes.js';

/**
 * The protocol of enqueue.lua (commands/write-batches.ts calls it). KEYS: `keys`, then `queueKeys` per
 * distinct queue of the call (in the order of the queue names), then per task its hash and one reference
 * set per reference. ARGV: `header`, then the queue names, then per task `task` (`queue` is the index of
 * its queue name, from 1) followed by its options, each a name of `options` and a value: references (JSON;
 * '{}' when absent), delay (ms from the Redis clock), runAt (absolute ms), backoff (JSON), timeoutMs. A task
 * without options (most) thus costs `task.length` values, and a queue's keys and name come once per call.
 * The reply has 1 (created) or 0 (the id existed) per task. The Lua reads the positions and option names
 * from includes/enqueue-protocol.lua, generated from this object.
 */
export const ENQUEUE = {
  keys: ['events', 'queues', 'wake', 'levels'],
  queueKeys: ['ready', 'delayed'],
  header: ['group', 'taskCount', 'queueCount'],
  task: ['id', 'queue', 'type', 'spec', 'maxAttempts', 'referenceCount', 'optionCount'],
  options: ['references', 'delay', 'runAt', 'backoff', 'timeoutMs', 'priority', 'floor'],
} as const;

const [REFERENCES, DELAY, RUN_AT, BACKOFF, TIMEOUT_MS, PRIORITY, FLOOR] = ENQUEUE.options;

/** A task to enqueue, as write-batches.ts' EnqueueItem. */
export interface EnqueueTask {
  id: string;
  request: Pick<
    ValidRequest,
    | 'queue'
    | 'type'
    | 'specJson'
    | 'references'
    | 'referencesJson'
    | 'delayMs'
    | 'runAt'
    | 'backoffJson'
    | 'timeoutMs'
    | 'priority'
  >;
  maxAttempts: number;
  /** A time (ms) its `enqueued` event must sort after: the newest event its caller saw (§20). */
  floor?: number;
}

type EnqueueKeys = Pick<Keys, 'events' | 'queues' | 'wake' | 'levels' | 'ready' | 'delayed' | 'task' | 'reference'>;

/** enqueue.lua's KEYS and ARGV. */
export function encodeEnqueue(k: EnqueueKeys, group: string, tasks: readonly EnqueueTask[]): ScriptArgs {
  // The queues first: their keys and names go before every task's. A queue's priority levels are queues
  // of their own here (each its ready stream), with the same name.
  const queues = new Map<string, number>();
  const names: string[] = [];
  const keys = fixedKeys(k, ENQUEUE.keys);
  // NUL joins them: no queue name holds a control character, so no queue is taken for another's level.
  const unitOf = (r: EnqueueTask['request']) => (r.priority ? `${r.priority}\u0000${r.queue}` : r.queue);
  for (const { request: r } of tasks) {
    const unit = unitOf(r);
    if (queues.get(unit) === undefined) {
      queues.set(unit, queues.size + 1);
      names.push(r.queue);
      keys.push(k.ready(r.queue, r.priority ?? 0), k.delayed(r.queue)); // ENQUEUE.queueKeys
    }
  }
  const args: (string | number)[] = [];
  pushHeader(args, ENQUEUE.header, { group, taskCount: tasks.length, queueCount: queues.size });
  for (const name of names) args.push(name);
  for (const { id, request: r, maxAttempts, floor } of tasks) {
    const refs = Object.entries(r.references);
    keys.push(k.task(id));
    for (const [name, value] of refs) keys.push(k.reference(name, value));
    // Counted before they are pushed, as the count comes first.
    const options =
      (refs.length ? 1 : 0) +
      (r.delayMs !== undefined ? 1 : 0) +
      (r.runAt !== undefined ? 1 : 0) +
      (r.backoffJson !== undefined ? 1 : 0) +
      (r.timeoutMs !== undefined ? 1 : 0) +
      (r.priority ? 1 : 0) +
      (floor !== undefined ? 1 : 0);
    args.push(id, queues.get(unitOf(r))!, r.type, r.specJson, maxAttempts, refs.length, options); // ENQUEUE.task
    if (refs.length) args.push(REFERENCES, r.referencesJson);
    if (r.delayMs !== undefined) args.push(DELAY, r.delayMs);
    if (r.runAt !== undefined) args.push(RUN_AT, r.runAt);
    if (r.backoffJson !== undefined) args.push(BACKOFF, r.backoffJson);
    if (r.timeoutMs !== undefined) args.push(TIMEOUT_MS, r.timeoutMs);
    if (r.priority) args.push(PRIORITY, r.priority);
    if (floor !== undefined) args.push(FLOOR, floor);
  }
  return { keys, args };
}

/** The reply: 1 (created) or 0 (the id existed) per task. */
export const decodeEnqueueReply = (reply: unknown): number[] => (reply as (number | string)[]).map(Number);

const TASK = Object.fromEntries(ENQUEUE.task.map((f, i) => [f, i])) as Record<(typeof ENQUEUE.task)[number], number>;
const QUEUE_KEY = Object.fromEntries(ENQUEUE.queueKeys.map((f, i) => [f, i])) as Record<
  (typeof ENQUEUE.queueKeys)[number],
  number
>;

/** encodeEnqueue's arguments read back, the keys as enqueue.lua sees them (round-trip tests). */
export function decodeEnqueueArgs({ keys, args }: ScriptArgs) {
  const header = readNamed(args, ENQUEUE.header);
  const nq = Number(header.queueCount);
  const names = args.slice(ENQUEUE.header.length, ENQUEUE.header.length + nq).map(String);
  const queues = names.map((name, i) => {
    const at = ENQUEUE.keys.length + i * ENQUEUE.queueKeys.length;
    return { name, readyKey: keys[at + QUEUE_KEY.ready]!, delayedKey: keys[at + QUEUE_KEY.delayed]! };
  });
  let k = ENQUEUE.keys.length + nq * ENQUEUE.queueKeys.length;
  let a = ENQUEUE.header.length + nq;
  const tasks = [];
  for (let i = 0; i < Number(header.taskCount); i++) {
    const nrefs = Number(args[a + TASK.referenceCount]);
    const nopts = Number(args[a + TASK.optionCount]);
    const options: Partial<Record<(typeof ENQUEUE.options)[number], string | number>> = {};
    for (let o = 0; o < nopts; o++)
      options[args[a + ENQUEUE.task.length + 2 * o] as (typeof ENQUEUE.options)[number]] =
        args[a + ENQUEUE.task.length + 2 * o + 1]!;
    tasks.push({
      id: String(args[a + TASK.id]),
      queue: names[Number(args[a + TASK.queue]) - 1],
      type: String(args[a + TASK.type]),
      specJson: String(args[a + TASK.spec]),
      maxAttempts: Number(args[a + TASK.maxAttempts]),
      options,
      taskKey: keys[k]!,
      referenceKeys: keys.slice(k + 1, k + 1 + nrefs),
    });
    k += 1 + nrefs;
    a += ENQUEUE.task.length + 2 * nopts;
  }
  return {
    keys: readNamed(keys, ENQUEUE.keys),
    group: header.group,
    queues,
    tasks,
    restKeys: keys.slice(k),
    rest: args.slice(a),
  };
}

/**
 * The constants of includes/enqueue-protocol.lua: ENQUEUE_KEYS, ENQUEUE_KEY_<name>, ENQUEUE_HEADER,
 * ENQUEUE_ARG_<name>; ENQUEUE_QUEUE_KEYS, ENQUEUE_QUEUE_KEY_<name>; ENQUEUE_TASK_WIDTH, ENQUEUE_TASK_<name>;
 * ENQUEUE_OPTION_<name> (the option's name as sent).
 */
export function enqueueConstants(): Record<string, LuaConstant> {
  return {
    ...fixed('ENQUEUE', ENQUEUE),
    ENQUEUE_QUEUE_KEYS: ENQUEUE.queueKeys.length,
    ...positions('ENQUEUE_QUEUE_KEY', ENQUEUE.queueKeys),
    ...record('ENQUEUE_TASK', 'WIDTH', ENQUEUE.task),
    ...Object.fromEntries(ENQUEUE.options.map((name) => [`ENQUEUE_OPTION_${upperSnake(name)}`, name])),
  };
}
