import type { ReadContext } from '../context/read-context.js';
import { GROUP } from '../redis/keys.js';
import { timeToMs } from '../redis/time.js';
import { pairsToObject, type StreamEntry } from '../events/codec.js';
import { streamIdMs } from '../events/stream-id.js';

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
  /** Entries in the event log. */
  events: number;
  /** Estimated memory of the event log in bytes (MEMORY USAGE with sampling), or null where refused. */
  eventLogBytes: number | null;
  /** Redis time of the reading. */
  at: Date;
}

/**
 * The state of every queue, read in three pipelined round trips: its cost grows with the number of queues.
 * Running tasks are broken down by queue with two more (one HGET per running task, up to 10,000).
 */
export async function stats(ctx: ReadContext): Promise<QueueStats> {
  await ctx.life.whenOpen();
  const k = ctx.keys;
  const queues = (await ctx.redis.smembers(k.queues)).sort();
  const p = ctx.redis.pipeline();
  p.time();
  p.xlen(k.events);
  p.zcard(k.running);
  p.call('MEMORY', 'USAGE', k.events, 'SAMPLES', '5');
  for (const q of queues) {
    p.xlen(k.ready(q));
    p.zcard(k.delayed(q));
    p.call('XINFO', 'GROUPS', k.ready(q));
  }
  const r = (await p.exec()) ?? [];
  const val = (i: number) => (r[i]?.[0] ? null : r[i]?.[1]);
  const now = timeToMs(val(0) as [string, string]);
  const running = Number(val(2));
  const out: QueueStats = {
    queues: {},
    running,
    events: Number(val(1)),
    eventLogBytes: val(3) === null ? null : Number(val(3)),
    at: new Date(now),
  };
  const lastDelivered = new Map<string, string>();
  queues.forEach((q, i) => {
    const base = 4 + i * 3;
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
  // The oldest waiting task: the first entry the group has not delivered yet.
  const op = ctx.redis.pipeline();
  for (const q of queues) op.xrange(k.ready(q), `(${lastDelivered.get(q)!}`, '+', 'COUNT', 1);
  ((await op.exec()) ?? []).forEach(([err, entries], i) => {
    const first = err ? undefined : (entries as StreamEntry[])[0];
    if (first) out.queues[queues[i]!]!.oldestWaitingMs = Math.max(0, now - Number(streamIdMs(first[0])));
  });
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
