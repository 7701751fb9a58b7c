import type { JsonValue } from '../types.js';
import type { WriteContext } from './context.js';
import { guardedWrite } from './guarded-write.js';
import type { LeaseOptions } from './leases.js';

/** Marks a running task finished, with optional final progress; refused unless it is running and still ours. */
export function finish(ctx: WriteContext, taskId: string, progress?: JsonValue, options?: LeaseOptions): Promise<void> {
  return guardedWrite(ctx, 'finish', taskId, progress, options);
}
