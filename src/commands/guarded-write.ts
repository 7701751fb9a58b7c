import { progressText, validateTaskId } from '../validation.js';
import { checkLease } from './leases.js';
import type { JsonValue } from '../types.js';
import type { WriteContext } from './context.js';
import type { LeaseOptions } from './leases.js';
import { errorText, resultText } from './outcomes.js';

/** The keys of each kind's options: finish takes its result, fail its error. */
const OPTION_KEYS = { heartbeat: ['lease'], finish: ['lease', 'result'], fail: ['lease', 'error'] } as const;

/**
 * A write guarded by the task's status and the caller's lease (finish, fail, heartbeat), sent with the
 * other calls of the same kind made at about the same time. `outcome` is a finish's result or a fail's
 * error (checked here, so that a bad one rejects as the call's other checks do).
 */
export async function guardedWrite(
  ctx: WriteContext,
  kind: 'finish' | 'fail' | 'heartbeat',
  taskId: string,
  progress: JsonValue | undefined,
  options: LeaseOptions | undefined,
  outcome?: unknown,
): Promise<void> {
  validateTaskId(taskId);
  if (options !== undefined) checkLease(options, OPTION_KEYS[kind]);
  const maxBytes = ctx.settings.maxPayloadBytes;
  const text = progressText(progress, maxBytes);
  const outcomeText =
    kind === 'finish'
      ? resultText(outcome as JsonValue | undefined, maxBytes)
      : kind === 'fail'
        ? errorText(outcome)
        : undefined;
  const wait = ctx.life.whenOpen();
  if (wait) await wait;
  const held = ctx.leases.held(taskId, options);
  const code = await ctx.writes[kind].add({ taskId, lease: held, progress: text, outcome: outcomeText });
  ctx.leases.conclude(taskId, code, held, kind !== 'heartbeat');
}
