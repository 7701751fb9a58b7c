import { enter, type Context } from '../context.js';
import { queueOf } from './queue-of.js';
import { ValidationError } from '../errors.js';
import { toJsonText, validateTaskId } from '../validation.js';
import type { JsonValue } from '../types.js';
import { heldLease, settle, type LeaseOptions } from './lease.js';

export interface RetryLaterOptions extends LeaseOptions {
  /** Delay before the task is due again, in ms (Redis clock). */
  delayMs: number;
  /** The error that ended this attempt (recorded in the `retrying` event). */
  error: string;
  /** Progress to record with it, typically `{ error, ...lastProgress }`. */
  progress?: JsonValue;
}

/**
 * A running task whose attempt failed goes back to waiting, due after `delayMs` (a `retrying` event);
 * refused unless it is running and still ours. The worker calls this for handler errors with retries left.
 */
export async function retryLater(ctx: Context, taskId: string, options: RetryLaterOptions): Promise<void> {
  validateTaskId(taskId);
  if (!Number.isInteger(options.delayMs) || options.delayMs < 0) throw new ValidationError('delayMs must be a whole number of ms >= 0');
  const progress = toJsonText(options.progress ?? { error: options.error }, 'progress');
  await enter(ctx);
  const queue = await queueOf(ctx, taskId);
  const held = heldLease(ctx, taskId, options);
  const k = ctx.keys;
  const code = Number(
    await ctx.scripts.retry(k.events, k.running, k.task(taskId), k.delayed(queue), k.wake, taskId, held, options.delayMs, String(options.error), progress, queue),
  );
  settle(ctx, taskId, code, held, true);
}
