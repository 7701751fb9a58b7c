import { Counter, Gauge, Histogram, register as defaultRegistry, type Registry } from 'prom-client';
import { TaskLedgerError, ValidationError } from './errors.js';
import type { Scheduler } from './scheduler/scheduler.js';
import type { TaskQueue } from './task-queue.js';
import type { Task } from './types.js';
import type { QueueStats, QueueState } from './projections/stats.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Worker } from './worker/worker.js';

/**
 * Prometheus metrics, named by Prometheus conventions: base units (seconds), `_total` counters, labels
 * `queue`, `type`, `operation`, `outcome` and `code`: all bounded (no task ids). Every setup function is
 * safe to call twice for the same registry: it returns the metrics registered the first time.
 */

/** Seconds; from half a millisecond (a pipelined enqueue) to ten seconds. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Seconds; waits and processing, up to an hour. */
const LONG_BUCKETS = [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600];

function prefix(namespace: string): string {
  if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(namespace)) {
    throw new ValidationError(`metrics namespace "${namespace}" must match [a-zA-Z_][a-zA-Z0-9_]*`);
  }
  return namespace;
}

/** Returns the metric registered under `name`, or registers the one `make` builds. */
function once<M>(registry: Registry, name: string, make: () => M): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? make();
}

/** Sources a scraped gauge sums over (several workers or schedulers may share one registry). */
const SOURCES = new WeakMap<object, Set<() => number | Promise<number>>>();

/** A gauge whose value is read when scraped: the sum of what its sources report. */
function sourcedGauge(registry: Registry, name: string, help: string): Gauge<never> {
  return once(registry, name, () => {
    const sources = new Set<() => number | Promise<number>>();
    const gauge: Gauge<never> = new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        let sum = 0;
        for (const read of sources) sum += await read();
        gauge.set(sum);
      },
    });
    SOURCES.set(gauge, sources);
    return gauge;
  });
}

/** Adds a source to a scraped gauge; returns its removal. */
function addSource(gauge: Gauge<never>, read: () => number | Promise<number>): () => void {
  SOURCES.get(gauge)?.add(read);
  return () => SOURCES.get(gauge)?.delete(read);
}

export interface TaskQueueMetrics {
  /** The labels of taskCounter and enqueueDuration, as the Go original's Labels. */
  labels: string[];
  /** Tasks enqueued. */
  taskCounter: Counter<'queue' | 'type'>;
  /** Time an enqueue call took, in seconds. */
  enqueueDuration: Histogram<'queue' | 'type'>;
  /** Tasks handed out by dequeue. */
  dequeueCounter: Counter<'queue' | 'type'>;
  /** Time dequeue waited for a task, in seconds. */
  dequeueWait: Histogram<never>;
  /** Dequeue calls that failed, by error code (ERR_ABORTED for an aborted wait). */
  dequeueErrors: Counter<'code'>;
  /** heartbeat, finish, fail, cancel by outcome; a refusal carries its error code (a fenced-off stale worker shows as ERR_TASK_LEASE_LOST). */
  transitions: Counter<'operation' | 'outcome' | 'code'>;
  registry: Registry;
}

export function setupTaskQueueMetrics(namespace: string, registry: Registry = defaultRegistry): TaskQueueMetrics {
  const p = prefix(namespace);
  const labels = ['queue', 'type'];
  const reg = [registry];
  return {
    labels,
    registry,
    taskCounter: once(registry, `${p}_tasks_enqueued_total`, () =>
      new Counter({ name: `${p}_tasks_enqueued_total`, help: 'Tasks enqueued.', labelNames: ['queue', 'type'] as const, registers: reg }),
    ),
    enqueueDuration: once(registry, `${p}_enqueue_duration_seconds`, () =>
      new Histogram({ name: `${p}_enqueue_duration_seconds`, help: 'Time an enqueue call took.', labelNames: ['queue', 'type'] as const, buckets: LATENCY_BUCKETS, registers: reg }),
    ),
    dequeueCounter: once(registry, `${p}_tasks_dequeued_total`, () =>
      new Counter({ name: `${p}_tasks_dequeued_total`, help: 'Tasks handed out by dequeue.', labelNames: ['queue', 'type'] as const, registers: reg }),
    ),
    dequeueWait: once(registry, `${p}_dequeue_wait_seconds`, () =>
      new Histogram({ name: `${p}_dequeue_wait_seconds`, help: 'Time dequeue waited for a task.', buckets: LONG_BUCKETS, registers: reg }),
    ),
    dequeueErrors: once(registry, `${p}_dequeue_errors_total`, () =>
      new Counter({ name: `${p}_dequeue_errors_total`, help: 'Dequeue calls that failed, by error code.', labelNames: ['code'] as const, registers: reg }),
    ),
    transitions: once(registry, `${p}_task_transitions_total`, () =>
      new Counter({
        name: `${p}_task_transitions_total`,
        help: 'heartbeat, finish, fail and cancel calls by outcome; refusals carry their error code.',
        labelNames: ['operation', 'outcome', 'code'] as const,
        registers: reg,
      }),
    ),
  };
}

export interface SchedulerMetrics {
  /** The labels of scheduleCounter, as the Go original's Labels. */
  labels: string[];
  /** Ticks emitted (tasks enqueued by schedules). */
  scheduleCounter: Counter<'queue' | 'type'>;
  /** Scheduler errors by operation. */
  errorCounter: Counter<'operation'>;
  /** 1 while this instance leads, else 0. */
  leader: Gauge<never>;
  /** Schedules in the namespace (read when scraped). */
  schedules: Gauge<never>;
  /** How late a tick was emitted after its time, in seconds. */
  emissionDelay: Histogram<never>;
  registry: Registry;
}

export function setupSchedulerMetrics(namespace: string, registry: Registry = defaultRegistry): SchedulerMetrics {
  const p = prefix(namespace);
  const reg = [registry];
  return {
    labels: ['queue', 'type'],
    registry,
    scheduleCounter: once(registry, `${p}_schedule_emissions_total`, () =>
      new Counter({ name: `${p}_schedule_emissions_total`, help: 'Ticks emitted as tasks.', labelNames: ['queue', 'type'] as const, registers: reg }),
    ),
    errorCounter: once(registry, `${p}_scheduler_errors_total`, () =>
      new Counter({ name: `${p}_scheduler_errors_total`, help: 'Scheduler errors by operation.', labelNames: ['operation'] as const, registers: reg }),
    ),
    leader: sourcedGauge(registry, `${p}_scheduler_leader`, '1 while this instance leads the scheduler.'),
    schedules: sourcedGauge(registry, `${p}_schedules`, 'Schedules in the namespace.'),
    emissionDelay: once(registry, `${p}_schedule_emission_delay_seconds`, () =>
      new Histogram({ name: `${p}_schedule_emission_delay_seconds`, help: 'How late a tick was emitted after its time.', buckets: LATENCY_BUCKETS, registers: reg }),
    ),
  };
}

type AnyFn = (...args: never[]) => Promise<unknown>;
type Wrap = (orig: AnyFn, args: unknown[]) => Promise<unknown>;

/** A proxy of `target` whose listed methods go through `wrap`; everything else is the target's own. */
function intercept<T extends object>(target: T, wrap: Record<string, Wrap>): T {
  return new Proxy(target, {
    get(obj, prop, receiver) {
      const value = Reflect.get(obj, prop, receiver) as unknown;
      const w = typeof prop === 'string' ? wrap[prop] : undefined;
      if (typeof value !== 'function') return value;
      const bound = (value as AnyFn).bind(obj);
      return w ? (...args: unknown[]) => w(bound, args) : bound;
    },
  });
}

const codeOf = (err: unknown) => (err instanceof TaskLedgerError ? err.code : 'ERR_UNKNOWN');

/** The queue, with enqueue and enqueueMany counted and timed (the Go original's QueuerWithMetrics). */
export function queuerWithMetrics<T extends TaskQueue>(q: T, metrics = setupTaskQueueMetrics('taskledger')): T {
  const observe = async (orig: AnyFn, args: unknown[], requests: { queue: string; type: string }[]) => {
    const end = Date.now();
    const result = await orig(...(args as never[]));
    const seconds = (Date.now() - end) / 1000;
    for (const r of requests) {
      metrics.taskCounter.inc({ queue: r.queue, type: r.type });
      metrics.enqueueDuration.observe({ queue: r.queue, type: r.type }, seconds);
    }
    return result;
  };
  return intercept(q, {
    enqueue: (orig, args) => observe(orig, args, [args[0] as { queue: string; type: string }]),
    enqueueMany: (orig, args) => observe(orig, args, args[0] as { queue: string; type: string }[]),
  });
}

/**
 * The queue, with dequeue counted and its wait timed, and heartbeat, finish, fail and cancel counted by
 * outcome (the Go original's DequeuerWithMetrics, which measured nothing).
 */
export function dequeuerWithMetrics<T extends TaskQueue>(q: T, metrics = setupTaskQueueMetrics('taskledger')): T {
  const transition = (operation: string) => async (orig: AnyFn, args: unknown[]) => {
    try {
      const result = await orig(...(args as never[]));
      metrics.transitions.inc({ operation, outcome: 'ok', code: '' });
      return result;
    } catch (err) {
      metrics.transitions.inc({ operation, outcome: 'refused', code: codeOf(err) });
      throw err;
    }
  };
  return intercept(q, {
    dequeue: async (orig, args) => {
      const started = Date.now();
      try {
        const task = (await orig(...(args as never[]))) as Task;
        metrics.dequeueCounter.inc({ queue: task.queue, type: task.type });
        metrics.dequeueWait.observe((Date.now() - started) / 1000);
        return task;
      } catch (err) {
        metrics.dequeueErrors.inc({ code: codeOf(err) });
        throw err;
      }
    },
    heartbeat: transition('heartbeat'),
    finish: transition('finish'),
    fail: transition('fail'),
    cancel: transition('cancel'),
  });
}

/** The scheduler, with schedule/ensureSchedule/unschedule errors counted; emissions are counted from its events. */
export function schedulerWithMetrics<T extends Scheduler>(s: T, metrics = setupSchedulerMetrics('taskledger')): T {
  s.on('tick', (schedule, delayMs) => {
    metrics.scheduleCounter.inc({ queue: schedule.queue, type: schedule.type });
    metrics.emissionDelay.observe(Math.max(0, delayMs) / 1000);
  });
  s.on('error', () => metrics.errorCounter.inc({ operation: 'emit' }));
  addSource(metrics.leader, () => (s.isLeader ? 1 : 0));
  const counted = (operation: string) => async (orig: AnyFn, args: unknown[]) => {
    try {
      return await orig(...(args as never[]));
    } catch (err) {
      if (!(err instanceof TaskLedgerError && err.code === 'ERR_NOT_SCHEDULED')) metrics.errorCounter.inc({ operation });
      throw err;
    }
  };
  addSource(metrics.schedules, () => s.countSchedules().catch(() => 0));
  return intercept(s, { schedule: counted('schedule'), unschedule: counted('unschedule'), ensureSchedule: counted('ensureSchedule') } as never);
}

export interface WorkerMetrics {
  inProgress: Gauge<'queue' | 'type'>;
  busySlots: Gauge<never>;
  stuckSlots: Gauge<never>;
  processing: Histogram<'queue' | 'type' | 'outcome'>;
  retries: Counter<'queue' | 'type'>;
  handlerErrors: Counter<'queue' | 'type'>;
  queueLatency: Histogram<'queue' | 'type'>;
}

/** Counts what a worker does (listening to its events; the worker itself is unchanged). */
export function workerWithMetrics<T extends Worker>(w: T, namespace = 'taskledger', registry: Registry = defaultRegistry): T {
  const p = prefix(namespace);
  const reg = [registry];
  const m: WorkerMetrics = {
    inProgress: once(registry, `${p}_worker_tasks_in_progress`, () =>
      new Gauge({ name: `${p}_worker_tasks_in_progress`, help: 'Tasks whose handler is running.', labelNames: ['queue', 'type'] as const, registers: reg }),
    ),
    busySlots: sourcedGauge(registry, `${p}_worker_busy_slots`, 'Concurrency slots in use, stuck ones included.'),
    stuckSlots: sourcedGauge(registry, `${p}_worker_stuck_slots`, 'Slots held by handlers that outlived their task (timed out, cancelled, lost).'),
    processing: once(registry, `${p}_task_processing_seconds`, () =>
      new Histogram({ name: `${p}_task_processing_seconds`, help: 'Handler time by outcome.', labelNames: ['queue', 'type', 'outcome'] as const, buckets: LONG_BUCKETS, registers: reg }),
    ),
    retries: once(registry, `${p}_task_retries_total`, () =>
      new Counter({ name: `${p}_task_retries_total`, help: 'Attempts that failed and will run again.', labelNames: ['queue', 'type'] as const, registers: reg }),
    ),
    handlerErrors: once(registry, `${p}_handler_errors_total`, () =>
      new Counter({ name: `${p}_handler_errors_total`, help: 'Handler errors and timeouts.', labelNames: ['queue', 'type'] as const, registers: reg }),
    ),
    queueLatency: once(registry, `${p}_task_queue_latency_seconds`, () =>
      new Histogram({ name: `${p}_task_queue_latency_seconds`, help: 'Time from enqueue (or the schedule tick) to the first start; a delayed task counts its delay.', labelNames: ['queue', 'type'] as const, buckets: LONG_BUCKETS, registers: reg }),
    ),
  };
  const startedAt = new Map<string, number>();
  const key = (t: Task) => t.lease ?? t.id;
  const done = (t: Task, outcome: string) => {
    const at = startedAt.get(key(t));
    if (at === undefined) return;
    startedAt.delete(key(t));
    m.inProgress.dec({ queue: t.queue, type: t.type });
    m.processing.observe({ queue: t.queue, type: t.type, outcome }, (Date.now() - at) / 1000);
  };
  w.on('task:started', (t) => {
    startedAt.set(key(t), Date.now());
    m.inProgress.inc({ queue: t.queue, type: t.type });
    if (t.attempt === 1 && t.startedAt) {
      const since = t.scheduledAt ?? t.createdAt;
      m.queueLatency.observe({ queue: t.queue, type: t.type }, Math.max(0, t.startedAt.getTime() - since.getTime()) / 1000);
    }
  });
  w.on('task:finished', (t) => done(t, 'finished'));
  w.on('task:failed', (t) => {
    m.handlerErrors.inc({ queue: t.queue, type: t.type });
    done(t, 'failed');
  });
  w.on('task:retrying', (t) => {
    m.retries.inc({ queue: t.queue, type: t.type });
    m.handlerErrors.inc({ queue: t.queue, type: t.type });
    done(t, 'retrying');
  });
  w.on('task:lost', (t) => done(t, 'lost'));
  const removers = [addSource(m.busySlots, () => w.state().busy), addSource(m.stuckSlots, () => w.state().stuck)];
  w.once('closed', () => removers.forEach((remove) => remove()));
  return w;
}

/** The queue whose state each registry's state gauges report (one per registry; the last call wins). */
const STATE_SOURCE = new WeakMap<Registry, () => Promise<QueueStats>>();

/**
 * Gauges of the queue's state, read from Redis when scraped (one `stats()` per scrape, shared by all the
 * gauges): waiting, delayed and running per queue, the oldest waiting task's age, consumer-group lag, the
 * event log's length and its memory.
 */
export function queueStateMetrics(q: TaskQueue, namespace = 'taskledger', registry: Registry = defaultRegistry): void {
  const p = prefix(namespace);
  let snapshot: { at: number; value: Promise<QueueStats> } | undefined;
  STATE_SOURCE.set(registry, () => {
    // All gauges of one scrape share one reading.
    if (!snapshot || Date.now() - snapshot.at > 250) snapshot = { at: Date.now(), value: q.stats() };
    return snapshot.value;
  });
  const read = () => STATE_SOURCE.get(registry)!();
  const perQueue = (name: string, help: string, pick: (s: QueueState) => number | null) =>
    once(registry, name, () => {
      const gauge: Gauge<'queue'> = new Gauge({
        name,
        help,
        labelNames: ['queue'] as const,
        registers: [registry],
        async collect() {
          const s = await read();
          gauge.reset();
          for (const [queue, state] of Object.entries(s.queues)) {
            const v = pick(state);
            if (v !== null) gauge.set({ queue }, v);
          }
        },
      });
      return gauge;
    });
  const global = (name: string, help: string, pick: (s: QueueStats) => number | null) =>
    once(registry, name, () => {
      const gauge: Gauge<never> = new Gauge({
        name,
        help,
        registers: [registry],
        async collect() {
          const v = pick(await read());
          if (v !== null) gauge.set(v);
        },
      });
      return gauge;
    });
  perQueue(`${p}_queue_waiting`, 'Tasks due and waiting.', (s) => s.waiting);
  perQueue(`${p}_queue_delayed`, 'Waiting tasks not due yet (delayed or waiting to retry).', (s) => s.delayed);
  perQueue(`${p}_queue_running`, 'Running tasks.', (s) => s.running);
  perQueue(`${p}_queue_oldest_waiting_seconds`, 'Age of the oldest due waiting task.', (s) => s.oldestWaitingMs / 1000);
  perQueue(`${p}_queue_consumer_lag`, 'Ready entries the consumer group has not delivered yet.', (s) => s.lag);
  global(`${p}_tasks_running`, 'Running tasks in the namespace.', (s) => s.running);
  global(`${p}_event_log_entries`, 'Entries in the event log.', (s) => s.events);
  global(`${p}_event_log_bytes`, 'Estimated memory of the event log.', (s) => s.eventLogBytes);
}

/**
 * A request handler for node:http serving the registry in the Prometheus text format:
 * `http.createServer(metricsHandler()).listen(9464)`. In a framework, serve `await registry.metrics()` with
 * `registry.contentType` as the content type.
 */
export function metricsHandler(registry: Registry = defaultRegistry): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (req.url !== undefined && !req.url.startsWith('/metrics')) {
      res.writeHead(404).end('not found; metrics are at /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text),
      (err: unknown) => res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`metrics collection failed: ${(err as Error).message}\n`),
    );
  };
}
