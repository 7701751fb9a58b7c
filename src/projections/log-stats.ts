import { endedPast } from './ended-index.js';
import type { ChainableCommander } from 'ioredis';
import type { Connection } from '../redis/connection.js';
import { ENDED_STATUSES, type EndedStatus, type Keys } from '../redis/keys.js';
import { timeToMs } from '../redis/time.js';
import type { StreamEntry } from '../events/codec.js';
import { streamIdMs } from '../events/stream-id.js';
import type { CompactionReport } from '../retention/compact.js';

/** The event log's size and age, and how far the archive has caught up with it. */
export interface LogStats {
  /** Entries in the log (XLEN). */
  events: number;
  /** Estimated memory of the log in bytes (MEMORY USAGE with sampling), or null where refused. */
  bytes: number | null;
  /** When the oldest entry still in the log was written (its id's time); null for an empty log. */
  oldestEventAt: Date | null;
  /** The newest event id compaction has put in the archive; null when nothing was ever archived. */
  archivedTo: string | null;
  /**
   * Age in ms (Redis clock) of the oldest log entry not archived yet: 0 when every entry is archived, null
   * when nothing was ever archived (no archive, or no pass has archived yet). Compaction archives entries
   * just before it trims them, so in a healthy namespace this stays near `retention.logMs`.
   */
  archiveLagMs: number | null;
}

/** What compaction has done in the namespace, as its passes recorded it in the metadata. */
export interface CompactionStats {
  /** The last pass (dry runs are not recorded); null before the first. */
  last: CompactionReport | null;
  /** Estimated bytes of log memory reclaimed by all passes so far. */
  reclaimedLogBytes: number;
  /** Ended task projections removed by retention so far. */
  removedTasks: number;
}

/** Ended tasks whose projection is still held, per status: what retention removes. */
export type EndedHeld = Record<EndedStatus, number>;

export interface LogState {
  log: LogStats;
  compaction: CompactionStats;
  ended: EndedHeld;
}

const META_FIELDS = ['archivedTo', 'lastCompaction', 'reclaimedLogBytes', 'removedTasks'] as const;

/** How many replies queueLogReads adds to a pipeline. */
export const LOG_READS = 4 + ENDED_STATUSES.length;

/**
 * Adds the reads of the log's state to a pipeline, none of which reads more than one log entry: XLEN,
 * MEMORY USAGE (sampled), the first entry, the metadata compaction writes, and the ended index's count of
 * each status (ZLEXCOUNT).
 */
export function queueLogReads(p: ChainableCommander, k: Keys): void {
  p.xlen(k.events);
  p.call('MEMORY', 'USAGE', k.events, 'SAMPLES', '5');
  p.xrange(k.events, '-', '+', 'COUNT', 1);
  p.hmget(k.meta, ...META_FIELDS);
  for (const status of ENDED_STATUSES) p.zlexcount(k.endedIndex, `[${status}:`, `(${endedPast(status)}`);
}

/**
 * Reads the replies of queueLogReads (`reply(i)`: the i-th of them, null when it failed). The archive lag
 * needs one more read, the first entry after `archivedTo`: `lagFrom` finishes it.
 */
export function parseLogReads(reply: (i: number) => unknown): LogState {
  const first = (reply(2) as StreamEntry[] | null)?.[0];
  const [archivedTo, last, reclaimed, removed] = ((reply(3) as (string | null)[] | null) ?? []).map((v) => v ?? null);
  const ended = {} as EndedHeld;
  ENDED_STATUSES.forEach((status, i) => (ended[status] = Number(reply(4 + i) ?? 0)));
  const bytes = reply(1);
  return {
    log: {
      events: Number(reply(0) ?? 0),
      bytes: bytes === null || bytes === undefined ? null : Number(bytes),
      oldestEventAt: first ? new Date(Number(streamIdMs(first[0]))) : null,
      archivedTo: archivedTo || null,
      archiveLagMs: null,
    },
    compaction: {
      last: parseReport(last ?? null),
      reclaimedLogBytes: Number(reclaimed ?? 0),
      removedTasks: Number(removed ?? 0),
    },
    ended,
  };
}

/** The read that finishes the archive lag, or null when nothing was ever archived. */
export function queueLagRead(p: ChainableCommander, k: Keys, log: LogStats): boolean {
  if (log.archivedTo === null) return false;
  p.xrange(k.events, `(${log.archivedTo}`, '+', 'COUNT', 1);
  return true;
}

/** Sets the archive lag from queueLagRead's reply: the age of the first entry after `archivedTo`. */
export function setLag(log: LogStats, entries: StreamEntry[] | null, now: number): void {
  if (log.archivedTo === null || entries === null) return;
  const first = entries[0];
  log.archiveLagMs = first ? Math.max(0, now - Number(streamIdMs(first[0]))) : 0;
}

/**
 * The log's state on its own, in two round trips, through any connection: for readers that must not go
 * through a TaskQueue (the command line's `doctor`, which writes nothing to the namespace).
 */
export async function readLogState(redis: Connection, k: Keys): Promise<LogState & { at: Date }> {
  const p = redis.pipeline();
  p.time();
  queueLogReads(p, k);
  const r = (await p.exec()) ?? [];
  const now = timeToMs(r[0]![1] as [string, string]);
  const state = parseLogReads((i) => (r[i + 1]?.[0] ? null : r[i + 1]?.[1]));
  const lag = redis.pipeline();
  if (queueLagRead(lag, k, state.log)) {
    const [[err, entries] = [null, null]] = (await lag.exec()) ?? [];
    setLag(state.log, err ? null : (entries as StreamEntry[]), now);
  }
  return { ...state, at: new Date(now) };
}

function parseReport(json: string | null): CompactionReport | null {
  if (json === null) return null;
  try {
    return JSON.parse(json) as CompactionReport;
  } catch {
    return null; // a damaged field: no last pass to show
  }
}
