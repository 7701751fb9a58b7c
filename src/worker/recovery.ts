import { randomUUID } from 'node:crypto';
import { CONSUMER, GROUP } from '../redis/keys.js';
import { scriptPipeline } from '../redis/pipeline.js';
import { redisNow } from '../redis/time.js';
import type { ReadContext } from '../context/read-context.js';
import type { StreamEntry } from '../events/codec.js';
import { sweepIndexes } from './recovery-sweep.js';

/** Tasks handled per step of a recovery pass. */
const BATCH = 100;

export interface RecoveryReport {
  /** Stalled running tasks put back to waiting. */
  requeued: number;
  /** Stalled running tasks failed because they had used all their attempts. */
  failed: number;
  /** Entries claimed but never started (their reader died), given back to their queue. */
  redelivered: number;
  /** Tasks whose index entries the pass's sweep put back in step with their hash (recovery-sweep.ts). */
  repaired: number;
}

/**
 * One recovery pass. Runs in every instance, but a short lock lets only one instance do a pass at a time;
 * and the scripts re-check everything themselves, so even two overlapping passes never do a thing twice.
 */
export async function recover(ctx: ReadContext, intervalMs: number): Promise<RecoveryReport | null> {
  const token = randomUUID();
  const locked = await ctx.redis.set(ctx.keys.recoveryLock, token, 'PX', Math.max(100, intervalMs), 'NX');
  if (locked !== 'OK') return null;
  const report: RecoveryReport = { requeued: 0, failed: 0, redelivered: 0, repaired: 0 };
  await recoverStalled(ctx, report);
  await recoverUndelivered(ctx, report);
  report.repaired = await sweepIndexes(ctx);
  return report;
}

async function recoverStalled(ctx: ReadContext, report: RecoveryReport): Promise<void> {
  const k = ctx.keys;
  for (;;) {
    const now = await redisNow(ctx.redis);
    const ids = await ctx.redis.zrangebyscore(k.running, '-inf', now, 'LIMIT', 0, BATCH);
    if (ids.length === 0) return;
    const queues = await Promise.all(ids.map((id) => ctx.redis.hmget(k.task(id), 'queue', 'attempt', 'maxAttempts')));
    const pipeline = scriptPipeline(ctx.redis);
    const acted: ('requeue' | 'fail' | 'tidy')[] = [];
    ids.forEach((id, i) => {
      const [queue, attempt, maxAttempts] = queues[i]!;
      if (queue == null) {
        // The hash is gone (deleted): only the index entry is left.
        pipeline.commands.zrem(k.running, id);
        acted.push('tidy');
        return;
      }
      const keys = [k.events, k.running, k.task(id), k.ready(queue), k.counts, k.failedSet];
      pipeline.script('recoverStalled', ...keys, id, GROUP, queue);
      acted.push(Number(attempt) >= Number(maxAttempts) ? 'fail' : 'requeue');
    });
    const results = await pipeline.exec();
    let stuck = 0;
    results.forEach(([err, code], i) => {
      // recover-stalled answers 0 only for a task whose deadline moved after our read: it is alive, not stuck.
      if (err) stuck++;
      else if (Number(code) === 1 && acted[i] === 'fail') report.failed++;
      else if (Number(code) === 1 && acted[i] === 'requeue') report.requeued++;
    });
    // Every other answer removed the id from the running set, so the next read makes progress.
    if (stuck === ids.length || ids.length < BATCH) return;
  }
}

async function recoverUndelivered(ctx: ReadContext, report: RecoveryReport): Promise<void> {
  const k = ctx.keys;
  const queues = await ctx.redis.smembers(k.queues);
  for (const queue of queues) {
    let cursor = '0-0';
    do {
      let reply: [string, (StreamEntry | null)[]];
      try {
        reply = (await ctx.redis.xautoclaim(
          k.ready(queue),
          GROUP,
          CONSUMER,
          ctx.settings.deliveryTimeoutMs,
          cursor,
          'COUNT',
          BATCH,
        )) as typeof reply;
      } catch (err) {
        // A queue whose tasks were all delayed so far has no ready stream yet (NOGROUP): nothing to recover.
        // Any other failure (a group destroyed by hand) is reported, and must not stop the other queues.
        if (!(await isUnmadeStream(ctx, queue, err))) ctx.life.report(err);
        break;
      }
      cursor = reply[0];
      const entries = reply[1].filter((e): e is StreamEntry => e !== null && Array.isArray(e[1]));
      if (entries.length === 0) continue;
      const pipeline = scriptPipeline(ctx.redis);
      for (const [entryId, fields] of entries) {
        const taskId = fields[1]!;
        pipeline.script('redeliver', k.events, k.task(taskId), k.ready(queue), taskId, entryId, GROUP, 'undelivered');
      }
      for (const [err, moved] of await pipeline.exec()) if (!err && Number(moved) === 1) report.redelivered++;
    } while (cursor !== '0-0');
  }
}

/** Whether `err` is NOGROUP for a ready stream that does not exist yet (made on a queue's first ready entry). */
async function isUnmadeStream(ctx: ReadContext, queue: string, err: unknown): Promise<boolean> {
  return (
    err instanceof Error && err.message.startsWith('NOGROUP') && (await ctx.redis.exists(ctx.keys.ready(queue))) === 0
  );
}
