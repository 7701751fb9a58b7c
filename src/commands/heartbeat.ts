import type { JsonValue } from '../types.js';
import type { WriteContext } from './context.js';
import { guardedWrite } from './guarded-write.js';
import type { LeaseOptions } from './leases.js';

/** Reports a running task alive (and its progress); refused unless it is running and still ours. */
export function heartbeat(
  ctx: WriteContext,
  taskId: string,
  progress?: JsonValue,
  options?: LeaseOptions,
): Promise<void> {
  return guardedWrite(ctx, 'heartbeat', taskId, progress, options);
}
