import type { JsonValue } from '../types.js';
import type { WriteContext } from './context.js';
import { guardedWrite } from './guarded-write.js';
import type { FinishOptions } from './outcomes.js';

/**
 * Marks a running task finished, with optional final progress and its result; refused unless it is running
 * and still ours. A resend by the same lease after a lost reply succeeds and writes nothing.
 */
export function finish(
  ctx: WriteContext,
  taskId: string,
  progress?: JsonValue,
  options?: FinishOptions,
): Promise<void> {
  return guardedWrite(ctx, 'finish', taskId, progress, options, options?.result);
}
