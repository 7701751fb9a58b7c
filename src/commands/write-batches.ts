import { Batcher } from '../redis/batcher.js';
import { GROUP, type Keys } from '../redis/keys.js';
import type { Scripts } from '../redis/scripts.js';
import type { ValidRequest } from '../validation.js';

/** A finish, fail or heartbeat of one task: its id, the lease sent, and the progress JSON if any. */
export interface TaskWrite {
  taskId: string;
  lease: string;
  progress: string | undefined;
}

export interface EnqueueItem {
  id: string;
  request: ValidRequest;
  maxAttempts: number;
}

/** Calls made at about the same time, sent as one script call per kind. */
export interface WriteBatches {
  /** 1 when the task was created, 0 when its id existed. */
  enqueue: Batcher<EnqueueItem, number>;
  /** A Lua status code per task. */
  finish: Batcher<TaskWrite, number>;
  fail: Batcher<TaskWrite, number>;
  heartbeat: Batcher<TaskWrite, number>;
}

/** Tasks per enqueue script call: bounds how long one call holds Redis. */
const ENQUEUE_MAX = 32;
const WRITE_MAX = 256;

/** Appends the 4 script arguments of a finish, fail or heartbeat (finish.lua, start.lua) to `args`. */
export function pushWriteArgs(args: (string | number)[], w: TaskWrite): void {
  args.push(w.taskId, w.lease, w.progress === undefined ? '0' : '1', w.progress ?? '');
}

/** The script arguments of many writes. */
function writeArgs(items: readonly TaskWrite[]): string[] {
  const args: string[] = [];
  for (const w of items) pushWriteArgs(args, w);
  return args;
}
const codes = async (reply: Promise<unknown>) => ((await reply) as (number | string)[]).map(Number);

export function createWriteBatches(scripts: Scripts, k: Keys, heartbeatTtlMs: number): WriteBatches {
  return {
    // enqueue.lua's layout: each queue's keys and name once, then per task 7 values and its options.
    enqueue: new Batcher<EnqueueItem, number>(async (items) => {
      const queues = new Map<string, number>();
      const keys = [k.events, k.queues, k.wake];
      const taskKeys: string[] = [];
      const taskArgs: (string | number)[] = [];
      for (const { id, request: r, maxAttempts } of items) {
        let q = queues.get(r.queue);
        if (q === undefined) {
          q = queues.size + 1;
          queues.set(r.queue, q);
          keys.push(k.ready(r.queue), k.delayed(r.queue));
        }
        const refs = Object.entries(r.references);
        taskKeys.push(k.task(id));
        for (const [name, value] of refs) taskKeys.push(k.reference(name, value));
        const options = taskArgs.length + 6;
        taskArgs.push(id, q, r.type, r.specJson, maxAttempts, refs.length, 0);
        if (refs.length) taskArgs.push('references', r.referencesJson);
        if (r.delayMs !== undefined) taskArgs.push('delay', r.delayMs);
        if (r.runAt !== undefined) taskArgs.push('runAt', r.runAt);
        if (r.backoffJson !== undefined) taskArgs.push('backoff', r.backoffJson);
        if (r.timeoutMs !== undefined) taskArgs.push('timeoutMs', r.timeoutMs);
        taskArgs[options] = (taskArgs.length - options - 1) / 2;
      }
      keys.push(...taskKeys);
      return codes(scripts.enqueue(keys.length, ...keys, GROUP, items.length, queues.size, ...queues.keys(), ...taskArgs));
    }, ENQUEUE_MAX),
    // Waits a turn longer: a worker's next start usually takes its finishes along (start.lua).
    finish: new Batcher<TaskWrite, number>(
      (items) => {
        const keys = [k.events, k.running, k.counts, ...items.map((w) => k.task(w.taskId))];
        return codes(scripts.finish(keys.length, ...keys, ...writeArgs(items)));
      },
      WRITE_MAX,
      2,
    ),
    fail: new Batcher<TaskWrite, number>((items) => {
      const keys = [k.events, k.running, k.counts, ...items.map((w) => k.task(w.taskId))];
      return codes(scripts.fail(keys.length, ...keys, ...writeArgs(items)));
    }, WRITE_MAX),
    heartbeat: new Batcher<TaskWrite, number>((items) => {
      const keys = [k.events, k.running, ...items.map((w) => k.task(w.taskId))];
      return codes(scripts.heartbeat(keys.length, ...keys, heartbeatTtlMs, ...writeArgs(items)));
    }, WRITE_MAX),
  };
}
