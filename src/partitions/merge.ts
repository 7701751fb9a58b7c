import type { QueueState, QueueStats } from '../projections/stats.js';
import type { VerifyReport } from '../audit/verify.js';
import type { MinuteCount } from '../projections/throughput.js';
import type { QueueControls } from '../projections/queue-controls.js';
import type { CompactionReport } from '../retention/compact.js';

/** Reports of numbers only (rebuild, recovery, repair): the namespace's is the sum of its partitions'. */
export function sumReports<T extends object>(reports: readonly T[]): T {
  const total = { ...reports[0]! } as Record<string, unknown>;
  for (const r of reports.slice(1))
    for (const [k, v] of Object.entries(r)) if (typeof v === 'number') total[k] = ((total[k] as number) || 0) + v;
  return total as T;
}

const sumOrNull = (values: readonly (number | null)[]): number | null =>
  values.every((v) => v === null) ? null : values.reduce<number>((a, v) => a + (v ?? 0), 0);

function mergeQueue(states: readonly QueueState[]): QueueState {
  return {
    waiting: states.reduce((a, s) => a + s.waiting, 0),
    delayed: states.reduce((a, s) => a + s.delayed, 0),
    running: sumOrNull(states.map((s) => s.running)),
    oldestWaitingMs: Math.max(...states.map((s) => s.oldestWaitingMs)),
    lag: sumOrNull(states.map((s) => s.lag)),
    paused: states.some((s) => s.paused),
    // A cap or a rate limit lives in one partition, the queue's home (§20).
    concurrency: states.find((s) => s.concurrency !== null)?.concurrency ?? null,
    rateLimit: states.find((s) => s.rateLimit !== null)?.rateLimit ?? null,
  };
}

/** What one partition holds, as the namespace's stats list it (for a cluster: each node's share). */
export interface PartitionShare {
  partition: number;
  /** The partition's hash tag: `{tag}` starts each of its keys. */
  tag: string;
  events: number;
  waiting: number;
  running: number;
}

/** The namespace's stats from its partitions': counts summed, ages the oldest, each partition's share. */
export function mergeStats(parts: readonly QueueStats[], tags: readonly string[]): QueueStats {
  const names = [...new Set(parts.flatMap((p) => Object.keys(p.queues)))].sort();
  const queues: Record<string, QueueState> = {};
  for (const name of names) queues[name] = mergeQueue(parts.flatMap((p) => p.queues[name] ?? []));
  const oldest = parts.map((p) => p.log.oldestEventAt).filter((d): d is Date => d !== null);
  const lastPasses = parts.map((p) => p.compaction.last).filter((r): r is CompactionReport => r !== null);
  const bytes = parts.map((p) => p.log.bytes);
  return {
    queues,
    running: parts.reduce((a, p) => a + p.running, 0),
    events: parts.reduce((a, p) => a + p.events, 0),
    eventLogBytes: bytes.some((b) => b === null) ? null : sumOrNull(bytes),
    log: {
      events: parts.reduce((a, p) => a + p.log.events, 0),
      bytes: bytes.some((b) => b === null) ? null : sumOrNull(bytes),
      oldestEventAt: oldest.length ? new Date(Math.min(...oldest.map((d) => d.getTime()))) : null,
      archivedTo: null,
      archiveLagMs: parts.some((p) => p.log.archiveLagMs === null)
        ? null
        : Math.max(...parts.map((p) => p.log.archiveLagMs!)),
    },
    compaction: {
      last: lastPasses.sort((a, b) => b.startedAt - a.startedAt)[0] ?? null,
      reclaimedLogBytes: parts.reduce((a, p) => a + p.compaction.reclaimedLogBytes, 0),
      removedTasks: parts.reduce((a, p) => a + p.compaction.removedTasks, 0),
    },
    ended: sumReports(parts.map((p) => p.ended)),
    at: new Date(Math.max(...parts.map((p) => p.at.getTime()))),
    partitions: parts.map((p, i) => ({
      partition: i,
      tag: tags[i]!,
      events: p.log.events,
      waiting: Object.values(p.queues).reduce((a, q) => a + q.waiting + q.delayed, 0),
      running: p.running,
    })),
  };
}

/** verify() of each partition, as one report: each line names its partition. */
export function mergeVerify(parts: readonly VerifyReport[]): VerifyReport {
  const report: VerifyReport = {
    tasks: parts.reduce((a, p) => a + p.tasks, 0),
    mismatches: parts.flatMap((p, i) => p.mismatches.map((m) => `partition ${i}: ${m}`)),
    indexes: parts.flatMap((p) => p.indexes),
  };
  const repairs = parts.flatMap((p) => p.repair ?? []);
  if (repairs.length) report.repair = sumReports(repairs);
  return report;
}

/** Per-minute counts of each partition, added up per minute and queue, oldest first. */
export function mergeThroughput(parts: readonly MinuteCount[][]): MinuteCount[] {
  const byKey = new Map<string, MinuteCount>();
  for (const m of parts.flat()) {
    const key = `${m.minute.getTime()}\0${m.queue}`;
    const seen = byKey.get(key);
    if (seen) {
      seen.started += m.started;
      seen.finished += m.finished;
      seen.failed += m.failed;
    } else byKey.set(key, { ...m });
  }
  return [...byKey.values()].sort(
    (a, b) => a.minute.getTime() - b.minute.getTime() || (a.queue < b.queue ? -1 : a.queue > b.queue ? 1 : 0),
  );
}

/** A queue's controls from its partitions': running counts summed, options from the partition that has them. */
export function mergeControls(parts: readonly QueueControls[]): QueueControls {
  const withLimits = parts.find((c) => c.concurrency !== null || c.rateLimit !== null) ?? parts[0]!;
  const held = parts.map((c) => c.heldUntil).filter((d): d is Date => d !== null);
  return {
    ...withLimits,
    paused: parts.some((c) => c.paused),
    running: parts.reduce((a, c) => a + c.running, 0),
    heldUntil: held.length ? new Date(Math.max(...held.map((d) => d.getTime()))) : null,
  };
}

/** The passes of every partition as one report: counts summed, the longest duration, skipped if all were. */
export function mergeCompactions(parts: readonly CompactionReport[]): CompactionReport {
  const total = sumReports(parts);
  const skipped = parts.every((p) => p.skipped !== undefined) ? parts[0]!.skipped : undefined;
  const report: CompactionReport = {
    ...total,
    dryRun: parts[0]!.dryRun,
    // Each partition's log has its own ids: one id cannot say where the namespace's trim stopped.
    trimmedTo: null,
    startedAt: Math.min(...parts.map((p) => p.startedAt)),
    durationMs: Math.max(...parts.map((p) => p.durationMs)),
  };
  if (skipped === undefined) delete report.skipped;
  else report.skipped = skipped;
  return report;
}
