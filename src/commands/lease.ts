import { LuaCode, throwOnCode } from '../errors.js';
import { enter, type Context } from '../context.js';
import { progressText, validateTaskId } from '../validation.js';
import type { JsonValue } from '../types.js';

export interface LeaseOptions {
  /**
   * The lease the caller holds: `task.lease` of the task dequeue() returned. Defaults to the lease this
   * TaskQueue last started the task with. Pass it explicitly when two holders in one process may hold the
   * same task (the worker does). A task this instance never started is written without a fence: any
   * process may report on any task, as in the Go original.
   */
  lease?: string;
}

/** Leases remembered per TaskQueue; the oldest are forgotten past this many. */
const MAX_LEASES = 100_000;

export function rememberLease(ctx: Context, taskId: string, lease: string): void {
  ctx.leases.delete(taskId);
  ctx.leases.set(taskId, lease);
  if (ctx.leases.size > MAX_LEASES) ctx.leases.delete(ctx.leases.keys().next().value!);
}

/** The fencing token to send: the held lease, or '' for none. */
export function heldLease(ctx: Context, taskId: string, options?: LeaseOptions): string {
  return options?.lease ?? ctx.leases.get(taskId) ?? '';
}

/**
 * Interprets a guarded script's answer. A lease is forgotten only when its own holder ends the task: after
 * a refusal it is kept, so later calls of the same stale holder stay fenced off.
 */
export function settle(ctx: Context, taskId: string, code: number, held: string, done: boolean): void {
  if (code === LuaCode.OK && done && ctx.leases.get(taskId) === held) ctx.leases.delete(taskId);
  throwOnCode(code, taskId);
}

/**
 * A write guarded by the task's status and the caller's lease (finish, fail, heartbeat), sent with the
 * other calls of the same kind made at about the same time. `ends` says whether it ends the attempt.
 */
export async function guardedWrite(
  ctx: Context,
  kind: 'finish' | 'fail' | 'heartbeat',
  taskId: string,
  progress: JsonValue | undefined,
  options: LeaseOptions | undefined,
): Promise<void> {
  validateTaskId(taskId);
  const text = progressText(progress);
  const wait = enter(ctx);
  if (wait) await wait;
  const held = heldLease(ctx, taskId, options);
  const code = await ctx.batches[kind].add({ taskId, lease: held, progress: text });
  settle(ctx, taskId, code, held, kind !== 'heartbeat');
}
