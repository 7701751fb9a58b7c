import type { Connection } from './connection.js';
import { ENDED_STATUSES, type EndedStatus, type Keys } from './keys.js';
import { prefixPattern, scanKeys } from './scan.js';
import { endedMember } from '../projections/ended-index.js';

/**
 * Format 1 -> 2: format 2 kept each ended task in its status's ended set, which format 1 did not write.
 * Those sets are gone since format 6 (migrateFrom4 builds the ended index from the task hashes, and always
 * runs after this), so only the version is recorded.
 */
export async function migrateFrom1(redis: Connection, keys: Keys): Promise<void> {
  await redis.hset(keys.meta, 'format', '2');
}

/**
 * Format 2 -> 3: format 3 keeps a task's result and error apart from its progress (`result`, `error`) and
 * clears `lease` on ends no holder made. Older hashes hold none of these and fold from their logs as they
 * are, so nothing but the version changes: a format-2 reader would fold format-3 events wrongly.
 */
export async function migrateFrom2(redis: Connection, keys: Keys): Promise<void> {
  await redis.hset(keys.meta, 'format', '3');
}

/**
 * Format 3 -> 4: format 4 keeps each queue's running count (`active:<queue>` in `{ns}:controls`), which the
 * concurrency caps read and every start and exit from running keeps. Counts the tasks running now by queue,
 * then records format 4. Idempotent when nothing moves; a task that starts or ends while it counts (a
 * format-4 instance already at work) can leave a count off by that many, which `verify({ repair: true })` or
 * `rebuild()` sets right.
 */
export async function migrateFrom3(redis: Connection, keys: Keys): Promise<void> {
  const ids = await redis.zrange(keys.running, 0, -1);
  const counts = new Map<string, number>();
  for (let i = 0; i < ids.length; i += 1000) {
    const p = redis.pipeline();
    for (const id of ids.slice(i, i + 1000)) p.hmget(keys.task(id), 'status', 'queue');
    for (const [err, value] of (await p.exec()) ?? []) {
      const [status, queue] = (err ? [] : value) as (string | null)[];
      if (status === 'running' && queue) counts.set(queue, (counts.get(queue) ?? 0) + 1);
    }
  }
  const fields = [...counts].flatMap(([queue, n]) => [`active:${queue}`, String(n)]);
  if (fields.length) await redis.hset(keys.controls, ...fields);
  await redis.hset(keys.meta, 'format', '4');
}

/**
 * Format 4 -> 6 (and 5 -> 7, partition 0 of a namespace of several partitions): formats 6 and 7 keep every
 * ended task in the ended index (`{ns}:ended-by-queue`, by status, queue and end time), which the task
 * lists page and retention reads, instead of the ended sets of one status each. SCANs the task hashes and
 * puts each ended one in the index, from its status, queue and finishedAt, and records the format. The ended
 * sets go first (UNLINK: freed off Redis' main thread): the hashes are what it reads, and a Redis near
 * full then has their room for the index. Idempotent: instances that open the namespace at once all run it, to the same
 * result. A task deleted or retried while it runs (a format-6 instance already at work) can leave a member
 * behind: lists skip it, and `verify({ repair: true })` removes it.
 */
export async function migrateFrom4(redis: Connection, keys: Keys, partitioned: boolean): Promise<void> {
  const prefix = keys.taskPrefix;
  await redis.unlink(...ENDED_STATUSES.map((status) => keys.endedSet(status)));
  for await (const batch of scanKeys(redis, prefixPattern(prefix))) {
    const p = redis.pipeline();
    for (const key of batch) p.hmget(key, 'status', 'queue', 'finishedAt');
    const states = (await p.exec()) ?? [];
    const members = batch.flatMap((key, i) => {
      const [status, queue, finishedAt] = (states[i]?.[1] ?? []) as (string | null)[];
      return ENDED_STATUSES.includes(status as EndedStatus) && queue != null && finishedAt
        ? [0, endedMember(status as EndedStatus, queue, finishedAt, key.slice(prefix.length))]
        : [];
    });
    if (members.length) await redis.zadd(keys.endedIndex, ...members);
  }
  await redis.hset(keys.meta, 'format', partitioned ? '7' : '6');
}
