import { register as defaultRegistry, type Counter, type Gauge, type Histogram, type Registry } from 'prom-client';
import type { Task } from '../types.js';
import type { Worker } from '../worker/worker.js';
import {
  LONG_BUCKETS,
  addSource,
  checkedPrefix,
  checkedRegistry,
  checkedTarget,
  counter,
  gauge,
  histogram,
  sourcedGauge,
} from './registry-helpers.js';

export interface WorkerMetrics {
  inProgress: Gauge<'queue' | 'type'>;
  busySlots: Gauge<never>;
  stuckSlots: Gauge<never>;
  processing: Histogram<'queue' | 'type' | 'outcome'>;
  retries: Counter<'queue' | 'type'>;
  handlerErrors: Counter<'queue' | 'type'>;
  queueLatency: Histogram<'queue' | 'type'>;
}

/**
 * Counts what a worker does into metrics whose names start with `prefix`, listening to its events (the
 * worker itself is unchanged).
 */
export function workerWithMetrics<T extends Worker>(
  w: T,
  prefix = 'taskledger',
  registry: Registry = defaultRegistry,
): T {
  checkedTarget(w, 'on', 'a Worker');
  checkedRegistry(registry);
  const p = checkedPrefix(prefix);
  const m: WorkerMetrics = {
    inProgress: gauge(registry, {
      name: `${p}_worker_tasks_in_progress`,
      help: 'Tasks whose handler is running.',
      labelNames: ['queue', 'type'] as const,
    }),
    busySlots: sourcedGauge(registry, `${p}_worker_busy_slots`, 'Concurrency slots in use, stuck ones included.'),
    stuckSlots: sourcedGauge(
      registry,
      `${p}_worker_stuck_slots`,
      'Slots held by handlers that outlived their task (timed out, cancelled, lost).',
    ),
    processing: histogram(registry, {
      name: `${p}_task_processing_seconds`,
      help: 'Handler time by outcome.',
      labelNames: ['queue', 'type', 'outcome'] as const,
      buckets: LONG_BUCKETS,
    }),
    retries: counter(registry, {
      name: `${p}_task_retries_total`,
      help: 'Attempts that failed and will run again.',
      labelNames: ['queue', 'type'] as const,
    }),
    handlerErrors: counter(registry, {
      name: `${p}_handler_errors_total`,
      help: 'Handler errors and timeouts.',
      labelNames: ['queue', 'type'] as const,
    }),
    queueLatency: histogram(registry, {
      name: `${p}_task_queue_latency_seconds`,
      help: 'Time from enqueue (or the schedule tick) to the first start; a delayed task counts its delay.',
      labelNames: ['queue', 'type'] as const,
      buckets: LONG_BUCKETS,
    }),
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
      m.queueLatency.observe(
        { queue: t.queue, type: t.type },
        Math.max(0, t.startedAt.getTime() - since.getTime()) / 1000,
      );
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
