import { fromRedisError, RedisOutOfMemoryError } from '../errors.js';
import { CONSUMER, GROUP } from '../redis/keys.js';
import { readyStreams } from '../context/queue-streams.js';
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
  /**
   * Heartbeat deadlines further ahead than any heartbeat TTL, set on a Redis clock that has since stepped
   * back (a failover to a host whose clock is behind, say), brought back to one TTL from now.
   */
  deadlinesReset: number;
}

/**
 * One recovery pass. Runs in every instance, but a short lock lets only one instance do a pass at a time;
 * and the scripts re-check everything themselves, so even two overlapping passes never do a thing twice.
 */
export async function recover(ctx: ReadContext, intervalMs: number): Promise<RecoveryReport | null> {
  try {
    return await recoverPass(ctx, intervalMs);
  } catch (err) {
    throw fromRedisError(err);
  }
}

async function recoverPass(ctx: ReadContext, intervalMs: number): Promise<RecoveryReport | null> {
  const k = ctx.keys;
  const now = await redisNow(ctx.redis);
  // The lock holds the Redis time it was taken at.
  const taken = String(now);
  const px = Math.max(100, intervalMs);
  let locked = await ctx.redis.set(k.recoveryLock, taken, 'PX', px, 'NX');
  if (locked !== 'OK') {
    // A lock taken later than now was taken before the clock stepped back. Redis keeps an expiry as a time
    // on its clock, so the step stretched the lock by as much: taken over, not waited out. (Two instances
    // may both take it over; a pass done twice does nothing twice.)
    const held = Number(await ctx.redis.get(k.recoveryLock));
    if (!(held > now)) return null;
    locked = await ctx.redis.set(k.recoveryLock, taken, 'PX', px, 'XX');
    if (locked !== 'OK') return null;
  }
  const report: RecoveryReport = { requeued: 0, failed: 0, redelivered: 0, repaired: 0, deadlinesReset: 0 };
  await resetFutureDeadlines(ctx, now, report);
  await recoverStalled(ctx, report);
  await recoverUndelivered(ctx, report);
  report.repaired = await sweepIndexes(ctx);
  return report;
}

/** Rounds of resetFutureDeadlines in one pass (BATCH each): the next pass goes on. */
const RESET_ROUNDS = 100;

/**
 * A deadline is set to Redis TIME (or the time of an event, which never runs ahead of TIME on a steady
 * clock) plus the writer's heartbeat TTL. One further ahead than the largest TTL any instance announced
 * was set on a clock that has since stepped back, and would hold a dead worker's task for the length of the
 * step. It is brought back to that far from now: a live holder's next heartbeat (due within its TTL, which
 * is not longer) moves it on as ever, so no live task is recovered early; a dead one's stalls one TTL on.
 */
async function resetFutureDeadlines(ctx: ReadContext, now: number, report: RecoveryReport): Promise<void> {
  const k = ctx.keys;
  const announced = Number(await ctx.redis.zscore(k.heartbeatTtl, 'max'));
  const bound = now + Math.max(ctx.settings.heartbeatTtlMs, Number.isFinite(announced) ? announced : 0);
  for (let round = 0; round < RESET_ROUNDS; round++) {
    const ids = await ctx.redis.zrangebyscore(k.running, `(${bound}`, '+inf', 'LIMIT', 0, BATCH);
    if (ids.length === 0) return;
    const pipeline = ctx.redis.pipeline();
    // XX: a task that ended meanwhile is not put back. LT: a heartbeat that came meanwhile stays.
    for (const id of ids) pipeline.zadd(k.running, 'XX', 'LT', 'CH', bound, id);
    for (const [err, changed] of (await pipeline.exec()) ?? [])
      if (!err && Number(changed) === 1) report.deadlinesReset++;
    if (ids.length < BATCH) return;
  }
}

async function recoverStalled(ctx: ReadContext, report: RecoveryReport): Promise<void> {
  const k = ctx.keys;
  for (;;) {
    const now = await redisNow(ctx.redis);
    const ids = await ctx.redis.zrangebyscore(k.running, '-inf', now, 'LIMIT', 0, BATCH);
    if (ids.length === 0) return;
    const queues = await Promise.all(
      ids.map((id) => ctx.redis.hmget(k.task(id), 'queue', 'attempt', 'maxAttempts', 'priority')),
    );
    const pipeline = scriptPipeline(ctx.redis);
    const acted: ('requeue' | 'fail' | 'tidy')[] = [];
    ids.forEach((id, i) => {
      const [queue, attempt, maxAttempts, priority] = queues[i]!;
      if (queue == null) {
        // The hash is gone (deleted): only the index entry is left.
        pipeline.commands.zrem(k.running, id);
        acted.push('tidy');
        return;
      }
      const level = Number(priority ?? 0);
      const keys = [k.events, k.running, k.task(id), k.ready(queue, level), k.counts, k.endedIndex, k.controls, k.wake];
      pipeline.script('recoverStalled', ...keys, id, GROUP, queue, String(level));
      acted.push(Number(attempt) >= Number(maxAttempts) ? 'fail' : 'requeue');
    });
    const results = await pipeline.exec();
    let stuck = 0;
    let full = false;
    results.forEach(([err, code], i) => {
      // recover-stalled answers 0 only for a task whose deadline moved after our read: it is alive, not stuck.
      if (err) {
        stuck++;
        if (fromRedisError(err) instanceof RedisOutOfMemoryError) full = true;
      } else if (Number(code) === 1 && acted[i] === 'fail') report.failed++;
      else if (Number(code) === 1 && acted[i] === 'requeue') report.requeued++;
    });
    // A full Redis refused them: said, so that the pass is not taken for one that found nothing.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set in the callback above
    if (full) throw new RedisOutOfMemoryError();
    // Every other answer removed the id from the running set, so the next read makes progress.
    if (stuck === ids.length || ids.length < BATCH) return;
  }
}

async function recoverUndelivered(ctx: ReadContext, report: RecoveryReport): Promise<void> {
  const k = ctx.keys;
  // Every level's stream of every queue: entries of each are claimed through its own group.
  for (const { key } of await readyStreams(ctx)) {
    let cursor = '0-0';
    do {
      let reply: [string, (StreamEntry | null)[]];
      try {
        reply = (await ctx.redis.xautoclaim(
          key,
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
        if (!(await isUnmadeStream(ctx, key, err))) ctx.life.report(err);
        break;
      }
      cursor = reply[0];
      const entries = reply[1].filter((e): e is StreamEntry => e !== null && Array.isArray(e[1]));
      if (entries.length === 0) continue;
      const pipeline = scriptPipeline(ctx.redis);
      for (const [entryId, fields] of entries) {
        const taskId = fields[1]!;
        pipeline.script('redeliver', k.events, k.task(taskId), key, taskId, entryId, GROUP, 'undelivered');
      }
      for (const [err, moved] of await pipeline.exec()) if (!err && Number(moved) === 1) report.redelivered++;
    } while (cursor !== '0-0');
  }
}

/** Whether `err` is NOGROUP for a ready stream that does not exist yet (made on a queue's first ready entry). */
async function isUnmadeStream(ctx: ReadContext, key: string, err: unknown): Promise<boolean> {
  return err instanceof Error && err.message.startsWith('NOGROUP') && (await ctx.redis.exists(key)) === 0;
}
