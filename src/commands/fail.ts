import type { JsonValue } from '../types.js';
import type { WriteContext } from './context.js';
import { guardedWrite } from './guarded-write.js';
import type { FailOptions } from './outcomes.js';

/**
 * Marks a running task failed, with optional final progress and its error; refused unless it is running
 * and still ours. A resend by the same lease after a lost reply succeeds and writes nothing.
 */
export function fail(ctx: WriteContext, taskId: string, progress?: JsonValue, options?: FailOptions): Promise<void> {
  return guardedWrite(ctx, 'fail', taskId, progress, options, options?.error);
}
