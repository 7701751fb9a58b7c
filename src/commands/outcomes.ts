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

/**
 * The most characters of an attempt's error kept in the task and its event: a message, a code, a stack.
 * An error is cut to fit rather than refused (its failure must still be written), with a mark where it was cut.
 */
export const MAX_ERROR_TEXT = { message: 4096, code: 256, stack: 16_384 } as const;

function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  // Never between the two halves of a surrogate pair: a lone half would reach Redis as U+FFFD.
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}

/** An attempt's error as stored: an Error's message, its `code` when a string, its stack; each cut to its bound. */
export function toTaskError(error: unknown): TaskError {
  if (typeof error === 'string') return { message: cut(error, MAX_ERROR_TEXT.message) };
  if (typeof error !== 'object' || error === null || typeof (error as TaskError).message !== 'string')
    throw new ValidationError('error must be an Error, a string or { message, code?, stack? }');
  const { message, code, stack } = error as { message: string; code?: unknown; stack?: unknown };
  const out: TaskError = { message: cut(message, MAX_ERROR_TEXT.message) };
  if (typeof code === 'string') out.code = cut(code, MAX_ERROR_TEXT.code);
  if (typeof stack === 'string') out.stack = cut(stack, MAX_ERROR_TEXT.stack);
  return out;
}

/** The JSON text of an attempt's error, or undefined for none. */
export const errorText = (error: unknown): string | undefined =>
  error === undefined ? undefined : JSON.stringify(toTaskError(error));

/** The JSON text of a finish's result, or undefined for none. */
export const resultText = (result: JsonValue | undefined, maxBytes = Infinity): string | undefined =>
  result === undefined ? undefined : toJsonText(result, 'result', maxBytes);
