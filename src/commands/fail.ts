import { enter, type Context } from '../context.js';
import { progressText, validateTaskId } from '../validation.js';
import type { JsonValue } from '../types.js';
import { heldLease, settle, type LeaseOptions } from './lease.js';

/** Marks a running task failed, with optional final progress; refused unless it is running and still ours. */
export async function fail(ctx: Context, taskId: string, progress?: JsonValue, options?: LeaseOptions): Promise<void> {
  validateTaskId(taskId);
  const text = progressText(progress);
  await enter(ctx);
  const held = heldLease(ctx, taskId, options);
  const code = await ctx.batches.fail.add({ taskId, lease: held, progress: text });
  settle(ctx, taskId, code, held, true);
}
