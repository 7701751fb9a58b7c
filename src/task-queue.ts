import type { Connection, ConnectionOption } from './connection.js';
import { createContext, enter, type Context } from './context.js';
import type { TaskDefinition } from './task-definition.js';
import { intOption } from './validation.js';
import { enqueueMany } from './commands/enqueue.js';
import { dequeue, giveBack, takeBatch, type DequeueOptions, type PrefetchBuffer } from './commands/dequeue.js';
import { heartbeat } from './commands/heartbeat.js';
import { finish } from './commands/finish.js';
import { fail } from './commands/fail.js';
import { cancel } from './commands/cancel.js';
import { release } from './commands/release.js';
import { retry } from './commands/retry.js';
import { retryLater, type RetryLaterOptions } from './commands/retry-later.js';
import { recover, type RecoveryReport } from './commands/recover.js';
import { deleteByReference } from './commands/delete-by-reference.js';
import type { LeaseOptions } from './commands/lease.js';
import { get } from './projections/get.js';
import { history } from './projections/history.js';
import { events, type EventsOptions } from './projections/events.js';
import { verify, type FoldProgressOptions, type VerifyReport } from './projections/verify.js';
import { stats, type QueueStats } from './projections/stats.js';
import { rebuild, type RebuildReport } from './projections/rebuild.js';
import type { EnqueueRequest, JsonValue, References, Task, TaskEvent } from './types.js';

export interface TaskQueueOptions {
  /** A Redis URL, or an ioredis Redis or Cluster the caller owns. Default: REDIS_URL or redis://127.0.0.1:6379. */
  connection?: ConnectionOption;
  /** Prefix (and hash tag) of every key. Default 'taskledger'. */
  namespace?: string;
  /** A running task with no heartbeat for this long is stalled and re-queued. Default 30000. */
  heartbeatTtlMs?: number;
  /** Starts a task gets before a stall fails it (per task at enqueue, else this). Default 3. */
  maxAttempts?: number;
  /** Task types declared with defineTask(): enqueue checks their specs against the schema. */
  tasks?: readonly TaskDefinition[];
  /** How long the first round trip may take before RedisUnavailableError. Default 5000. */
  connectTimeoutMs?: number;
  /** How often this instance looks for stalled and undelivered tasks; 0 turns recovery off. Default min(ttl/2, 5000). */
  recoveryIntervalMs?: number;
  /** A claimed entry not started within this long was lost by its reader and is given back. Default 10000. */
  deliveryTimeoutMs?: number;
}

/**
 * The queue: Queuer and Dequeuer of the Go original, on Redis Streams. Every transition is one Lua call that
 * checks the task's status, appends an event to the log and folds it into the task's hash.
 */
export class TaskQueue {
  readonly namespace: string;
  private readonly ctx: Context;
  private readonly owned: boolean;
  private recoveryTimer: NodeJS.Timeout | undefined;
  private recovering: Promise<unknown> = Promise.resolve();
  private closing: Promise<void> | undefined;

  constructor(options: TaskQueueOptions = {}) {
    const { ctx, owned } = createContext(options);
    const recoveryIntervalMs = intOption(
      options.recoveryIntervalMs,
      Math.min(Math.floor(ctx.heartbeatTtlMs / 2), 5000),
      'recoveryIntervalMs',
      0,
    );
    this.namespace = ctx.keys.namespace;
    this.owned = owned;
    this.ctx = ctx;
    // The first round trip starts now; every command awaits it (and an unreachable Redis is tried again).
    enter(this.ctx)?.catch(() => {});
    if (recoveryIntervalMs > 0) {
      this.recoveryTimer = setInterval(() => {
        this.recovering = this.recoverNow().catch(() => {});
      }, recoveryIntervalMs);
      this.recoveryTimer.unref();
    }
    this.recoveryIntervalMs = recoveryIntervalMs;
  }

  private readonly recoveryIntervalMs: number;

  get heartbeatTtlMs(): number {
    return this.ctx.heartbeatTtlMs;
  }

  /** The declared definition of a task type, if any. */
  definition(type: string): TaskDefinition | undefined {
    return this.ctx.definitions.get(type);
  }

  /**
   * One round of taking up to `count` tasks for a worker: started tasks, or [] after a bounded wait (at once
   * when `wait` is false).
   * @internal The Worker's feed; use dequeue() to take one task.
   */
  takeBatch(queues: readonly string[] | undefined, count: number, signal?: AbortSignal, prefetch?: PrefetchBuffer, wait = true): Promise<Task[]> {
    const entered = enter(this.ctx);
    if (!entered) return takeBatch(this.ctx, queues, count, signal, prefetch, wait);
    return entered.then(() => takeBatch(this.ctx, queues, count, signal, prefetch, wait));
  }

  /**
   * Hands entries a worker claimed ahead back to their queues.
   * @internal The Worker's, on close.
   */
  giveBack(prefetch: PrefetchBuffer): Promise<void> {
    const claims = prefetch.claims.splice(0);
    return claims.length ? giveBack(this.ctx, claims) : Promise.resolve();
  }

  /** The connection commands go through (for metrics, diagnostics, tests). */
  get redis(): Connection {
    return this.ctx.redis;
  }

  enqueue(request: EnqueueRequest): Promise<string> {
    return enqueueMany(this.ctx, [request]).then((ids) => ids[0]!);
  }

  /** Validates every request first, then stores them all in one round trip. */
  enqueueMany(requests: readonly EnqueueRequest[]): Promise<string[]> {
    return enqueueMany(this.ctx, requests);
  }

  dequeue(queues?: readonly string[], options?: DequeueOptions): Promise<Task> {
    return dequeue(this.ctx, queues, options);
  }

  heartbeat(taskId: string, progress?: JsonValue, options?: LeaseOptions): Promise<void> {
    return heartbeat(this.ctx, taskId, progress, options);
  }

  finish(taskId: string, progress?: JsonValue, options?: LeaseOptions): Promise<void> {
    return finish(this.ctx, taskId, progress, options);
  }

  fail(taskId: string, progress?: JsonValue, options?: LeaseOptions): Promise<void> {
    return fail(this.ctx, taskId, progress, options);
  }

  /** Puts a running task this instance holds back to waiting (for a worker shutting down). */
  release(taskId: string, options?: LeaseOptions): Promise<void> {
    return release(this.ctx, taskId, options);
  }

  /** Puts a running task whose attempt failed back to waiting, due after a delay (a `retrying` event). */
  retryLater(taskId: string, options: RetryLaterOptions): Promise<void> {
    return retryLater(this.ctx, taskId, options);
  }

  /** Gives a failed or cancelled task another run (back to waiting); false when it is waiting or running. */
  retry(taskId: string): Promise<boolean> {
    return retry(this.ctx, taskId);
  }

  /** True when this call cancelled the task, false when it was cancelled already. */
  cancel(taskId: string): Promise<boolean> {
    return cancel(this.ctx, taskId);
  }

  get(taskId: string): Promise<Task | null> {
    return get(this.ctx, taskId);
  }

  history(taskId: string): Promise<TaskEvent[]> {
    return history(this.ctx, taskId);
  }

  events(options?: EventsOptions): AsyncGenerator<TaskEvent> {
    return events(this.ctx, options);
  }

  /** Waiting, delayed and running tasks per queue, and the log's size: cheap, for dashboards and metrics. */
  stats(): Promise<QueueStats> {
    return stats(this.ctx);
  }

  verify(options?: FoldProgressOptions): Promise<VerifyReport> {
    return verify(this.ctx, options);
  }

  rebuild(options?: FoldProgressOptions): Promise<RebuildReport> {
    return rebuild(this.ctx, options);
  }

  deleteByReference(refs: References): Promise<{ tasks: number; schedules: number }> {
    return deleteByReference(this.ctx, refs);
  }

  /** Runs one recovery pass now (it also runs on a timer); null when another instance holds the pass. */
  recover(): Promise<RecoveryReport | null> {
    return recover(this.ctx, this.recoveryIntervalMs || 1000);
  }

  private async recoverNow(): Promise<void> {
    if (this.ctx.closed) return;
    await enter(this.ctx);
    await recover(this.ctx, this.recoveryIntervalMs);
  }

  /**
   * Stops recovery, ends blocked reads, waits for pending dequeues to give back what they started for
   * callers no longer waiting, and closes the connections this queue opened. Every call resolves once
   * that is done, also a second call made meanwhile.
   */
  close(): Promise<void> {
    this.closing ??= this.closeNow();
    return this.closing;
  }

  private async closeNow(): Promise<void> {
    this.ctx.closed = true;
    clearInterval(this.recoveryTimer);
    this.ctx.stop.abort();
    this.ctx.blocking.closeAll();
    await this.recovering;
    // Dequeues still running end now that their reads have; each gives back what it started for nobody.
    while (this.ctx.background.size) await Promise.allSettled(this.ctx.background);
    if (this.owned) {
      await this.ctx.redis.quit().catch(() => this.ctx.redis.disconnect());
    }
  }
}
