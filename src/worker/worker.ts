import {
  isRefusal,
  NoHandlerError,
  TaskLedgerError,
  TaskTimeoutError,
  ValidationError,
  WorkerClosedError,
} from '../errors.js';
import { knownKeys } from '../known-keys.js';
import { SafeEmitter } from '../util/safe-emitter.js';
import { sleep } from '../util/sleep.js';
import { deadlineOption, LongTimer } from '../util/long-timer.js';
import {
  DEFAULT_MAX_PAYLOAD_BYTES,
  intOption,
  toJsonText,
  validateBackoff,
  validateQueueNames,
} from '../validation.js';
import type { BackoffOptions, JsonValue, Task } from '../types.js';
import { backoffDelay } from './backoff.js';
import { HandlerContext, LazyAbort, type TaskContext } from './handler-context.js';
import { Slots } from './slots.js';
import type { Feed } from '../partitions/feed.js';
import type { WorkerEvents } from './worker-events.js';
import type { WorkerQueue } from './worker-queue.js';

// eslint-disable-next-line @typescript-eslint/no-invalid-void-type -- handlers may return nothing (`async () => {}` is Promise<void>, not assignable to Promise<JsonValue | undefined>); no option of the rule allows void in a union
export type TaskHandler = (task: Task, ctx: TaskContext) => Promise<JsonValue | void>;

export interface WorkerOptions {
  /** Queues to take tasks from; default any queue. */
  queues?: string[];
  /** Handlers running at once. Default 1. */
  concurrency?: number;
  /** How often a running task's heartbeat is sent. Default a third of the queue's heartbeatTtlMs. */
  heartbeatIntervalMs?: number;
  /** Least time between two progress writes of one task. Default min(1000, heartbeatIntervalMs). */
  progressThrottleMs?: number;
  /** Handler deadline in ms per task type (a task's own timeoutMs wins). Off by default. */
  timeouts?: Record<string, number>;
  /**
   * Retries for tasks that did not opt in at enqueue. Off by default: a handler error fails the task at
   * once, as in the Go original and BullMQ.
   */
  retry?: { maxAttempts: number; backoff?: BackoffOptions };
  /** How long close() lets running handlers end before aborting them and releasing their tasks. Default 30 s. */
  closeTimeoutMs?: number;
}

export interface WorkerState {
  concurrency: number;
  /** Slots in use: handlers that have not settled yet, including those below. */
  busy: number;
  /** Handlers still running for a task the worker no longer holds (timed out, cancelled, lost, released). */
  stuck: number;
  /** Tasks the worker holds and heartbeats. */
  running: number;
  closing: boolean;
}

interface Running {
  task: Task;
  lease: string;
  controller: LazyAbort;
  /** Latest progress the handler reported. */
  latest: JsonValue;
  /** The latest progress has not been written yet. */
  dirty: boolean;
  lastSentAt: number;
  flushing: Promise<void> | undefined;
  /** The latest write for this task (the next one goes after it), or undefined before the first. */
  writes: Promise<unknown> | undefined;
  /** The task is no longer this worker's to write: finished, failed, lost, timed out or released. */
  done: boolean;
  /** Called once the handler has settled, when close() waits for it. */
  onSettled: (() => void) | undefined;
}

const WORKER_OPTIONS = [
  'queues',
  'concurrency',
  'heartbeatIntervalMs',
  'progressThrottleMs',
  'timeouts',
  'retry',
  'closeTimeoutMs',
];

/** Handlers: one function for every type, or an object of functions by type. */
function checkHandlers(handlers: unknown): void {
  if (typeof handlers === 'function') return;
  if (typeof handlers !== 'object' || handlers === null || Array.isArray(handlers))
    throw new ValidationError('a Worker needs a handler function, or an object of handler functions by task type');
  for (const [type, fn] of Object.entries(handlers))
    if (typeof fn !== 'function') throw new ValidationError(`the handler for task type "${type}" must be a function`);
}

/** How long entries claimed ahead may wait for a slot before they are handed back to their queue. */
const PREFETCH_HOLD_MS = 1000;

/** Attempts at a final write that failed for a reason other than a refusal (Redis unreachable). */
const FINAL_WRITE_TRIES = 10;
const FINAL_WRITE_PAUSE_MS = 500;

/**
 * Runs handlers for tasks of a TaskQueue: one reader feeds all slots with batched claims, one timer sends
 * every running task's heartbeat, and each task's writes are fenced by its own lease.
 */
export class Worker extends SafeEmitter<WorkerEvents> {
  private readonly concurrency: number;
  private readonly heartbeatIntervalMs: number;
  private readonly progressThrottleMs: number;
  private readonly closeTimeoutMs: number;
  private readonly maxPayloadBytes: number;
  /** By lease, not task id: one task can be held twice (a stuck attempt and a new one). */
  private readonly running = new Map<string, Running>();
  private readonly reader = new AbortController();
  /** Takes the batches, and holds the entries claimed ahead with each start for the next one. */
  private readonly prefetcher: Feed;
  private readonly slots: Slots;
  private loop: Promise<void> | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private workWaiters: (() => void)[] = [];
  /** Final writes (finish, fail, retry, release) not done yet; close() (one shutdown) waits for none. */
  private finalWrites = 0;
  private onWritesDone: (() => void) | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly queue: WorkerQueue,
    private readonly handlers: Record<string, TaskHandler> | TaskHandler,
    private readonly options: WorkerOptions = {},
  ) {
    super();
    // A JavaScript caller can pass anything: each argument is checked before it is used.
    const given: unknown = queue;
    if (typeof given !== 'object' || given === null || typeof (given as WorkerQueue).prefetcher !== 'function')
      throw new ValidationError('a Worker needs a TaskQueue as its first argument');
    checkHandlers(handlers);
    knownKeys(options, WORKER_OPTIONS, 'Worker options');
    const int = intOption;
    this.maxPayloadBytes = queue.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
    const queues = options.queues && options.queues.length > 0 ? validateQueueNames(options.queues) : undefined;
    this.prefetcher = queue.prefetcher(queues);
    this.concurrency = int(options.concurrency, 1, 'concurrency', 1);
    this.slots = new Slots(this.concurrency, () => this.running.size);
    const ttl = queue.heartbeatTtlMs;
    // Well under the TTL: a heartbeat may be late by a round trip or a busy event loop.
    this.heartbeatIntervalMs = int(
      options.heartbeatIntervalMs,
      Math.max(10, Math.floor(ttl / 3)),
      'heartbeatIntervalMs',
      10,
      Math.floor(ttl / 2),
    );
    // Throttled progress rides on heartbeats, so it may never hold one back for longer than an interval.
    this.progressThrottleMs = int(
      options.progressThrottleMs,
      Math.min(1000, this.heartbeatIntervalMs),
      'progressThrottleMs',
      0,
      this.heartbeatIntervalMs,
    );
    this.closeTimeoutMs = deadlineOption(options.closeTimeoutMs, 30_000, 'closeTimeoutMs', 0);
    if (options.retry !== undefined) {
      knownKeys(options.retry, ['maxAttempts', 'backoff'], 'Worker options.retry', true);
      int(options.retry.maxAttempts, 1, 'retry.maxAttempts', 1);
      if (options.retry.backoff !== undefined) validateBackoff(options.retry.backoff);
    }
    knownKeys(options.timeouts, Object.keys(options.timeouts ?? {}), 'Worker options.timeouts');
    for (const [type, ms] of Object.entries(options.timeouts ?? {})) deadlineOption(ms, 1, `timeouts.${type}`, 1);
  }

  /** Starts taking tasks. */
  start(): this {
    if (this.loop || this.closing) return this;
    this.heartbeatTimer = setInterval(() => this.heartbeatAll(), this.heartbeatIntervalMs);
    // Two readers, each taking up to half the slots: while Redis starts one batch, Node runs the other's
    // handlers and sends their outcomes, so neither side waits on the other (docs/benchmark-history.md has
    // what one, three and four readers gave).
    const readers = this.concurrency > 1 ? 2 : 1;
    const size = Math.ceil(this.concurrency / readers);
    this.loop = Promise.all(Array.from({ length: readers }, (_, i) => this.readLoop(size, i === 0))).then(
      () => undefined,
    );
    return this;
  }

  state(): WorkerState {
    let held = 0;
    for (const r of this.running.values()) if (!r.done) held++;
    return {
      concurrency: this.concurrency,
      busy: this.running.size,
      stuck: this.running.size - held,
      running: held,
      closing: !!this.closing,
    };
  }

  /**
   * Stops taking tasks and lets running handlers end. Past `timeoutMs` (default the closeTimeoutMs option)
   * their signals abort and their tasks are released back to waiting; close() then resolves once every
   * final write has landed, without waiting for handlers that ignore their signal (their tasks are no
   * longer theirs to write).
   */
  close(options: { timeoutMs?: number } = {}): Promise<void> {
    if (!this.closing) {
      let timeoutMs: number;
      try {
        knownKeys(options, ['timeoutMs'], 'close options');
        timeoutMs = deadlineOption(options.timeoutMs, this.closeTimeoutMs, 'close() timeoutMs', 0);
      } catch (err) {
        return Promise.reject(err);
      }
      this.closing = this.shutdown(timeoutMs);
    }
    return this.closing;
  }

  private async shutdown(timeoutMs: number): Promise<void> {
    // Monotonic, and chained past one timer's limit: a close timeout of days is waited in full.
    const deadline = performance.now() + timeoutMs;
    const until = (p: Promise<unknown>) => {
      let timer: LongTimer | undefined;
      const left = Math.max(0, deadline - performance.now());
      return Promise.race([p, new Promise<void>((res) => (timer = new LongTimer(res, left)))]).finally(() =>
        timer?.clear(),
      );
    };
    this.reader.abort();
    this.slots.wake();
    this.workFound();
    await until(this.loop ?? Promise.resolve());
    await this.prefetcher.handBack().catch((err: unknown) => this.emit('error', err));
    await this.prefetcher.leave?.().catch((err: unknown) => this.emit('error', err));
    // A handler leaves `running` once it has settled.
    await until(Promise.all([...this.running.values()].map((r) => new Promise<void>((res) => (r.onSettled = res)))));
    for (const r of this.running.values()) {
      if (r.done) continue;
      r.done = true;
      r.controller.abort(new WorkerClosedError(r.task.id));
      this.finalWrite(
        r,
        'release',
        () => this.queue.release(r.task.id, { lease: r.lease }),
        () => undefined,
      );
    }
    // Every final write, of settled handlers and of those released above.
    if (this.finalWrites > 0) await new Promise<void>((res) => (this.onWritesDone = res));
    clearInterval(this.heartbeatTimer);
    this.emit('closed');
  }

  /**
   * Takes batches of up to `batchSize` tasks while slots are free. The first reader is the one that waits
   * for work when there is none (on the pooled blocking connection); the second only takes batches while
   * work flows, and otherwise waits for the first to find some.
   */
  private async readLoop(batchSize: number, first: boolean): Promise<void> {
    const signal = this.reader.signal;
    while (!signal.aborted) {
      const free = Math.min(batchSize, this.slots.free());
      if (free <= 0) {
        const freed = await this.slots.waitForFree(PREFETCH_HOLD_MS);
        // Handlers are slow: entries claimed ahead would only wait here, so other workers get them back.
        if (!freed && this.prefetcher.held)
          await this.prefetcher.handBack().catch((err: unknown) => this.emit('error', err));
        // Finishes arrive together (one batched reply): let them all free their slots, then take one batch;
        // unless a whole batch is free already. Waiting then gains nothing and costs a round trip: the
        // finish just queued would be sent on its own before this reader's start could take it along.
        if (this.slots.free() < batchSize) await new Promise((res) => setImmediate(res));
        continue;
      }
      this.slots.reserve(free);
      try {
        let tasks: Task[];
        try {
          tasks = await this.prefetcher.take(free, signal, first);
        } finally {
          // In the same step as run() below: the other reader must never see these slots free meanwhile.
          this.slots.unreserve(free);
        }
        for (const task of tasks) this.run(task);
        // A full batch means more may be waiting: only then is the second reader worth a look.
        if (first && tasks.length >= free) this.workFound();
        // Checked in the same step as the wait begins: close() may have called workFound() already.
        if (!first && tasks.length === 0)
          await new Promise<void>((res) => (signal.aborted ? res() : this.workWaiters.push(res)));
      } catch (err) {
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the signal can abort during the awaits in the try block
        if (signal.aborted || (err instanceof TaskLedgerError && err.code === 'ERR_QUEUE_CLOSED')) break;
        this.emit('error', err);
        await sleep(1000, signal);
      }
    }
  }

  /** Wakes the readers that wait for the first reader to find work (also on close). */
  private workFound(): void {
    const waiters = this.workWaiters;
    this.workWaiters = [];
    for (const w of waiters) w();
  }

  private run(task: Task): void {
    const r: Running = {
      task,
      lease: task.lease!,
      controller: new LazyAbort(),
      latest: task.progress,
      dirty: false,
      lastSentAt: 0,
      flushing: undefined,
      writes: undefined,
      done: false,
      onSettled: undefined,
    };
    this.running.set(r.lease, r);
    this.emit('task:started', task);
    this.execute(r).then(
      () => this.settled(r),
      (err: unknown) => {
        this.emit('error', err);
        this.settled(r);
      },
    );
  }

  /**
   * The slot is free once the handler has settled: the next batch starts while this attempt's outcome is
   * still being written (close() waits for those writes).
   */
  private settled(r: Running): void {
    this.running.delete(r.lease);
    r.onSettled?.();
    this.slots.wake();
  }

  private async execute(r: Running): Promise<void> {
    const { task } = r;
    const handler = typeof this.handlers === 'function' ? this.handlers : this.handlers[task.type];
    if (!handler) {
      this.failed(r, new NoHandlerError(task.type), false);
      return;
    }
    const timeoutMs =
      task.timeoutMs ?? this.options.timeouts?.[task.type] ?? this.queue.definition(task.type)?.timeoutMs;
    let deadline: LongTimer | undefined;
    if (timeoutMs !== undefined) {
      // A LongTimer: a deadline past 2^31 - 1 ms given to setTimeout would fire after 1 ms.
      deadline = new LongTimer(() => {
        if (r.done) return;
        const err = new TaskTimeoutError(task.id, timeoutMs);
        r.controller.abort(err);
        this.emit('task:timeout', task, err);
        // The outcome is written now; the slot stays busy until the handler settles.
        this.failed(r, err, true);
      }, timeoutMs);
    }
    const ctx = new HandlerContext(r.controller, (p) => this.progress(r, p));
    try {
      const returned = await handler(task, ctx);
      if (r.done) return;
      // A null result is no result: Task.result is null either way.
      const result: JsonValue | undefined = returned ?? undefined;
      try {
        if (result !== undefined) toJsonText(result, 'the handler result', this.maxPayloadBytes);
      } catch (err) {
        this.failed(r, err as Error, false);
        return;
      }
      r.done = true;
      // The result apart from the progress: the last progress not written yet goes along with it.
      const progress = r.dirty ? r.latest : undefined;
      this.finalWrite(
        r,
        'finish',
        () => this.queue.finish(task.id, progress, { lease: r.lease, result }),
        () => this.emit('task:finished', task, result ?? null),
      );
    } catch (err) {
      if (r.done) return;
      const error = err instanceof Error ? err : new Error(String(err));
      // By code, not class: a second copy of the package in node_modules must not turn it retriable.
      const code = (err as { code?: unknown } | null)?.code;
      const delayMs = (err as { delayMs?: unknown } | null)?.delayMs;
      // The slot stays busy until the hold is written: a start of the same queue must not slip in before it.
      if (code === 'ERR_RATE_LIMITED' && typeof delayMs === 'number') await this.rateLimited(r, delayMs);
      else this.failed(r, error, code !== 'ERR_UNRECOVERABLE');
    } finally {
      deadline?.clear();
    }
  }

  /** A downstream limit (RateLimitedError): the task goes back without using up its attempt, and its queue waits. */
  private rateLimited(r: Running, delayMs: number): Promise<void> {
    if (r.done) return Promise.resolve();
    r.done = true;
    const { task } = r;
    return new Promise((written) =>
      this.finalWrite(
        r,
        'release',
        () => this.queue.release(task.id, { lease: r.lease, holdMs: delayMs }),
        () => this.emit('task:rate-limited', task, delayMs),
        written,
      ),
    );
  }

  /** Ends an attempt that failed: a retry when the task has attempts left and retries are on, else a fail. */
  private failed(r: Running, error: Error, retriable: boolean): void {
    if (r.done) return;
    r.done = true;
    const { task } = r;
    // The error apart from the progress: only the last progress not written yet goes along with it.
    const progress = r.dirty ? r.latest : undefined;
    const retry = task.backoff ? { maxAttempts: task.maxAttempts, backoff: task.backoff } : this.options.retry;
    if (retriable && retry && task.attempt < retry.maxAttempts) {
      const delayMs = backoffDelay(retry.backoff, task.attempt);
      this.finalWrite(
        r,
        'retry',
        () => this.queue.retryLater(task.id, { delayMs, error, progress, lease: r.lease }),
        () => this.emit('task:retrying', task, error, delayMs),
      );
    } else {
      this.finalWrite(
        r,
        'fail',
        () => this.queue.fail(task.id, progress, { lease: r.lease, error }),
        () => this.emit('task:failed', task, error),
      );
    }
  }

  /**
   * The write that ends an attempt, after the task's earlier writes. A refusal means the task is no longer
   * ours (task:lost). A full Redis is waited out. Any other failure (Redis unreachable) is tried again a few
   * times, then reported: the task is still fenced and its stall will bring it back. Not an async function: the usual first try that
   * succeeds makes one promise, not a suspended frame (a worker makes one of these per task).
   */
  private finalWrite(
    r: Running,
    what: string,
    fn: () => Promise<unknown>,
    onDone: () => void,
    written?: () => void,
  ): void {
    this.finalWrites++;
    this.write(r, fn).then(
      () => {
        try {
          onDone();
        } finally {
          this.finalWriteDone();
          written?.();
        }
      },
      (err: unknown) =>
        void this.finalWriteFailed(r, what, fn, onDone, err).finally(() => {
          this.finalWriteDone();
          written?.();
        }),
    );
  }

  private async finalWriteFailed(
    r: Running,
    what: string,
    fn: () => Promise<unknown>,
    onDone: () => void,
    first: unknown,
  ): Promise<void> {
    let err = first;
    let toldFull = false;
    for (let attempt = 1; ; attempt++) {
      if (isRefusal(err)) {
        this.lost(r, err);
        return;
      }
      // A full Redis answers, and takes the write once it has room: the handler's outcome waits for it (the
      // app hears of it once) rather than being dropped for a stall to run the task again; until close().
      const full = err instanceof TaskLedgerError && err.code === 'ERR_REDIS_OOM';
      if (full && !this.closing) {
        if (!toldFull) this.emit('error', err);
        toldFull = true;
        attempt = 0;
      } else if (attempt >= FINAL_WRITE_TRIES || (err instanceof TaskLedgerError && err.code === 'ERR_QUEUE_CLOSED')) {
        const reason = err instanceof Error ? err.message : String(err);
        this.emit(
          'error',
          new Error(`task ${r.task.id}: could not ${what} (${reason}); the task will stall and be recovered`, {
            cause: err,
          }),
        );
        return;
      }
      await sleep(FINAL_WRITE_PAUSE_MS);
      try {
        await this.write(r, fn);
        onDone();
        return;
      } catch (e) {
        err = e;
      }
    }
  }

  private finalWriteDone(): void {
    if (--this.finalWrites === 0) this.onWritesDone?.();
  }

  private progress(r: Running, progress: JsonValue): Promise<void> {
    try {
      toJsonText(progress, 'progress', this.maxPayloadBytes);
    } catch (err) {
      // A rejection, not a throw: the handler may chain .catch() on the promise it expects.
      return Promise.reject(err);
    }
    if (r.done) return Promise.resolve();
    r.latest = progress;
    r.dirty = true;
    this.emit('task:progress', r.task, progress);
    const wait = r.lastSentAt + this.progressThrottleMs - Date.now();
    if (wait <= 0) return this.flush(r);
    r.flushing ??= new Promise<void>((res) => {
      setTimeout(() => {
        r.flushing = undefined;
        this.flush(r).then(res, res);
      }, wait);
    });
    return r.flushing;
  }

  /** Sends a heartbeat carrying the latest progress if it has not been written yet. */
  private flush(r: Running): Promise<void> {
    if (r.done) return Promise.resolve();
    const progress = r.dirty ? r.latest : undefined;
    r.dirty = false;
    r.lastSentAt = Date.now();
    return this.write(r, () => this.queue.heartbeat(r.task.id, progress, { lease: r.lease })).then(
      () => undefined,
      (err: unknown) => {
        if (isRefusal(err)) this.lost(r, err);
        else this.emit('error', err); // the next heartbeat tries again
      },
    );
  }

  private heartbeatAll(): void {
    for (const r of this.running.values()) {
      if (!r.done && !r.flushing) void this.flush(r);
    }
  }

  /** Runs a write after the task's earlier writes, so a final write never overtakes a heartbeat. */
  private write<T>(r: Running, fn: () => Promise<T>): Promise<T> {
    let next: Promise<T>;
    if (r.writes) next = r.writes.then(fn, fn);
    else {
      try {
        next = fn();
      } catch (err) {
        next = Promise.reject(err);
      }
    }
    // Each caller handles its own write's failure; the next write goes after it either way.
    r.writes = next;
    return next;
  }

  /** The task is no longer this worker's (cancelled, lease lost, ...): its signal aborts, nothing more is written. */
  private lost(r: Running, err: TaskLedgerError): void {
    const first = !r.controller.aborted;
    r.done = true;
    r.controller.abort(err);
    if (first) this.emit('task:lost', r.task, err);
  }
}
