import { CronExpressionParser } from 'cron-parser';
import { ValidationError } from '../errors.js';

export type CatchUp = 'one' | 'all' | 'none';
export const CATCH_UP: readonly CatchUp[] = ['one', 'all', 'none'];

/** Checks an IANA timezone name; throws ValidationError quoting it. */
export function validateTimezone(timezone: string): string {
  if (typeof timezone !== 'string' || timezone.trim() === '') throw new ValidationError('timezone is blank');
  try {
    // The canonical spelling ('utc' -> 'UTC'), so instances spelling it differently agree on one schedule.
    return new Intl.DateTimeFormat('en-US', { timeZone: timezone.trim() }).resolvedOptions().timeZone;
  } catch {
    throw new ValidationError(`unknown timezone "${timezone}" (use an IANA name such as "Europe/Berlin" or "UTC")`);
  }
}

/**
 * Checks a cron expression: 5 fields, 6 with seconds first, or an alias such as @hourly. Throws
 * ValidationError quoting the expression (cron-parser reads a blank one as "every minute": refused here).
 * Returns it with its spaces normalised, so instances spelling it differently agree on one schedule.
 */
export function validateCron(cron: string, timezone = 'UTC'): string {
  if (typeof cron !== 'string' || cron.trim() === '') throw new ValidationError('cronSchedule is blank');
  validateTimezone(timezone);
  const fields = cron.trim().split(/\s+/);
  if (!cron.trim().startsWith('@') && (fields.length < 5 || fields.length > 6)) {
    throw new ValidationError(`invalid cron "${cron}": expected 5 fields (6 with seconds), got ${fields.length}`);
  }
  // cron-parser's "H" picks a random value at every parse: each run would land somewhere else.
  if (fields.some((f) => /(^|[,/(])H($|[,/(])/i.test(f))) {
    throw new ValidationError(`invalid cron "${cron}": "H" (a hashed value) is not supported; give the value`);
  }
  try {
    CronExpressionParser.parse(cron, { tz: timezone, currentDate: new Date() }).next();
  } catch (err) {
    throw new ValidationError(`invalid cron "${cron}": ${(err as Error).message}`);
  }
  return fields.join(' ');
}

/** The first run time strictly after `after` (ms), in the schedule's timezone. */
export function nextRun(cron: string, timezone: string, after: number): number {
  validateCron(cron, timezone);
  if (!Number.isFinite(after)) throw new ValidationError('nextRun: after must be a time in ms');
  return CronExpressionParser.parse(cron, { tz: timezone, currentDate: new Date(after) })
    .next()
    .getTime();
}

/** The latest run time at or before `at` (ms), or null when there is none. */
export function previousRun(cron: string, timezone: string, at: number): number | null {
  try {
    return CronExpressionParser.parse(cron, { tz: timezone, currentDate: new Date(at + 1) })
      .prev()
      .getTime();
  } catch {
    return null;
  }
}

export interface TickPlan {
  /** The tick the emitted task carries, or null to skip without enqueueing. */
  tick: number | null;
  /** The next run time after this emission. */
  next: number;
}

/**
 * What to do with a schedule whose run time `expected` has come, at time `now`:
 * - on time (within `graceMs`): run that tick;
 * - missed ticks (all instances were down): 'one' runs once for the latest missed tick (as the Go original
 *   collapses them), 'all' runs each in turn (this call runs the oldest), 'none' skips to the next future one.
 */
export function planTick(
  cron: string,
  timezone: string,
  catchUp: CatchUp,
  expected: number,
  now: number,
  graceMs: number,
): TickPlan {
  if (now - expected <= graceMs || catchUp === 'all')
    return { tick: expected, next: nextRun(cron, timezone, expected) };
  const next = nextRun(cron, timezone, now);
  if (catchUp === 'none') return { tick: null, next };
  const latest = previousRun(cron, timezone, now);
  return { tick: latest !== null && latest > expected ? latest : expected, next };
}
