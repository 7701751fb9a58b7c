import { ValidationError } from './errors.js';

/**
 * Checks an options object at the public boundary: undefined, or a plain object holding only the keys
 * named. A misspelt or unknown option would otherwise be dropped without a word (`delay` for `delayMs`).
 */
export function knownKeys(value: unknown, allowed: readonly string[], what: string, required = false): void {
  if (value === undefined && !required) return;
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ValidationError(`${what} must be an object`);
  for (const key in value) {
    if (Object.hasOwn(value, key) && !allowed.includes(key))
      throw new ValidationError(`${what} has an unknown key "${key}"; the keys are ${allowed.join(', ')}`);
  }
}
