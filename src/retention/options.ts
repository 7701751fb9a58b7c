import { ValidationError } from '../errors.js';
import type { Archive } from '../archive/archive.js';
import type { EndedStatus } from '../redis/keys.js';
import { intOption } from '../validation.js';

/** How long each kind of data stays in Redis. An option left out keeps that data for ever. */
export interface RetentionOptions {
  /** A finished task's projection goes this long after it finished. */
  finishedMs?: number;
  /** A failed task's projection goes this long after it failed. */
  failedMs?: number;
  /** A cancelled task's projection goes this long after it was cancelled. */
  cancelledMs?: number;
  /** Log entries older than this leave the stream (archived first, unless `archive: false`). */
  logMs?: number;
}

/** The longest retention accepted: ten years. */
export const MAX_RETENTION_MS = 10 * 365 * 24 * 3600 * 1000;
export const DEFAULT_COMPACT_INTERVAL_MS = 10_000;

/** Retention, checked: what compaction does. */
export interface CompactionConfig {
  /** Ended tasks' retention by status; a status left out is kept for ever. */
  ended: Partial<Record<EndedStatus, number>>;
  logMs: number | undefined;
  /** Where events go before the log is trimmed; null when the user waived it (`archive: false`) or gave none. */
  archive: Archive | null;
  /** The options as given, recorded in each `compacted` event. */
  retention: RetentionOptions;
}

const KEYS: Record<keyof RetentionOptions, EndedStatus | 'log'> = {
  finishedMs: 'finished',
  failedMs: 'failed',
  cancelledMs: 'cancelled',
  logMs: 'log',
};

/** Checks `retention` and `archive` as TaskQueue takes them; anything wrong is a ValidationError naming it. */
export function compactionConfig(
  retention: RetentionOptions | undefined,
  archive: Archive | false | undefined,
): CompactionConfig {
  // Typed, but JavaScript callers and config files pass anything.
  const value: unknown = retention;
  if (value !== undefined && (typeof value !== 'object' || value === null || Array.isArray(value)))
    throw new ValidationError('retention must be an object such as { finishedMs: 86400000 }');
  const given = retention ?? {};
  const ended: Partial<Record<EndedStatus, number>> = {};
  let logMs: number | undefined;
  for (const [name, value] of Object.entries(given) as [string, unknown][]) {
    const target = (KEYS as Record<string, EndedStatus | 'log' | undefined>)[name];
    if (!target)
      throw new ValidationError(`retention.${name} is not an option: use finishedMs, failedMs, cancelledMs or logMs`);
    if (value === undefined) continue;
    const ms = intOption(value as number, 0, `retention.${name}`, 1, MAX_RETENTION_MS);
    if (target === 'log') logMs = ms;
    else ended[target] = ms;
  }
  if (archive !== undefined && archive !== false && !isArchive(archive))
    throw new ValidationError('archive must be an Archive (FileArchive, S3Archive) or false');
  if (logMs !== undefined && archive === undefined)
    throw new ValidationError(
      'retention.logMs trims the log: give an archive (new FileArchive(dir)) to keep the trimmed events, ' +
        'or archive: false to waive the audit trail beyond retention',
    );
  return { ended, logMs, archive: archive || null, retention: given };
}

function isArchive(value: unknown): value is Archive {
  const a = value as Partial<Archive> | null;
  return typeof a === 'object' && a !== null && typeof a.append === 'function' && typeof a.lastId === 'function';
}

/** Whether compaction has anything to do. */
export const hasRetention = (config: CompactionConfig): boolean =>
  config.logMs !== undefined || Object.keys(config.ended).length > 0;
