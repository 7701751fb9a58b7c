import { hostname } from 'node:os';
import type { ReadContext } from '../context/read-context.js';
import { ValidationError } from '../errors.js';
import { knownKeys } from '../known-keys.js';
import { validateName } from '../validation.js';
import { MAX_TIMER_MS } from '../util/long-timer.js';
import type { QueueOptions, QueueOptionsChange } from '../types.js';

/** The largest concurrency cap, and the most starts one rate window may hold (the rate set holds as many). */
export const MAX_CONCURRENCY = 1_000_000;
export const MAX_RATE = 100_000;

type Action = 'set' | 'pause' | 'resume';

/** The script's value for one option: '' keeps it, '-' removes it. */
const KEEP = '';
const REMOVE = '-';

function positiveInt(value: unknown, field: string, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max)
    throw new ValidationError(`${field} must be a whole number from 1 to ${max}`);
  return value;
}

/** The change as the script's ARGV (concurrency, rate, aging), checked: a ValidationError names the field. */
export function encodeChange(change: QueueOptionsChange): [string, string, string] {
  knownKeys(change, ['concurrency', 'rateLimit', 'agingMs'], 'queue options', true);
  const c = change.concurrency;
  const concurrency =
    c === undefined ? KEEP : c === null ? REMOVE : String(positiveInt(c, 'concurrency', MAX_CONCURRENCY));
  let rate = KEEP;
  const r: unknown = change.rateLimit;
  if (r === null) rate = REMOVE;
  else if (r !== undefined) {
    knownKeys(r, ['max', 'perMs'], 'rateLimit', true);
    const { max, perMs } = r as { max?: unknown; perMs?: unknown };
    rate = `${positiveInt(max, 'rateLimit.max', MAX_RATE)} ${positiveInt(perMs, 'rateLimit.perMs', MAX_TIMER_MS)}`;
  }
  const a = change.agingMs;
  const aging = a === undefined ? KEEP : a === null ? REMOVE : String(positiveInt(a, 'agingMs', MAX_TIMER_MS));
  return [concurrency, rate, aging];
}

/** A queue name given to a control: blank is refused like any other bad field. */
export function checkQueue(queue: unknown): string {
  if (typeof queue === 'string' && queue.trim() === '') throw new ValidationError('queue must not be blank');
  return validateName(queue, 'queue');
}

/** Who made an operator change, as the log records it. */
export const operator = (): string => `${hostname()}:${process.pid}`;

async function change(ctx: ReadContext, queue: string, action: Action, values: [string, string, string]) {
  await ctx.life.whenOpen();
  const k = ctx.keys;
  const [changed, json] = (await ctx.scripts.queueOptions(
    k.events,
    k.controls,
    k.wake,
    k.rate(queue),
    queue,
    action,
    operator(),
    ...values,
  )) as [number, string];
  return { changed: changed === 1, options: JSON.parse(json) as QueueOptions };
}

/** Merges `changes` into the queue's controls (a `queue-options` event when it changes any); the options after. */
export async function setQueueOptions(
  ctx: ReadContext,
  queue: string,
  changes: QueueOptionsChange,
): Promise<QueueOptions> {
  checkQueue(queue);
  const values = encodeChange(changes);
  return (await change(ctx, queue, 'set', values)).options;
}

/** Pauses or resumes a queue; false when it was paused (resumed) already, and nothing was written. */
export async function pauseQueue(ctx: ReadContext, queue: string, paused: boolean): Promise<boolean> {
  checkQueue(queue);
  return (await change(ctx, queue, paused ? 'pause' : 'resume', [KEEP, KEEP, KEEP])).changed;
}
