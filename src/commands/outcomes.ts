import { ValidationError } from '../errors.js';
import { toJsonText } from '../validation.js';
import type { JsonValue, TaskError } from '../types.js';
import type { LeaseOptions } from './leases.js';

export interface FinishOptions extends LeaseOptions {
  /** What the task produced (`Task.result`); the second argument of finish() stays its progress. */
  result?: JsonValue;
}

export interface FailOptions extends LeaseOptions {
  /** Why the attempt failed (`Task.error`): an Error keeps its message, string `code` and stack. */
  error?: Error | TaskError | string;
}

/** An attempt's error as stored: an Error's message, its `code` when a string, its stack. */
export function toTaskError(error: unknown): TaskError {
  if (typeof error === 'string') return { message: error };
  if (typeof error !== 'object' || error === null || typeof (error as TaskError).message !== 'string')
    throw new ValidationError('error must be an Error, a string or { message, code?, stack? }');
  const { message, code, stack } = error as { message: string; code?: unknown; stack?: unknown };
  const out: TaskError = { message };
  if (typeof code === 'string') out.code = code;
  if (typeof stack === 'string') out.stack = stack;
  return out;
}

/** The JSON text of an attempt's error, or undefined for none. */
export const errorText = (error: unknown): string | undefined =>
  error === undefined ? undefined : JSON.stringify(toTaskError(error));

/** The JSON text of a finish's result, or undefined for none. */
export const resultText = (result: JsonValue | undefined, maxBytes = Infinity): string | undefined =>
  result === undefined ? undefined : toJsonText(result, 'result', maxBytes);
