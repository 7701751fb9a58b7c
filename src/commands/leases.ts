import { LuaCode, throwOnCode, ValidationError } from '../errors.js';
import { knownKeys } from '../known-keys.js';

export interface LeaseOptions {
  /**
   * The lease the caller holds: `task.lease` of the task dequeue() returned. Defaults to the lease this
   * TaskQueue last started the task with. Pass it explicitly when two holders in one process may hold the
   * same task (the worker does). A task this instance never started is written without a fence: any
   * process may report on any task, as in the Go original.
   */
  lease?: string;
}

/** Checks lease options given at the public boundary. */
/** release()'s options: the lease, and a hold on the task's queue (what a RateLimitedError asks for). */
export interface ReleaseOptions extends LeaseOptions {
  /**
   * Also holds the task's queue for this many ms (Redis clock): no task of it starts, across every worker,
   * and this start does not count as an attempt (a `requeued` event with reason `rate-limited`).
   */
  holdMs?: number;
}

export function checkLease(options: LeaseOptions | undefined, keys: readonly string[] = ['lease']): void {
  knownKeys(options, keys, 'options');
  if (options?.lease !== undefined && typeof options.lease !== 'string')
    throw new ValidationError('options.lease must be a string (a task.lease)');
}

/** Leases remembered per TaskQueue; the oldest are forgotten past this many. */
const MAX_LEASES = 100_000;

/** The lease (fencing token) this instance holds for each task it started, bounded to MAX_LEASES. */
export class LeaseBook {
  private readonly leases = new Map<string, string>();

  remember(taskId: string, lease: string): void {
    this.leases.delete(taskId);
    this.leases.set(taskId, lease);
    if (this.leases.size > MAX_LEASES) this.leases.delete(this.leases.keys().next().value!);
  }

  /** The fencing token to send: the lease given, else the one held, else '' for none. */
  held(taskId: string, options?: LeaseOptions): string {
    return options?.lease ?? this.leases.get(taskId) ?? '';
  }

  /**
   * Interprets a guarded script's answer, throwing the error its code stands for. A lease is forgotten only
   * when its own holder ends the task: after a refusal it is kept, so later calls of the same stale holder
   * stay fenced off.
   */
  conclude(taskId: string, code: number, held: string, ends: boolean): void {
    if (code === LuaCode.OK && ends && this.leases.get(taskId) === held) this.leases.delete(taskId);
    throwOnCode(code, taskId);
  }
}
