/** What the command line says about the log and compaction: the lines `stats` prints, the checks of `doctor`. */
import type { Connection } from '../redis/connection.js';
import type { Keys } from '../redis/keys.js';
import { entryToRawEvent, type StreamEntry } from '../events/codec.js';
import { readLogState, type LogState } from '../projections/log-stats.js';

/**
 * Above this many events, a log that no compaction has ever trimmed is worth a warning. Measured at about
 * 100 bytes per event with small specs (more with large ones), 100,000 events are some 10 MB of log: far
 * from a problem yet, but well past a fresh, test or demo namespace, and growing with every transition.
 */
export const UNTRIMMED_LOG_WARNING = 100_000;

/**
 * Slack on top of `retention.logMs` before the archive lag is a warning. Compaction archives entries just
 * before it trims them, so the oldest unarchived entry is normally about `logMs` old, plus up to one
 * interval (default 10 s) and a pass. Ten minutes is sixty default intervals: no healthy namespace gets
 * there, and a compaction that stopped (no instance with retention running, an archive failing) shows
 * within minutes.
 */
export const ARCHIVE_LAG_SLACK_MS = 10 * 60_000;

/** Where the README explains what to set. */
const README_RETENTION = 'see "Running in production" (retention) in the README';

export interface Check {
  check: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
  fix?: string;
}

/** 512 B, 12.3 KB, 4.5 MB, 1.2 GB. */
export function bytes(n: number | null): string {
  if (n === null) return '? bytes';
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]!}`;
}

/** A span of time in its largest sensible unit: 850ms, 12s, 5m, 3h, 2d. */
export function span(ms: number): string {
  const abs = Math.max(0, ms);
  if (abs < 1000) return `${Math.round(abs)}ms`;
  if (abs < 60_000) return `${Math.round(abs / 1000)}s`;
  if (abs < 3_600_000) return `${Math.round(abs / 60_000)}m`;
  if (abs < 86_400_000) return `${Math.round(abs / 3_600_000)}h`;
  return `${Math.round(abs / 86_400_000)}d`;
}

/** The lines `stats` prints under its table: the log, the archive and compaction. */
export function logSummary(s: LogState & { at: Date }): string[] {
  const now = s.at.getTime();
  const { log, compaction, ended } = s;
  const oldest = log.oldestEventAt ? `, oldest ${span(now - log.oldestEventAt.getTime())} old` : '';
  const archive = log.archiveLagMs === null ? 'nothing archived' : `archive lag ${span(log.archiveLagMs)}`;
  const last = compaction.last;
  const pass = last
    ? `last compaction ${span(now - last.startedAt - last.durationMs)} ago (${last.removedTasks} tasks removed, ` +
      `${last.trimmedEvents} events trimmed, ${bytes(last.reclaimedLogBytes)} reclaimed)`
    : 'no compaction has run';
  return [
    `${log.events} events in the log (${bytes(log.bytes)}${oldest}) · ${archive} · ${s.at.toISOString()}`,
    `${pass} · ${bytes(compaction.reclaimedLogBytes)} reclaimed and ${compaction.removedTasks} tasks removed in all` +
      ` · ended tasks held: ${ended.finished} finished, ${ended.failed} failed, ${ended.cancelled} cancelled`,
  ];
}

/**
 * doctor's checks of the log, through the raw connection (writes nothing): "retention", and "archive lag"
 * once something has been archived.
 */
export async function retentionChecks(redis: Connection, keys: Keys): Promise<Check[]> {
  const s = await readLogState(redis, keys);
  const now = s.at.getTime();
  const { log, compaction } = s;
  const record = await newestCompactedRecord(redis, keys);
  const size = `the log holds ${log.events} events (${bytes(log.bytes)}${
    log.oldestEventAt ? `, the oldest ${span(now - log.oldestEventAt.getTime())} old` : ''
  })`;
  const checks: Check[] = [];
  const big = log.events > UNTRIMMED_LOG_WARNING;
  const last = compaction.last;
  if (!last) {
    checks.push(
      big
        ? {
            check: 'retention',
            status: 'warn',
            detail: `${size}, and no compaction has ever run: it grows with every transition`,
            fix: `set retention on the TaskQueue (finishedMs, failedMs, cancelledMs; logMs with an archive): ${README_RETENTION}`,
          }
        : { check: 'retention', status: 'ok', detail: `${size}; no compaction has run yet` },
    );
  } else {
    const ago = `last compaction ${span(now - last.startedAt - last.durationMs)} ago`;
    checks.push(
      big && !record
        ? {
            check: 'retention',
            status: 'warn',
            detail: `${size}, never trimmed (${ago}, removing ended tasks only)`,
            fix:
              `set retention.logMs (with an archive) to trim the log: ${README_RETENTION}. ` +
              'If it is set, and longer than the log is old, this clears once the log is older than that',
          }
        : {
            check: 'retention',
            status: 'ok',
            detail: `${size}; ${ago}, ${bytes(compaction.reclaimedLogBytes)} reclaimed and ${compaction.removedTasks} tasks removed in all`,
          },
    );
  }
  if (log.archiveLagMs !== null) {
    const logMs = record?.logMs;
    const expected = logMs === undefined ? '' : ` (retention.logMs ${span(logMs)})`;
    const detail = `the oldest entry not archived is ${span(log.archiveLagMs)} old${expected}`;
    checks.push(
      logMs !== undefined && log.archiveLagMs > logMs + ARCHIVE_LAG_SLACK_MS
        ? {
            check: 'archive lag',
            status: 'warn',
            detail,
            fix:
              'compaction is not keeping up, or not running: keep an instance with retention and the archive ' +
              "running, and look at its 'error' events (a failing archive stops the trim)",
          }
        : { check: 'archive lag', status: 'ok', detail },
    );
  }
  return checks;
}

/** The retention the newest `compacted` event recorded (the last pass that trimmed); null when none did. */
async function newestCompactedRecord(redis: Connection, keys: Keys): Promise<{ logMs?: number } | null> {
  const id = await redis.hget(keys.meta, 'compacted');
  if (!id) return null;
  const [entry] = (await redis.xrange(keys.events, id, id)) as StreamEntry[];
  if (!entry) return null;
  try {
    const retention = JSON.parse(entryToRawEvent(entry).fields.retention ?? '{}') as { logMs?: unknown };
    return typeof retention.logMs === 'number' ? { logMs: retention.logMs } : {};
  } catch {
    return {};
  }
}
