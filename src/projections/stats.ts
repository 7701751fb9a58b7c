import type { ReadContext } from '../context/read-context.js';
import { GROUP } from '../redis/keys.js';
import { timeToMs } from '../redis/time.js';
import { pairsToObject, type StreamEntry } from '../events/codec.js';
import { streamIdMs } from '../events/stream-id.js';
import {
  LOG_READS,
  parseLogReads,
  queueLagRead,
  queueLogReads,
  setLag,
  type CompactionStats,
  type EndedHeld,
  type LogStats,
} from './log-stats.js';

/** Above this many running tasks, running is not broken down by queue (it would cost one read per task). */
const RUNNING_BREAKDOWN_LIMIT = 10_000;

export interface QueueState {
  /** Tasks due and waiting to be taken. */
  waiting: number;
  /** Waiting tasks not due yet (delayed, or waiting to retry). */
  delayed: number;
  /** Running tasks of this queue; null when too many run to break them down cheaply. */
  running: number | null;
  /** Age of the oldest due waiting task in ms, 0 when none waits. */
  oldestWaitingMs: number;
  /** Entries the consumer group has not delivered yet (Redis >= 7), else null. */
  lag: number | null;
}

export interface QueueStats {
  queues: Record<string, QueueState>;
  /** Running tasks in the namespace. */
  running: number;
  /** Entries in the event log (as `log.events`; kept for compatibility). */
  events: number;
  /** Estimated memory of the event log in bytes, or null where refused (as `log.bytes`; kept for compatibility). */
  eventLogBytes: number | null;
  /** The log's length, memory and age, and the archive's lag behind it. */
  log: LogStats;
  /** The last compaction pass, and what all passes have reclaimed and removed so far. */
  compaction: CompactionStats;
  /** Ended tasks whose projection is still held, per status: what retention removes. */
  ended: EndedHeld;
  /** Redis time of the reading. */
  at: Date;
}

/**
 * The state of every queue and of the log, read in three pipelined round trips: its cost grows with the
 * number of queues, never with the log (at most two log entries are read: the first, and the first not
 * archived). Running tasks are broken down by queue with two more (one HGET per running task, up to 10,000).
 */
export async function stats(ctx: ReadContext): Promise<QueueStats> {
  await ctx.life.whenOpen();
  const k = ctx.keys;
  const queues = (await ctx.redis.smembers(k.queues)).sort();
  const p = ctx.redis.pipeline();
  p.time();
  p.zcard(k.running);
  queueLogReads(p, k);
  for (const q of queues) {
    p.xlen(k.ready(q));
    p.zcard(k.delayed(q));
    p.call('XINFO', 'GROUPS', k.ready(q));
  }
  const r = (await p.exec()) ?? [];
  const val = (i: number) => (r[i]?.[0] ? null : r[i]?.[1]);
  const now = timeToMs(val(0) as [string, string]);
  const running = Number(val(1));
  const { log, compaction, ended } = parseLogReads((i) => val(2 + i));
  const out: QueueStats = {
    queues: {},
    running,
    events: log.events,
    eventLogBytes: log.bytes,
    log,
    compaction,
    ended,
    at: new Date(now),
  };
  const lastDelivered = new Map<string, string>();
  queues.forEach((q, i) => {
    const base = 2 + LOG_READS + i * 3;
    const groups = (val(base + 2) as string[][] | null) ?? [];
    const group = groups.map((g) => pairsToObject(g.map(String))).find((g) => g.name === GROUP);
    const pending = Number(group?.pending ?? 0);
    // Started entries are deleted, so the stream holds the waiting tasks: undelivered and claimed-not-started.
    const lag = group?.lag === undefined || group.lag === '' ? null : Number(group.lag);
    lastDelivered.set(q, group?.['last-delivered-id'] ?? '0-0');
    out.queues[q] = {
      waiting: Math.max(0, Number(val(base) ?? 0) - pending),
      delayed: Number(val(base + 1) ?? 0),
      running: running > RUNNING_BREAKDOWN_LIMIT ? null : 0,
      oldestWaitingMs: 0,
      lag,
    };
  });
  // The oldest waiting task: the first entry the group has not delivered yet. Then the archive lag.
  const op = ctx.redis.pipeline();
  for (const q of queues) op.xrange(k.ready(q), `(${lastDelivered.get(q)!}`, '+', 'COUNT', 1);
  const lagRead = queueLagRead(op, k, log);
  const replies = (await op.exec()) ?? [];
  queues.forEach((q, i) => {
    const [err, entries] = replies[i] ?? [null, []];
    const first = err ? undefined : (entries as StreamEntry[])[0];
    if (first) out.queues[q]!.oldestWaitingMs = Math.max(0, now - Number(streamIdMs(first[0])));
  });
  if (lagRead) {
    const [err, entries] = replies[queues.length] ?? [null, null];
    setLag(log, err ? null : (entries as StreamEntry[]), now);
  }
  if (running > 0 && running <= RUNNING_BREAKDOWN_LIMIT) {
    const ids = await ctx.redis.zrange(k.running, 0, -1);
    const qp = ctx.redis.pipeline();
    for (const id of ids) qp.hget(k.task(id), 'queue');
    for (const [err, q] of (await qp.exec()) ?? []) {
      const state = !err && typeof q === 'string' ? out.queues[q] : undefined;
      if (state && state.running !== null) state.running++;
    }
  }
  return out;
}
