import type { BackoffOptions } from '../types.js';
import { ValidationError } from '../errors.js';
import { validateBackoff } from '../validation.js';

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
  const raw = o.type === 'fixed' ? o.delayMs : o.delayMs * 2 ** Math.max(0, attempt - 1);
  const capped = Math.min(o.maxDelayMs, raw);
  return Math.max(0, Math.round(capped * (1 + (2 * random() - 1) * o.jitter)));
}
