import { Batcher } from '../redis/batcher.js';
import { GROUP, type Keys } from '../redis/keys.js';
import type { Scripts } from '../redis/scripts.js';
import type { ValidRequest } from '../validation.js';
import { decodeEnqueueReply, encodeEnqueue } from '../redis/protocols/enqueue.js';
import { decodeCodes, encodeFinish, encodeHeartbeat, type TaskWrite } from '../redis/protocols/task-writes.js';

export type { TaskWrite } from '../redis/protocols/task-writes.js';

export interface EnqueueItem {
  id: string;
  request: ValidRequest;
  maxAttempts: number;
  /** A time (ms) the `enqueued` event must sort after (§20, causality). */
  floor?: number;
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

export function createWriteBatches(scripts: Scripts, k: Keys, heartbeatTtlMs: number): WriteBatches {
  return {
    // One call per batch: its layout is protocols/enqueue.ts'.
    enqueue: new Batcher<EnqueueItem, number>(async (items) => {
      const { keys, args } = encodeEnqueue(k, GROUP, items);
      return decodeEnqueueReply(await scripts.enqueue(keys.length, ...keys, ...args));
    }, ENQUEUE_MAX),
    // Waits a turn longer: a worker's next start usually takes its finishes along (start.lua).
    finish: new Batcher<TaskWrite, number>(
      async (items) => {
        const { keys, args } = encodeFinish(k, 'finished', items);
        return decodeCodes(await scripts.finish(keys.length, ...keys, ...args));
      },
      WRITE_MAX,
      2,
    ),
    fail: new Batcher<TaskWrite, number>(async (items) => {
      const { keys, args } = encodeFinish(k, 'failed', items);
      return decodeCodes(await scripts.fail(keys.length, ...keys, ...args));
    }, WRITE_MAX),
    heartbeat: new Batcher<TaskWrite, number>(async (items) => {
      const { keys, args } = encodeHeartbeat(k, heartbeatTtlMs, items);
      return decodeCodes(await scripts.heartbeat(keys.length, ...keys, ...args));
    }, WRITE_MAX),
  };
}
