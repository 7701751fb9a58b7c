import { register as defaultRegistry, type Counter, type Histogram, type Registry } from 'prom-client';
import type { TaskQueue } from '../task-queue.js';
import type { Task } from '../types.js';
import { codeOf, intercept, type AnyFn } from './method-interceptor.js';
import {
  LATENCY_BUCKETS,
  LONG_BUCKETS,
  checkedPrefix,
  checkedRegistry,
  checkedTarget,
  counter,
  histogram,
} from './registry-helpers.js';

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
  /**
   * heartbeat, finish, fail, cancel by outcome; only a refusal has a `code` (its error code: a fenced-off
   * stale worker shows as ERR_TASK_LEASE_LOST).
   */
  transitions: Counter<'operation' | 'outcome' | 'code'>;
  /**
   * Starts held back by a queue's controls (reason: paused, hold, concurrency, rate): each claim that finds
   * a queue held adds that queue's ready tasks then, so a queue held for long counts each time a reader looks.
   */
  startsHeld: Counter<'queue' | 'reason'>;
  registry: Registry;
}

/**
 * What the last setupTaskQueueMetrics call returned: the wrappers record into it when given no metrics, as
 * the Go original's package-level globals did.
 */
let lastSetup: TaskQueueMetrics | undefined;

/** The last setup's metrics, or (before any setup call) the default set: prefix `taskledger`, default registry. */
function currentMetrics(): TaskQueueMetrics {
  return lastSetup ?? setupTaskQueueMetrics('taskledger');
}

/**
 * Registers the queue's counters and histograms, their names starting with `prefix`, in `registry` (once:
 * a second call returns the same metrics). The wrappers given no metrics use the last call's.
 */
export function setupTaskQueueMetrics(prefix: string, registry: Registry = defaultRegistry): TaskQueueMetrics {
  checkedRegistry(registry);
  const p = checkedPrefix(prefix);
  lastSetup = {
    labels: ['queue', 'type'],
    registry,
    taskCounter: counter(registry, {
      name: `${p}_tasks_enqueued_total`,
      help: 'Tasks enqueued.',
      labelNames: ['queue', 'type'] as const,
    }),
    enqueueDuration: histogram(registry, {
      name: `${p}_enqueue_duration_seconds`,
      help: 'Time an enqueue call took.',
      labelNames: ['queue', 'type'] as const,
      buckets: LATENCY_BUCKETS,
    }),
    dequeueCounter: counter(registry, {
      name: `${p}_tasks_dequeued_total`,
      help: 'Tasks handed out by dequeue.',
      labelNames: ['queue', 'type'] as const,
    }),
    dequeueWait: histogram(registry, {
      name: `${p}_dequeue_wait_seconds`,
      help: 'Time dequeue waited for a task.',
      buckets: LONG_BUCKETS,
    }),
    dequeueErrors: counter(registry, {
      name: `${p}_dequeue_errors_total`,
      help: 'Dequeue calls that failed, by error code.',
      labelNames: ['code'] as const,
    }),
    transitions: counter(registry, {
      name: `${p}_task_transitions_total`,
      help: 'heartbeat, finish, fail and cancel calls by outcome; refusals carry their error code.',
      labelNames: ['operation', 'outcome', 'code'] as const,
    }),
    startsHeld: counter(registry, {
      name: `${p}_starts_held_total`,
      help: "Ready tasks a claim found held back by their queue's controls, by reason (paused, hold, concurrency, rate); counted at each claim that finds the queue held, so a long hold counts each time a reader looks.",
      labelNames: ['queue', 'reason'] as const,
    }),
  };
  return lastSetup;
}

/**
 * The queue, with enqueue and enqueueMany counted and timed (the Go original's QueuerWithMetrics); without
 * `metrics`, into the last setupTaskQueueMetrics call's.
 */
export function queuerWithMetrics<T extends TaskQueue>(q: T, metrics: TaskQueueMetrics = currentMetrics()): T {
  checkedTarget(q, 'enqueue', 'a TaskQueue');
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

/** Queues whose `held` events are counted already (a second wrapper must not count them twice). */
const counting = new WeakSet<TaskQueue>();

/**
 * The queue, with dequeue counted and its wait timed, and heartbeat, finish, fail and cancel counted by
 * outcome (the Go original's DequeuerWithMetrics, which measured nothing); without `metrics`, into the last
 * setupTaskQueueMetrics call's.
 */
export function dequeuerWithMetrics<T extends TaskQueue>(q: T, metrics: TaskQueueMetrics = currentMetrics()): T {
  checkedTarget(q, 'dequeue', 'a TaskQueue');
  if (!counting.has(q)) {
    counting.add(q);
    q.on('held', (held) => {
      for (const h of held) if (h.waiting > 0) metrics.startsHeld.inc({ queue: h.queue, reason: h.reason }, h.waiting);
    });
  }
  const transition = (operation: string) => async (orig: AnyFn, args: unknown[]) => {
    try {
      const result = await orig(...(args as never[]));
      // No code label at all: prom-client leaves out a label it was not given, where code: '' would print code="".
      metrics.transitions.inc({ operation, outcome: 'ok' });
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
