import { z } from 'zod';
import { PayloadTooLargeError, QueueNotSpecifiedError, TypeNotSpecifiedError, ValidationError } from './errors.js';
import type { EnqueueRequest, JsonValue, References } from './types.js';
import { MAX_DEADLINE_MS } from './util/long-timer.js';
import { MAX_PRIORITY } from './redis/keys.js';

export const MAX_NAME_LENGTH = 256;
export const MAX_REFERENCE_VALUE_LENGTH = 1024;
/** References per task: each is a set in Redis, written at enqueue and read at delete. */
export const MAX_REFERENCES = 32;
/** Nesting of arrays and objects in a spec, progress or result: checked before the value is walked further. */
export const MAX_JSON_DEPTH = 100;
/** Default of the TaskQueue option maxPayloadBytes: the JSON text of one spec, progress or result. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;
/** The most maxPayloadBytes may be: Redis refuses a string over 512 MB, and one call holds several. */
export const MAX_PAYLOAD_BYTES = 64 * 1024 * 1024;

/**
 * C0 and C1 controls and DEL break terminals, logs and key names; bidi marks, embeddings, overrides and
 * isolates make one name display as another. Names never need them.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/**
 * Why a name or key part cannot be used, or undefined. Ill-formed UTF-16 (a lone surrogate) is sent to Redis
 * as U+FFFD, so two different names would name one key.
 */
export function textProblem(s: string): string | undefined {
  if (!s.isWellFormed()) return 'is not well-formed Unicode (it holds a lone surrogate)';
  if (CONTROL.test(s)) return 'holds a control or bidi character';
  return undefined;
}

/** Throws when a name or key part cannot be used (textProblem). Outside zod: a refinement there costs more. */
function checkText(s: string, what: string): void {
  const problem = textProblem(s);
  if (problem) throw new ValidationError(`${what} ${problem}`);
}

/**
 * Checks the text of reference names and string values (parts of keys), after their types were checked,
 * and their number before that: 20,000 references would be 20,000 keys.
 */
function checkReferenceCount(refs: unknown, where: string): void {
  if (typeof refs !== 'object' || refs === null) return; // the schema says what is wrong
  const count = Object.keys(refs).length;
  if (count > MAX_REFERENCES)
    throw new ValidationError(
      `${where}references has ${count} names; at most ${MAX_REFERENCES} are allowed (each is a set in Redis)`,
    );
}

function checkReferenceText(refs: References, where: string): void {
  for (const name in refs) {
    checkText(name, `${where}references: the name ${JSON.stringify(name.slice(0, 40))}`);
    const value = refs[name];
    if (typeof value === 'string') checkText(value, `${where}references.${name}: the value`);
  }
}

const name = (what: string) =>
  z
    .string({ error: `${what} must be a string` })
    .max(MAX_NAME_LENGTH, { error: `${what} is longer than ${MAX_NAME_LENGTH} characters` });

function msSchema(what: string) {
  return z
    .number({ error: `${what} must be a number of milliseconds` })
    .int({ error: `${what} must be a whole number of milliseconds` })
    .min(0, { error: `${what} must not be negative` })
    .max(MAX_DEADLINE_MS, { error: `${what} is more than ten years` });
}

const referenceValue = z.union(
  [
    // A string value is part of its reference set's key (its text is checked by checkReferenceText).
    z.string().max(MAX_REFERENCE_VALUE_LENGTH, { error: `is longer than ${MAX_REFERENCE_VALUE_LENGTH} characters` }),
    z.number().refine(Number.isFinite, { error: 'is not a finite number' }),
    z.boolean(),
  ],
  { error: 'must be a string, a number or a boolean (references are flat)' },
);

const referencesSchema = z.record(
  name('a reference name').min(1, { error: 'a reference name is blank' }),
  referenceValue,
  {
    error: 'references must be an object of names to strings, numbers or booleans',
  },
);

const backoffSchema = z.strictObject(
  {
    type: z.enum(['exponential', 'fixed'], { error: "backoff.type must be 'exponential' or 'fixed'" }).optional(),
    delayMs: msSchema('backoff.delayMs').optional(),
    maxDelayMs: msSchema('backoff.maxDelayMs').optional(),
    jitter: z
      .number({ error: 'backoff.jitter must be a number' })
      .min(0)
      .max(1, { error: 'backoff.jitter must be between 0 and 1' })
      .optional(),
  },
  { error: 'backoff must be an object with type, delayMs, maxDelayMs and jitter' },
);

/** Checks backoff options (the worker's default retry uses the same rules as enqueue). */
export function validateBackoff(backoff: unknown): void {
  const parsed = backoffSchema.safeParse(backoff);
  if (!parsed.success) throw new ValidationError(zodMessage(parsed.error));
}

/** A priority level: 0 (the default) to MAX_PRIORITY, higher first. */
export const prioritySchema = z
  .number({ error: `priority must be a whole number from 0 to ${MAX_PRIORITY}` })
  .int({ error: `priority must be a whole number from 0 to ${MAX_PRIORITY}` })
  .min(0, { error: `priority must be a whole number from 0 to ${MAX_PRIORITY}` })
  .max(MAX_PRIORITY, { error: `priority must be a whole number from 0 to ${MAX_PRIORITY}` });

// Strict: a misspelt field (`delay` for `delayMs`) would otherwise be dropped, and the task run at once.
const requestSchema = z.strictObject({
  id: name('id')
    .refine((s) => s.trim() !== '', { error: 'id is blank' })
    .optional(),
  queue: name('queue'),
  type: name('type'),
  spec: z.unknown().optional(), // checked by toJsonText
  references: referencesSchema.optional(),
  maxAttempts: z
    .number()
    .int({ error: 'maxAttempts must be an integer' })
    .min(1, { error: 'maxAttempts must be at least 1' })
    .optional(),
  backoff: backoffSchema.optional(),
  delayMs: msSchema('delayMs').optional(),
  runAt: z
    .union([z.date(), z.number()], { error: 'runAt must be a Date or a time in ms' })
    .refine((v) => Number.isFinite(typeof v === 'number' ? v : v.getTime()), { error: 'runAt is not a valid time' })
    // Redis keeps due times as integers: a time past them would never come due.
    .refine((v) => Number.isInteger(Number(v)), { error: 'runAt must be a whole number of ms' })
    .refine((v) => Number(v) >= 0 && Number(v) <= Date.now() + MAX_DEADLINE_MS, {
      error: 'runAt must be from 1970 to ten years from now',
    })
    .optional(),
  timeoutMs: msSchema('timeoutMs')
    .refine((v) => v > 0, { error: 'timeoutMs must be positive' })
    .optional(),
  priority: prioritySchema.optional(),
  partitionKey: name('partitionKey')
    .refine((s) => s.trim() !== '', { error: 'partitionKey is blank' })
    .optional(),
  dedup: z
    .strictObject({
      key: name('dedup.key').refine((s) => s.trim() !== '', { error: 'dedup.key is blank' }),
      ttlMs: msSchema('dedup.ttlMs')
        .refine((v) => v > 0, { error: 'dedup.ttlMs must be positive' })
        .optional(),
      replace: z.boolean({ error: 'dedup.replace must be a boolean' }).optional(),
    })
    .optional(),
});

function zodMessage(err: z.ZodError): string {
  return err.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
}

/**
 * Serialises a value as JSON, refusing anything JSON would silently change or drop: undefined, functions,
 * symbols, BigInt, NaN and Infinity, Dates and other class instances, cycles. The message names the path.
 * Nesting deeper than MAX_JSON_DEPTH is refused before it is walked (a deep value would overflow the stack
 * here or in JSON.stringify), and text longer than `maxBytes` in UTF-8 with PayloadTooLargeError.
 */
export function toJsonText(value: unknown, what: string, maxBytes = Infinity): string {
  const seen = new Set<object>();
  // The path to the value being checked, joined into text only for an error: most values have none.
  const path: (string | number)[] = [];
  const at = () => what + path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('');
  const check = (v: unknown): void => {
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return;
      case 'number':
        if (!Number.isFinite(v)) throw new ValidationError(`${at()} is ${v}, which JSON cannot hold`);
        return;
      case 'object': {
        if (v === null) return;
        if (seen.has(v)) throw new ValidationError(`${at()} is circular: JSON cannot hold it`);
        if (path.length >= MAX_JSON_DEPTH)
          throw new ValidationError(`${what} is nested more than ${MAX_JSON_DEPTH} levels deep`);
        const proto: unknown = Object.getPrototypeOf(v);
        if (Array.isArray(v)) {
          seen.add(v);
          for (let i = 0; i < v.length; i++) {
            path.push(i);
            check(v[i]);
            path.pop();
          }
        } else if (proto === Object.prototype || proto === null) {
          seen.add(v);
          for (const k in v) {
            if (!Object.prototype.hasOwnProperty.call(v, k)) continue;
            path.push(k);
            check((v as Record<string, unknown>)[k]);
            path.pop();
          }
        } else {
          // Not every prototype chain has a constructor (Object.create(Object.create(null)), say).
          const kind = (v as { constructor?: { name?: string } }).constructor?.name ?? 'object';
          throw new ValidationError(`${at()} is a ${kind}, not a plain JSON value`);
        }
        seen.delete(v);
        return;
      }
      default:
        throw new ValidationError(
          `${at()} is ${v === undefined ? 'undefined' : `a ${typeof v}`}, which JSON cannot hold`,
        );
    }
  };
  check(value);
  const text = JSON.stringify(value);
  // UTF-8 takes 1 to 3 bytes per UTF-16 unit: most texts are decided by their length, without counting.
  if (text.length * 3 > maxBytes) {
    const bytes = Buffer.byteLength(text);
    if (bytes > maxBytes) throw new PayloadTooLargeError(what, bytes, maxBytes);
  }
  return text;
}

export interface ValidRequest {
  id: string | undefined;
  queue: string;
  type: string;
  specJson: string;
  references: References;
  referencesJson: string;
  maxAttempts: number | undefined;
  delayMs: number | undefined;
  runAt: number | undefined;
  /** JSON of the retry backoff when the task opted into retries, else undefined. */
  backoffJson: string | undefined;
  timeoutMs: number | undefined;
  /** 1 to MAX_PRIORITY, or undefined for 0. */
  priority: number | undefined;
  dedup: { key: string; ttlMs: number | undefined; replace: boolean } | undefined;
  /** Sends the task to the partition this key routes to (§20); nothing is stored of it. */
  partitionKey: string | undefined;
}

const isBlank = (v: unknown) => v === undefined || v === null || (typeof v === 'string' && v.trim() === '');

/** Checks an enqueue request at the boundary. Blank queue is reported first, then blank type. */
export function validateRequest(req: EnqueueRequest, index?: number, maxPayloadBytes = Infinity): ValidRequest {
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the public boundary: a JavaScript caller can pass anything
  if (typeof req !== 'object' || req === null) throw new ValidationError('an enqueue request must be an object');
  if (isBlank(req.queue)) throw new QueueNotSpecifiedError();
  if (isBlank(req.type)) throw new TypeNotSpecifiedError();
  if (req.delayMs !== undefined && req.runAt !== undefined)
    throw new ValidationError('give either delayMs or runAt, not both');
  const where = index === undefined ? '' : `request ${index}: `;
  checkReferenceCount(req.references, where);
  const parsed = requestSchema.safeParse(req);
  if (!parsed.success) throw new ValidationError(`${where}${zodMessage(parsed.error)}`);
  if (parsed.data.id !== undefined) checkText(parsed.data.id, `${where}id`);
  checkText(parsed.data.queue, `${where}queue`);
  checkText(parsed.data.type, `${where}type`);
  const references = parsed.data.references ?? {};
  checkReferenceText(references, where);
  return {
    id: parsed.data.id,
    queue: parsed.data.queue,
    type: parsed.data.type,
    specJson: toJsonText(req.spec === undefined ? null : req.spec, `${where}spec`, maxPayloadBytes),
    references,
    referencesJson: JSON.stringify(references),
    maxAttempts: parsed.data.maxAttempts,
    delayMs: parsed.data.delayMs,
    runAt: parsed.data.runAt === undefined ? undefined : Number(parsed.data.runAt),
    backoffJson:
      parsed.data.backoff !== undefined || parsed.data.maxAttempts !== undefined
        ? JSON.stringify(parsed.data.backoff ?? {})
        : undefined,
    timeoutMs: parsed.data.timeoutMs,
    priority: parsed.data.priority || undefined,
    dedup: dedupOf(parsed.data.dedup, where),
    partitionKey: parsed.data.partitionKey,
  };
}

function dedupOf(
  d: { key: string; ttlMs?: number | undefined; replace?: boolean | undefined } | undefined,
  where: string,
): ValidRequest['dedup'] {
  if (d === undefined) return undefined;
  checkText(d.key, `${where}dedup.key`);
  return { key: d.key, ttlMs: d.ttlMs, replace: d.replace ?? false };
}

/** Checks a progress value (optional: undefined means "no new progress"). */
export function progressText(progress: JsonValue | undefined, maxPayloadBytes = Infinity): string | undefined {
  return progress === undefined ? undefined : toJsonText(progress, 'progress', maxPayloadBytes);
}

export function validateReferences(refs: unknown, allowNone = false): References {
  checkReferenceCount(refs, '');
  const parsed = referencesSchema.safeParse(refs);
  if (!parsed.success) throw new ValidationError(zodMessage(parsed.error));
  checkReferenceText(parsed.data, '');
  if (Object.keys(parsed.data).length === 0 && !allowNone)
    throw new ValidationError('references must name at least one reference');
  return parsed.data;
}

export function validateTaskId(id: unknown): string {
  if (typeof id !== 'string' || id.trim() === '') throw new ValidationError('a task id must be a non-blank string');
  if (id.length > MAX_NAME_LENGTH) throw new ValidationError(`a task id is at most ${MAX_NAME_LENGTH} characters`);
  const problem = textProblem(id);
  if (problem) throw new ValidationError(`the task id ${JSON.stringify(id.slice(0, 40))} ${problem}`);
  return id;
}

/** Checks a queue, type or other name given on its own (not in an enqueue request). */
export function validateName(value: unknown, what: string): string {
  const parsed = name(what).safeParse(value);
  if (!parsed.success) throw new ValidationError(zodMessage(parsed.error));
  checkText(parsed.data, what);
  return parsed.data;
}

export const NAMESPACE_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

export function validateQueueNames(queues: readonly string[]): string[] {
  const given: unknown = queues; // the public boundary: a JavaScript caller can pass anything
  if (!Array.isArray(given)) throw new ValidationError('queues must be an array of queue names');
  return queues.map((q) => {
    if (isBlank(q)) throw new QueueNotSpecifiedError();
    const parsed = name('queue').safeParse(q);
    if (!parsed.success) throw new ValidationError(zodMessage(parsed.error));
    checkText(parsed.data, 'queue');
    return parsed.data;
  });
}

/** An integer option within bounds, or its default; the message names the option and the bad value. */
export function intOption(
  value: number | undefined,
  fallback: number,
  what: string,
  min: number,
  max = Infinity,
): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ValidationError(
      `${what} must be an integer from ${min}${max < Infinity ? ` to ${max}` : ' up'}, got ${String(value)}`,
    );
  }
  return n;
}

/**
 * A reference value typed as text (`name=value` on the command line, a dashboard filter): a JSON number,
 * boolean or quoted string is that value, anything else the text itself (references match by type too).
 */
export function parseReferenceValue(raw: string): string | number | boolean {
  try {
    const parsed = JSON.parse(raw) as unknown;
    if (typeof parsed === 'number' || typeof parsed === 'boolean' || typeof parsed === 'string') return parsed;
  } catch {
    // a plain string
  }
  return raw;
}
