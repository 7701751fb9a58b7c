import type { ReadContext } from '../context/read-context.js';
import { taskEventToFields } from '../events/codec.js';
import { FORMAT_VERSION } from '../redis/connection.js';
import { prefixPattern, scanKeys } from '../redis/scan.js';
import type { TaskEvent } from '../types.js';
import { logLength } from '../projections/log-reader.js';

const BATCH = 1000;

/** Whether every partition's log is empty: only an empty namespace takes an import. */
export async function logIsEmpty(parts: readonly ReadContext[]): Promise<boolean> {
  return (await Promise.all(parts.map((p) => logLength(p)))).every((n) => n === 0);
}

/**
 * Appends exported events (checked already, see import-check.ts) to the log with their own ids, in batches,
 * each to the log of the partition `partitionOf` names (§20), and returns how many were written. Every reply is checked: the first error is thrown, and nothing after
 * it is sent. The projections are not written here: a rebuild() folds them from the imported log.
 */
export async function appendEvents<E extends Pick<TaskEvent, 'id' | 'type' | 'taskId' | 'scheduleId' | 'data'>>(
  parts: readonly ReadContext[],
  events: AsyncIterable<E>,
  partitionOf: (event: E) => number = () => 0,
): Promise<number> {
  const ctx = parts[0]!;
  await ctx.redis.hsetnx(ctx.keys.meta, 'format', String(FORMAT_VERSION));
  let count = 0;
  let p = ctx.redis.pipeline();
  let queued = 0;
  const flush = async () => {
    for (const [err] of (await p.exec()) ?? []) if (err) throw err;
    count += queued;
    queued = 0;
    p = ctx.redis.pipeline();
  };
  for await (const event of events) {
    p.xadd(parts[partitionOf(event)]!.keys.events, event.id, ...taskEventToFields(event));
    if (++queued === BATCH) await flush();
  }
  await flush();
  return count;
}

/**
 * The namespace's keys as they are now, and a way back to that: `undo()` unlinks every key of the namespace
 * made since (an import that failed part way leaves the namespace as it found it).
 */
export async function keysBefore(ctx: ReadContext): Promise<{ undo(): Promise<void> }> {
  const pattern = prefixPattern(`{${ctx.keys.tag}}:`);
  const before = new Set<string>();
  for await (const batch of scanKeys(ctx.redis, pattern)) for (const k of batch) before.add(k);
  const formatBefore = await ctx.redis.hget(ctx.keys.meta, 'format');
  return {
    async undo() {
      const made: string[] = [];
      for await (const batch of scanKeys(ctx.redis, pattern)) made.push(...batch.filter((k) => !before.has(k)));
      // The log was empty before (an import needs that), so whatever it holds now is the import's.
      if (before.has(ctx.keys.events)) made.push(ctx.keys.events);
      for (let i = 0; i < made.length; i += BATCH) await ctx.redis.unlink(...made.slice(i, i + BATCH));
      if (before.has(ctx.keys.meta) && formatBefore === null) await ctx.redis.hdel(ctx.keys.meta, 'format');
    },
  };
}
