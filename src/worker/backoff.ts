import type { BackoffOptions } from '../types.js';
import { ValidationError } from '../errors.js';
import { validateBackoff } from '../validation.js';
import { MAX_DEADLINE_MS } from '../util/long-timer.js';

export const DEFAULT_BACKOFF: Required<BackoffOptions> = {
  type: 'exponential',
  delayMs: 1000,
  maxDelayMs: 3_600_000,
  jitter: 0.25,
};

/**
 * Delay before the retry that follows `attempt` (1 for the first failure): exponential or fixed, capped,
 * spread by +/- jitter so that tasks failing together do not all come back together.
 */
export function backoffDelay(
  options: BackoffOptions | null | undefined,
  attempt: number,
  random: () => number = Math.random,
): number {
  if (options !== null && options !== undefined) validateBackoff(options);
  if (!Number.isInteger(attempt) || attempt < 0)
    throw new ValidationError('backoffDelay: attempt must be a whole number from 0');
  if (typeof random !== 'function') throw new ValidationError('backoffDelay: random must be a function');
  const o = { ...DEFAULT_BACKOFF, ...(options ?? {}) };
  // The exponent is capped: past 2^1023 it would be Infinity, and 0 * Infinity is NaN.
  const raw = o.type === 'fixed' ? o.delayMs : o.delayMs * 2 ** Math.min(1000, Math.max(0, attempt - 1));
  const capped = Math.min(o.maxDelayMs, raw);
  // Jitter may take a ten-year cap past ten years, which retryLater refuses: the result is capped again.
  return Math.max(0, Math.min(MAX_DEADLINE_MS, Math.round(capped * (1 + (2 * random() - 1) * o.jitter))));
}
