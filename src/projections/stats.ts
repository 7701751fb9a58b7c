import type { ReadContext } from '../context/read-context.js';
import { readyStreams } from '../context/queue-streams.js';
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
import type { PartitionShare } from '../partitions/merge.js';

export interface QueueState {
  /** Tasks due and waiting to be taken. */
  waiting: number;
  /** Waiting tasks not due yet (delayed, or waiting to retry). */
  delayed: number;
  /** Running tasks of this queue (its running count in `{ns}:controls`; stalled ones until recovered). */
  running: number | null;
  /** Age of the oldest due waiting task in ms, 0 when none waits. */
  oldestWaitingMs: number;
  /** Entries the consumer group has not delivered yet (Redis >= 7), else null. */
  lag: number | null;
  /** The queue's controls: paused, its concurrency cap and rate limit (null: none). */
  paused: boolean;
  concurrency: number | null;
  rateLimit: { max: number; perMs: number } | null;
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
  /** Of a namespace of more than one partition (§20): what each partition holds. */
  partitions?: PartitionShare[];
}

/**
 * The state of every queue and of the log, read in three pipelined round trips: its cost grows with the
 * number of queues, never with the log (at most two log entries are read: the first, and the first not
 * archived). A queue's ready streams are its priority levels; running tasks per queue are its running count.
 */
/** A rate limit as the controls hash holds it (`<max> <perMs>`). */
function rateOf(field: string | undefined): QueueState['rateLimit'] {
  const m = field ? /^(\d+) (\d+)$/.exec(field) : null;
  return m ? { max: Number(m[1]), perMs: Number(m[2]) } : null;
}

export async function stats(ctx: ReadContext): Promise<QueueStats> {
  await ctx.life.whenOpen();
  const k = ctx.keys;
  const queues = (await ctx.redis.smembers(k.queues)).sort();
  // Each queue's ready streams: one per priority level it has used.
  const streams = await readyStreams(ctx, queues);
  const p = ctx.redis.pipeline();
  p.time();
  p.zcard(k.running);
  p.hgetall(k.controls);
  queueLogReads(p, k);
  for (const q of queues) p.zcard(k.delayed(q));
  for (const s of streams) {
    p.xlen(s.key);
    p.call('XINFO', 'GROUPS', s.key);
  }
  const r = (await p.exec()) ?? [];
  const val = (i: number) => (r[i]?.[0] ? null : r[i]?.[1]);
  const now = timeToMs(val(0) as [string, string]);
  const running = Number(val(1));
  const controls = (val(2) as Record<string, string> | null) ?? {};
  const { log, compaction, ended } = parseLogReads((i) => val(3 + i));
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
  const base = 3 + LOG_READS;
  queues.forEach((q, i) => {
    out.queues[q] = {
      waiting: 0,
      delayed: Number(val(base + i) ?? 0),
      // The queue's running count (start.lua and every exit from running keep it; stalled tasks included).
      running: Number(controls[`active:${q}`] ?? 0),
      oldestWaitingMs: 0,
      lag: 0,
      paused: controls[`paused:${q}`] === '1',
      concurrency: controls[`concurrency:${q}`] ? Number(controls[`concurrency:${q}`]) : null,
      rateLimit: rateOf(controls[`rate:${q}`]),
    };
  });
  const lastDelivered: string[] = [];
  streams.forEach((s, j) => {
    const at = base + queues.length + 2 * j;
    const groups = (val(at + 1) as string[][] | null) ?? [];
    const group = groups.map((g) => pairsToObject(g.map(String))).find((g) => g.name === GROUP);
    const pending = Number(group?.pending ?? 0);
    const state = out.queues[s.queue]!;
    // Started entries are deleted, so the stream holds the waiting tasks: undelivered and claimed-not-started.
    state.waiting += Math.max(0, Number(val(at) ?? 0) - pending);
    const lag = group?.lag === undefined || group.lag === '' ? null : Number(group.lag);
    state.lag = state.lag === null || lag === null ? null : state.lag + lag;
    lastDelivered.push(group?.['last-delivered-id'] ?? '0-0');
  });
  // The oldest waiting task: the first entry the group has not delivered yet, of any level. Then the archive lag.
  const op = ctx.redis.pipeline();
  streams.forEach((s, j) => op.xrange(s.key, `(${lastDelivered[j]!}`, '+', 'COUNT', 1));
  const lagRead = queueLagRead(op, k, log);
  const replies = (await op.exec()) ?? [];
  streams.forEach((s, j) => {
    const [err, entries] = replies[j] ?? [null, []];
    const first = err ? undefined : (entries as StreamEntry[])[0];
    const state = out.queues[s.queue]!;
    if (first) state.oldestWaitingMs = Math.max(state.oldestWaitingMs, now - Number(streamIdMs(first[0])));
  });
  if (lagRead) {
    const [err, entries] = replies[streams.length] ?? [null, null];
    setLag(log, err ? null : (entries as StreamEntry[]), now);
  }
  return out;
}
