import type { Connection, ConnectionOption } from './redis/connection.js';
import { closeQueueContext, openQueueContext } from './queue-context.js';
import { DEFAULT_HEARTBEAT_TTL_MS } from './context/open.js';
import type { TaskDefinition } from './task-definition.js';
import type {
  EnqueueRequest,
  JsonValue,
  QueueOptions,
  QueueOptionsChange,
  References,
  Task,
  TaskEvent,
} from './types.js';
import { fromRedisError, UnknownPartitionError, ValidationError } from './errors.js';
import { intOption, validateName, validateReferences } from './validation.js';
import { knownKeys } from './known-keys.js';
import { MAX_TIMER_MS, timerOption } from './util/long-timer.js';
import { SafeEmitter } from './util/safe-emitter.js';
import type { TaskQueueEvents } from './task-queue-events.js';
import { checkLease, type LeaseOptions, type ReleaseOptions } from './commands/leases.js';
import { enqueueMany, enqueueValid, validateEnqueues } from './commands/enqueue.js';
import { LISTED_STATUSES, listTasks, type ListedStatus } from './projections/task-list.js';
import { endedCounts, type EndedCounts } from './projections/ended-counts.js';
import { heartbeat } from './commands/heartbeat.js';
import { finish } from './commands/finish.js';
import { fail } from './commands/fail.js';
import type { FailOptions, FinishOptions } from './commands/outcomes.js';
import { cancel } from './commands/cancel.js';
import { release } from './commands/release.js';
import { retry } from './commands/retry.js';
import { retryLater, type RetryLaterOptions } from './commands/retry-later.js';
import { deleteByReference } from './commands/delete-by-reference.js';
import { pauseQueue, setQueueOptions, checkQueue } from './commands/queue-options.js';
import { setPriority } from './commands/set-priority.js';
import { allQueueControls, queueControls, type QueueControls } from './projections/queue-controls.js';
import type { DequeueContext } from './dequeue/context.js';
import { dequeue, type DequeueOptions } from './dequeue/dequeue.js';
import { Prefetcher } from './dequeue/prefetcher.js';
import { get } from './projections/get.js';
import { history } from './projections/history.js';
import { events, type EventsOptions } from './projections/events.js';
import { stats, type QueueStats } from './projections/stats.js';
import { throughputPerMinute, type MinuteCount } from './projections/throughput.js';
import { verify, type VerifyOptions, type VerifyReport } from './audit/verify.js';
import { rebuild, type RebuildReport } from './audit/rebuild.js';
import type { FoldProgressOptions } from './audit/fold-log.js';
import { recover, type RecoveryReport } from './worker/recovery.js';
import { recoveryLoop } from './worker/recovery-loop.js';
import type { PeriodicPass } from './context/periodic-pass.js';
import { partitionArchive, type Archive } from './archive/archive.js';
import { compact, type CompactionReport, type CompactOptions } from './retention/compact.js';
import { compactionLoop } from './retention/compaction-loop.js';
import { EnqueueRouter } from './partitions/enqueue-routing.js';
import { PinBook } from './partitions/pins.js';
import { RegisteredFeed } from './partitions/registered-feed.js';
import { WorkerRegistration } from './partitions/registry.js';
import { CausalFloor } from './partitions/causal-floor.js';
import { partitionOfId } from './partitions/routing.js';
import { mergeCompactions, mergeStats, mergeThroughput, mergeVerify, sumReports } from './partitions/merge.js';
import {
  allPartitionedControls,
  partitionedControls,
  pausePartitioned,
  setPartitionedOptions,
} from './partitions/queue-options.js';
import { mergedEvents } from './partitions/merged-events.js';
import { legacyPartition } from './partitions/migrate.js';
import { dequeuePartitioned } from './partitions/dequeue.js';
import { PartitionedFeed, type Feed } from './partitions/feed.js';
import { durabilityOption, ReplicaWait, type DurabilityOptions } from './redis/replication.js';
import {
  compactionConfig,
  DEFAULT_COMPACT_INTERVAL_MS,
  hasRetention,
  type CompactionConfig,
  type RetentionOptions,
} from './retention/options.js';

/** A page of TaskQueue.listTasks. */
export interface ListTasksOptions {
  queue: string;
  /** waiting, delayed (waiting, not due yet), running, finished, failed or cancelled. */
  status: ListedStatus;
  /** 1 to 1000 (default 20). */
  limit?: number;
  oldest?: boolean;
  /** The `next` of the previous page. */
  after?: string;
  /** Only tasks of this type. */
  type?: string;
  /** Only tasks carrying this reference (in its set's order). */
  reference?: { name: string; value: string | number | boolean };
  /** With several partitions: list only this one (default: all, merged; a cursor of one is not the other's). */
  partition?: number;
}

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
  /**
   * How long ended tasks' projections and the log's entries stay in Redis (README "Retention and the archive", docs/architecture.md §18). Default:
   * everything is kept. `logMs` needs an `archive`, or `archive: false`.
   */
  retention?: RetentionOptions;
  /**
   * Where compaction puts log entries before it trims them; history() and events({ archive: true }) read it.
   * `false` trims without archiving: the audit trail beyond `retention.logMs` is given up.
   */
  archive?: Archive | false;
  /**
   * The most bytes (UTF-8) the JSON text of one spec, progress or result may take; a larger one is refused
   * with PayloadTooLargeError before anything is sent. Default 1 MiB (1048576), at most 64 MiB.
   */
  maxPayloadBytes?: number;
  /** How often this instance tries a compaction pass (one instance at a time runs it); 0 turns the timer off. Default 10000 with retention, else off. */
  compactIntervalMs?: number;
  /**
   * How many partitions the namespace is spread over, 1 to 256 (MAX_PARTITIONS), so that one namespace can
   * use many Redis Cluster primaries (README "Partitions", docs/architecture.md §20). Fixed when the
   * namespace is made and recorded in it; a different count later is a PartitionMismatchError. Default 1.
   */
  partitions?: number;
  /**
   * An enqueue, finish or fail resolves only once WAIT confirms that `replicas` replicas have it, within
   * `timeoutMs` (else NotReplicatedError): acknowledged work then survives a failover. Default: the
   * primary's acknowledgement, as Redis replicates asynchronously (README "Durability").
   */
  durability?: DurabilityOptions;
}

/**
 * The queue: Queuer and Dequeuer of the Go original, on Redis Streams. Every transition is one Lua call that
 * checks the task's status, appends an event to the log and folds it into the task's hash.
 */
export class TaskQueue extends SafeEmitter<TaskQueueEvents> {
  readonly namespace: string;
  /** How many partitions the namespace has (§20). */
  readonly partitions: number;
  /** Partition 0's context, which holds what is namespace-wide (the format, the partition count). */
  private readonly ctx: DequeueContext;
  /** One context per partition, partition 0 first. */
  private readonly parts: readonly DequeueContext[];
  private readonly pins: PinBook;
  /** The newest event time this instance saw in any partition: its enqueues sort after it (§20). */
  private readonly floor = new CausalFloor();
  /** One WAIT coalescer per partition, with `durability`. */
  private readonly replicaWaits: ReplicaWait[] | null;
  private readonly router: EnqueueRouter;
  private readonly owned: boolean;
  private readonly recoveryIntervalMs: number;
  private readonly recovery: PeriodicPass[];
  private readonly compaction: CompactionConfig;
  private readonly compactionLoop: PeriodicPass[];
  private closing: Promise<void> | undefined;

  constructor(options: TaskQueueOptions = {}) {
    super();
    // Every option is checked before the connection opens, so that a refused one leaves nothing open.
    knownKeys(options, TASK_QUEUE_OPTIONS, 'TaskQueue options');
    checkTasks(options.tasks);
    const compaction = compactionConfig(options.retention, options.archive);
    const durability = durabilityOption(options.durability);
    if (compaction.archive && typeof options.partitions === 'number' && options.partitions > 1)
      partitionArchive(compaction.archive, 1); // an archive that cannot be split is refused before connecting
    const compactIntervalMs = timerOption(
      options.compactIntervalMs,
      hasRetention(compaction) ? DEFAULT_COMPACT_INTERVAL_MS : 0,
      'compactIntervalMs',
      0,
    );
    // Checked here too (openContext checks it again): recovery's default interval is derived from it.
    const ttl = timerOption(options.heartbeatTtlMs, DEFAULT_HEARTBEAT_TTL_MS, 'heartbeatTtlMs', 100);
    this.recoveryIntervalMs = timerOption(
      options.recoveryIntervalMs,
      Math.min(Math.floor(ttl / 2), 5000),
      'recoveryIntervalMs',
      0,
    );
    const { parts, owned } = openQueueContext(
      { ...options, archive: compaction.archive },
      (err) => this.emit('error', err),
      (held) => this.emit('held', held),
    );
    const ctx = parts[0]!;
    this.parts = parts;
    this.ctx = ctx;
    this.partitions = parts.length;
    this.pins = new PinBook(ctx);
    this.replicaWaits = durability ? parts.map((p) => new ReplicaWait(p.redis, p.keys.events, durability)) : null;
    this.router = new EnqueueRouter(parts.length, this.pins);
    this.namespace = ctx.keys.namespace;
    this.owned = owned;
    // The first round trip starts now. Its failure reaches every command, which awaits the same check (and
    // an unreachable Redis is tried again): here it has no caller to go to.
    this.ctx.life.whenOpen()?.catch(() => undefined);
    // Each partition has its own recovery and compaction passes, each with its own lock.
    this.recovery = parts.map((p) => recoveryLoop(p, this.recoveryIntervalMs));
    for (const loop of this.recovery) loop.start();
    this.compaction = compaction;
    this.compactionLoop = parts.map((p) =>
      compactionLoop(p, compaction, compactIntervalMs, (r) => this.emit('compacted', r)),
    );
    for (const loop of this.compactionLoop) loop.start();
  }

  /** With `durability`: the write, then WAIT on its partition's primary. */
  private replicated<T>(part: DequeueContext, write: Promise<T>): Promise<T> {
    // Without durability the write's own promise: no extra step on the hot path.
    const waits = this.replicaWaits;
    if (!waits) return write;
    return write.then(async (result) => {
      await waits[part.keys.partition]!.confirm();
      return result;
    });
  }

  /**
   * Runs a call by task id in the task's partition: where its id routes, or, while a migration from one
   * partition is open, partition 0 when the task is there (one EXISTS more per call, only then).
   */
  private inPartitionOf<T>(taskId: string, fn: (part: DequeueContext) => Promise<T>): Promise<T> {
    const part = this.at(taskId);
    if (part === this.ctx) return fn(part);
    const open = this.ctx.life.whenOpen();
    if (open) return open.then(() => this.inPartitionOf(taskId, fn));
    if (!this.ctx.migration.legacy) return fn(part);
    return legacyPartition(this.parts, taskId, part.keys.partition).then((p) => fn(this.parts[p]!));
  }

  /** The context of the partition a task id routes to (§20). */
  private at(taskId: string): DequeueContext {
    // A bad id goes to partition 0, whose command refuses it with its own ValidationError.
    return typeof taskId === 'string' && taskId !== '' ? this.parts[partitionOfId(taskId, this.partitions)]! : this.ctx;
  }

  /** The archive compaction writes to and reads from, if any. */
  get archive(): Archive | null {
    return this.ctx.archive;
  }

  get heartbeatTtlMs(): number {
    return this.ctx.settings.heartbeatTtlMs;
  }

  /** The most bytes of JSON a spec, progress or result may take. */
  get maxPayloadBytes(): number {
    return this.ctx.settings.maxPayloadBytes;
  }

  /** The declared definition of a task type, if any. */
  definition(type: string): TaskDefinition | undefined {
    return this.ctx.definitions.get(type);
  }

  /**
   * A feed of started tasks for one worker (any queue when `queues` is undefined): batches, with the next
   * batch's entries claimed ahead in the same call.
   * @internal The Worker's; use dequeue() to take one task.
   */
  prefetcher(queues: readonly string[] | undefined): Feed {
    return this.partitions === 1
      ? new RegisteredFeed(new Prefetcher(this.ctx, queues), new WorkerRegistration(this.ctx, 1))
      : new PartitionedFeed(this.parts, queues, this.floor);
  }

  /** The connection commands go through (for metrics, diagnostics, tests). */
  get redis(): Connection {
    return this.ctx.redis;
  }

  enqueue(request: EnqueueRequest): Promise<string> {
    return this.enqueueMany([request]).then((ids) => ids[0]!);
  }

  /** Validates every request first, then stores them all in one round trip (one per partition). */
  enqueueMany(requests: readonly EnqueueRequest[]): Promise<string[]> {
    if (this.partitions === 1) return this.replicated(this.ctx, enqueueMany(this.ctx, requests));
    return call(async () => {
      // Validated once, here: routing reads the checked requests, and each partition's enqueue takes them.
      const valid = validateEnqueues(this.ctx, requests);
      const open = this.ctx.life.whenOpen();
      if (open) await open;
      const pins = this.pins.refresh();
      if (pins) await pins;
      const routed = this.router.route(valid);
      // While a migration is open, a caller's id may name a task made in partition 0 before it: found there,
      // the enqueue goes there, and stays idempotent.
      if (this.ctx.migration.legacy)
        await Promise.all(
          routed.map(async (r, i) => {
            const id = valid[i]!.id;
            if (id !== undefined && r.partition !== 0) r.partition = await legacyPartition(this.parts, id, r.partition);
          }),
        );
      const ids: string[] = new Array<string>(requests.length);
      await Promise.all(
        this.parts.map(async (part, p) => {
          const mine = routed.flatMap((r, i) => (r.partition === p ? [i] : []));
          if (mine.length === 0) return;
          const got = await this.replicated(
            part,
            enqueueValid(
              part,
              mine.map((i) => routed[i]!.request),
              this.floor.ms || undefined,
            ),
          );
          mine.forEach((i, j) => (ids[i] = got[j]!));
        }),
      );
      return ids;
    });
  }

  dequeue(queues?: readonly string[], options?: DequeueOptions): Promise<Task> {
    return call(() => {
      knownKeys(options, ['signal'], 'dequeue options');
      if (options?.signal !== undefined && !(options.signal instanceof AbortSignal))
        throw new ValidationError('dequeue options.signal must be an AbortSignal');
      return this.partitions === 1
        ? dequeue(this.ctx, queues, options)
        : dequeuePartitioned(this.parts, queues, options, this.floor);
    });
  }

  heartbeat(taskId: string, progress?: JsonValue, options?: LeaseOptions): Promise<void> {
    return this.inPartitionOf(taskId, (part) => heartbeat(part, taskId, progress, options));
  }

  /** Ends a running task well: `progress` as in the Go original, the outcome in `options.result`. */
  finish(taskId: string, progress?: JsonValue, options?: FinishOptions): Promise<void> {
    return this.inPartitionOf(taskId, (part) => this.replicated(part, finish(part, taskId, progress, options)));
  }

  /** Ends a running task badly, for good: `progress` as in the Go original, the reason in `options.error`. */
  fail(taskId: string, progress?: JsonValue, options?: FailOptions): Promise<void> {
    return this.inPartitionOf(taskId, (part) => this.replicated(part, fail(part, taskId, progress, options)));
  }

  /** Puts a running task this instance holds back to waiting (for a worker shutting down). */
  release(taskId: string, options?: ReleaseOptions): Promise<void> {
    return call(() => {
      checkLease(options, ['lease', 'holdMs']);
      const holdMs = options?.holdMs ?? 0;
      if (!Number.isInteger(holdMs) || holdMs < 0 || holdMs > MAX_TIMER_MS)
        throw new ValidationError(`options.holdMs must be a whole number of ms from 0 to ${MAX_TIMER_MS}`);
      return this.inPartitionOf(taskId, (part) => release(part, taskId, options, holdMs));
    });
  }

  /** Puts a running task whose attempt failed back to waiting, due after a delay (a `retrying` event). */
  retryLater(taskId: string, options: RetryLaterOptions): Promise<void> {
    return call(() => {
      knownKeys(options, ['delayMs', 'error', 'progress', 'lease'], 'retryLater options', true);
      checkLease({ lease: options.lease });
      return this.inPartitionOf(taskId, (part) => retryLater(part, taskId, options));
    });
  }

  /** Gives a failed or cancelled task another run (back to waiting); false when it is waiting or running. */
  retry(taskId: string): Promise<boolean> {
    return this.inPartitionOf(taskId, (part) => retry(part, taskId)).catch(typed);
  }

  /**
   * Changes a queue's controls, across every worker and instance: `concurrency` (a cap on its running tasks),
   * `rateLimit` (`{ max, perMs }`: starts in any window), `agingMs` (priority aging); null removes one. The
   * change is merged into the options as they stand and recorded as a `queue-options` event. Returns the
   * queue's options after it.
   */
  setQueueOptions(queue: string, options: QueueOptionsChange): Promise<QueueOptions> {
    return (
      this.partitions === 1
        ? setQueueOptions(this.ctx, queue, options)
        : setPartitionedOptions(this.parts, this.pins, queue, options)
    ).catch(typed);
  }

  /** A queue's controls, its running tasks and any RateLimitedError hold. */
  getQueueOptions(queue: string): Promise<QueueControls> {
    return Promise.resolve()
      .then(() =>
        this.partitions === 1 ? queueControls(this.ctx, checkQueue(queue)) : partitionedControls(this.parts, queue),
      )
      .catch(typed);
  }

  /** Every queue with controls or running tasks, by name. */
  queueControls(): Promise<Map<string, QueueControls>> {
    return (this.partitions === 1 ? allQueueControls(this.ctx) : allPartitionedControls(this.parts)).catch(typed);
  }

  /** A paused queue starts nothing new (enqueue still works, running tasks finish). False when paused already. */
  pause(queue: string): Promise<boolean> {
    return (
      this.partitions === 1 ? pauseQueue(this.ctx, queue, true) : pausePartitioned(this.parts, queue, true)
    ).catch(typed);
  }

  /** Lets a paused queue start tasks again. False when it was not paused. */
  resume(queue: string): Promise<boolean> {
    return (
      this.partitions === 1 ? pauseQueue(this.ctx, queue, false) : pausePartitioned(this.parts, queue, false)
    ).catch(typed);
  }

  /**
   * Changes a waiting task's priority, 0 to 9 (a `reprioritized` event): a due task goes to the tail of its
   * new level. False when it has that priority already; TaskRunningError for a running task.
   */
  setPriority(taskId: string, priority: number): Promise<boolean> {
    return this.inPartitionOf(taskId, (part) => setPriority(part, taskId, priority)).catch(typed);
  }

  /** True when this call cancelled the task, false when it was cancelled already. */
  cancel(taskId: string): Promise<boolean> {
    return this.inPartitionOf(taskId, (part) => cancel(part, taskId)).catch(typed);
  }

  get(taskId: string): Promise<Task | null> {
    return this.inPartitionOf(taskId, (part) => get(part, taskId)).catch(typed);
  }

  history(taskId: string): Promise<TaskEvent[]> {
    return this.inPartitionOf(taskId, (part) => history(part, taskId)).catch(typed);
  }

  async *events(options?: EventsOptions): AsyncGenerator<TaskEvent> {
    knownKeys(options, ['from', 'after', 'follow', 'signal', 'archive'], 'events options');
    if (options?.signal !== undefined && !(options.signal instanceof AbortSignal))
      throw new ValidationError('events options.signal must be an AbortSignal');
    for (const key of ['from', 'after'] as const)
      if (options?.[key] !== undefined && typeof options[key] !== 'string')
        throw new ValidationError(`events options.${key} must be an event id (a string)`);
    for (const key of ['follow', 'archive'] as const)
      if (options?.[key] !== undefined && typeof options[key] !== 'boolean')
        throw new ValidationError(`events options.${key} must be a boolean`);
    try {
      if (this.partitions === 1) yield* events(this.ctx, options);
      else yield* mergedEvents(this.parts, options);
    } catch (err) {
      typed(err);
    }
  }

  /**
   * One page of a queue's tasks in one status, newest first (`oldest` for oldest first), and the cursor of the
   * next page (null on the last). `type` and `reference` narrow it. On a namespace of several partitions a
   * page merges them all in the one order (or lists one, `partition`), each read from the same cursor (§20).
   */
  listTasks(options: ListTasksOptions): Promise<{ tasks: Task[]; next: string | null }> {
    return call(() => {
      knownKeys(
        options,
        ['queue', 'status', 'limit', 'oldest', 'after', 'type', 'reference', 'partition'],
        'listTasks options',
        true,
      );
      const queue = checkQueue(options.queue);
      if (!LISTED_STATUSES.includes(options.status))
        throw new ValidationError(`status must be one of ${LISTED_STATUSES.join(', ')}`);
      const limit = intOption(options.limit, 20, 'limit', 1, 1000);
      const p = options.partition;
      if (p !== undefined && (!Number.isInteger(p) || p < 0 || p >= this.partitions))
        throw new UnknownPartitionError(p, this.partitions, 'listTasks options.partition');
      if (options.after !== undefined && typeof options.after !== 'string')
        throw new ValidationError('listTasks options.after must be a cursor a page returned (a string)');
      if (options.type !== undefined) validateName(options.type, 'type');
      const reference = options.reference;
      if (reference !== undefined) {
        const [entry] = Object.entries(validateReferences({ [reference.name]: reference.value }));
        if (!entry) throw new ValidationError('listTasks options.reference needs a name and a value');
      }
      return listTasks(p === undefined ? this.parts : [this.parts[p]!], {
        queue,
        status: options.status,
        limit,
        ...(options.oldest ? { oldest: true } : {}),
        ...(options.after !== undefined ? { after: options.after } : {}),
        ...(options.type !== undefined ? { type: options.type } : {}),
        ...(reference ? { reference } : {}),
      });
    });
  }

  /** All-time counts of tasks that ended, per queue and status, summed over the partitions (one HGETALL each). */
  endedCounts(): Promise<Map<string, EndedCounts>> {
    return call(async () => {
      const out = new Map<string, EndedCounts>();
      for (const counts of await Promise.all(this.parts.map((p) => endedCounts(p))))
        for (const [queue, c] of counts) {
          const sum = out.get(queue) ?? { finished: 0, failed: 0, cancelled: 0 };
          out.set(queue, {
            finished: sum.finished + c.finished,
            failed: sum.failed + c.failed,
            cancelled: sum.cancelled + c.cancelled,
          });
        }
      return out;
    });
  }

  /** Waiting, delayed and running tasks per queue, and the log's size: cheap, for dashboards and metrics. */
  stats(): Promise<QueueStats> {
    if (this.partitions === 1) return stats(this.ctx).catch(typed);
    return Promise.all(this.parts.map((p) => stats(p)))
      .then((all) =>
        mergeStats(
          all,
          this.parts.map((p) => p.keys.tag),
        ),
      )
      .catch(typed);
  }

  /** Tasks started, finished and failed per minute and queue, over the last THROUGHPUT_MINUTES (60) minutes, oldest first. */
  throughput(): Promise<MinuteCount[]> {
    return Promise.all(this.parts.map((p) => throughputPerMinute(p)))
      .then((all) => (all.length === 1 ? all[0]! : mergeThroughput(all)))
      .catch(typed);
  }

  /**
   * Checks every projection and index against a fold of the log. With `repair`, index entries found wrong
   * are put back in step with their task (each fix logged as an event); projections are rebuild()'s.
   */
  verify(options?: VerifyOptions): Promise<VerifyReport> {
    return call(() => {
      checkFoldOptions(options, 'verify', ['onProgress', 'repair']);
      if (options?.repair !== undefined && typeof options.repair !== 'boolean')
        throw new ValidationError('verify options.repair must be a boolean');
      // Each partition folds its own log, all at once (on a cluster, on their own primaries).
      return Promise.all(this.parts.map((p) => verify(p, options))).then((all) =>
        all.length === 1 ? all[0]! : mergeVerify(all),
      );
    });
  }

  rebuild(options?: FoldProgressOptions): Promise<RebuildReport> {
    return call(() => {
      checkFoldOptions(options, 'rebuild');
      return Promise.all(this.parts.map((p) => rebuild(p, options))).then(sumReports);
    });
  }

  deleteByReference(refs: References): Promise<{ tasks: number; schedules: number }> {
    return Promise.all(this.parts.map((p) => deleteByReference(p, refs)))
      .then(sumReports)
      .catch(typed);
  }

  /** Runs one recovery pass now (it also runs on a timer); null when another instance holds the pass. */
  async recover(): Promise<RecoveryReport | null> {
    await this.ctx.life.whenOpen();
    const all = await Promise.all(this.parts.map((p) => recover(p, this.recoveryIntervalMs || 1000))).catch(typed);
    // Null when another instance held every partition's pass.
    const done = all.filter((r): r is RecoveryReport => r !== null);
    return done.length ? sumReports(done) : null;
  }

  /**
   * Runs one compaction pass now (it also runs on a timer with retention): ended tasks past their retention
   * lose their projection, and log entries older than `retention.logMs` are archived and trimmed. With
   * `dryRun`, counts what a pass would do and writes nothing. Without retention it does nothing and says so
   * (`skipped`).
   */
  async compact(options?: CompactOptions): Promise<CompactionReport> {
    knownKeys(options, ['dryRun', 'onStep'], 'compact options');
    if (options?.dryRun !== undefined && typeof options.dryRun !== 'boolean')
      throw new ValidationError('compact options.dryRun must be a boolean');
    if (options?.onStep !== undefined && typeof options.onStep !== 'function')
      throw new ValidationError('compact options.onStep must be a function');
    await this.ctx.life.whenOpen();
    const all = await Promise.all(this.parts.map((p) => compact(p, this.compaction, options))).catch(typed);
    return all.length === 1 ? all[0]! : mergeCompactions(all);
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
    for (const loop of [...this.recovery, ...this.compactionLoop]) loop.stop();
    await closeQueueContext(this.ctx);
    if (this.owned) {
      // QUIT fails on a connection that is down already; disconnecting is all that is left to do then.
      await this.ctx.redis.quit().catch(() => this.ctx.redis.disconnect());
    }
  }
}

const TASK_QUEUE_OPTIONS = [
  'connection',
  'namespace',
  'heartbeatTtlMs',
  'maxAttempts',
  'tasks',
  'connectTimeoutMs',
  'recoveryIntervalMs',
  'deliveryTimeoutMs',
  'retention',
  'archive',
  'maxPayloadBytes',
  'compactIntervalMs',
  'partitions',
  'durability',
];

/** A call whose checks may throw before its promise exists: they reject it instead, as its other errors do. */
function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return fn().catch(typed);
  } catch (err) {
    return Promise.reject(err);
  }
}

/** Rethrows an error as the library error it stands for (fromRedisError). */
function typed(err: unknown): never {
  throw fromRedisError(err);
}

function checkFoldOptions(
  options: FoldProgressOptions | undefined,
  what: string,
  keys: readonly string[] = ['onProgress'],
): void {
  knownKeys(options, keys, `${what} options`);
  if (options?.onProgress !== undefined && typeof options.onProgress !== 'function')
    throw new ValidationError(`${what} options.onProgress must be a function`);
}

function checkTasks(tasks: unknown): void {
  if (tasks === undefined) return;
  const isDefinition = (d: unknown) =>
    typeof d === 'object' &&
    d !== null &&
    typeof (d as TaskDefinition).type === 'string' &&
    typeof (d as TaskDefinition).parse === 'function';
  if (!Array.isArray(tasks) || !tasks.every(isDefinition))
    throw new ValidationError('tasks must be an array of defineTask() definitions');
}
