import { progressText, validateTaskId } from '../validation.js';
import { checkLease } from './leases.js';
import type { JsonValue } from '../types.js';
import type { WriteContext } from './context.js';
import type { LeaseOptions } from './leases.js';

/**
 * A write guarded by the task's status and the caller's lease (finish, fail, heartbeat), sent with the
 * other calls of the same kind made at about the same time.
 */
export async function guardedWrite(
  ctx: WriteContext,
  kind: 'finish' | 'fail' | 'heartbeat',
  taskId: string,
  progress: JsonValue | undefined,
  options: LeaseOptions | undefined,
): Promise<void> {
  validateTaskId(taskId);
  if (options !== undefined) checkLease(options);
  const text = progressText(progress, ctx.settings.maxPayloadBytes);
  const wait = ctx.life.whenOpen();
  if (wait) await wait;
  const held = ctx.leases.held(taskId, options);
  const code = await ctx.writes[kind].add({ taskId, lease: held, progress: text });
  ctx.leases.conclude(taskId, code, held, kind !== 'heartbeat');
}
