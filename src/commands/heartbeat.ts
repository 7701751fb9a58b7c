import type { Context } from '../context.js';
import type { JsonValue } from '../types.js';
import { guardedWrite, type LeaseOptions } from './lease.js';

/** Reports a running task alive (and its progress); refused unless it is running and still ours. */
export function heartbeat(ctx: Context, taskId: string, progress?: JsonValue, options?: LeaseOptions): Promise<void> {
  return guardedWrite(ctx, 'heartbeat', taskId, progress, options);
}
