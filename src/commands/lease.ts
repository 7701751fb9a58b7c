import { LuaCode, throwOnCode } from '../errors.js';
import type { Context } from '../context.js';

export interface LeaseOptions {
  /**
   * The attempt the caller holds. Defaults to the attempt this TaskQueue started the task with; a task this
   * instance did not start is written without a fence (any process may report on any task, as in the Go
   * original).
   */
  attempt?: number;
}

/** The fencing token to send: the held attempt, or '' for none. */
export function heldAttempt(ctx: Context, taskId: string, options?: LeaseOptions): string {
  const held = options?.attempt ?? ctx.leases.get(taskId);
  return held === undefined ? '' : String(held);
}

/**
 * Interprets a guarded script's answer: forgets the lease when the task is no longer ours (or is done),
 * then throws the error the code stands for.
 */
export function settle(ctx: Context, taskId: string, code: number, held: string, done: boolean): void {
  if (code !== LuaCode.OK || done) ctx.leases.delete(taskId);
  throwOnCode(code, taskId, held === '' ? undefined : Number(held));
}
