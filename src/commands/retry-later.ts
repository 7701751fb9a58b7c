import { ValidationError } from '../errors.js';
import { toJsonText, validateTaskId } from '../validation.js';
import type { JsonValue, TaskError } from '../types.js';
import { MAX_DEADLINE_MS } from '../util/long-timer.js';
import { toTaskError } from './outcomes.js';
import type { WriteContext } from './context.js';
import type { LeaseOptions } from './leases.js';
import { queueOf } from './queue-of.js';

export interface RetryLaterOptions extends LeaseOptions {
  /** Delay before the task is due again, in ms (Redis clock). */
  delayMs: number;
  /**
   * The error that ended this attempt: recorded in the `retrying` event and the task's `error` (an Error
   * keeps its message, string `code` and stack).
   */
  error: Error | TaskError | string;
  /** The handler's latest progress, when it has not been written yet. */
  progress?: JsonValue;
}

/**
 * A running task whose attempt failed goes back to waiting, due after `delayMs` (a `retrying` event);
 * refused unless it is running and still ours. The worker calls this for handler errors with retries left.
 */
export async function retryLater(ctx: WriteContext, taskId: string, options: RetryLaterOptions): Promise<void> {
  validateTaskId(taskId);
  // Bounded as enqueue's delayMs is: a due time past Lua's exact integers would never come.
  if (!Number.isInteger(options.delayMs) || options.delayMs < 0 || options.delayMs > MAX_DEADLINE_MS)
    throw new ValidationError(`delayMs must be a whole number of ms from 0 to ${MAX_DEADLINE_MS} (ten years)`);
  // '' for none: no JSON text is empty.
  const progress =
    options.progress === undefined ? '' : toJsonText(options.progress, 'progress', ctx.settings.maxPayloadBytes);
  const failure = JSON.stringify(toTaskError(options.error));
  await ctx.life.whenOpen();
  const queue = await queueOf(ctx, taskId);
  const held = ctx.leases.held(taskId, options);
  const k = ctx.keys;
  const code = Number(
    await ctx.scripts.retryLater(
      k.events,
      k.running,
      k.task(taskId),
      k.delayed(queue),
      k.wake,
      k.controls,
      taskId,
      held,
      options.delayMs,
      failure,
      progress,
      queue,
    ),
  );
  ctx.leases.conclude(taskId, code, held, true);
}
