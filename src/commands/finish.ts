import type { Context } from '../context.js';
import type { JsonValue } from '../types.js';
import { guardedWrite, type LeaseOptions } from './lease.js';

/** Marks a running task finished, with optional final progress; refused unless it is running and still ours. */
export function finish(ctx: Context, taskId: string, progress?: JsonValue, options?: LeaseOptions): Promise<void> {
  return guardedWrite(ctx, 'finish', taskId, progress, options);
}
