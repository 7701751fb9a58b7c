import { register as defaultRegistry, type Counter, type Gauge, type Histogram, type Registry } from 'prom-client';
import { TaskLedgerError } from '../errors.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import { intercept, type AnyFn } from './method-interceptor.js';
import {
  LATENCY_BUCKETS,
  addSource,
  checkedPrefix,
  checkedRegistry,
  checkedTarget,
  counter,
  histogram,
  sourcedGauge,
} from './registry-helpers.js';

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

/** What the last setupSchedulerMetrics call returned: schedulerWithMetrics records into it when given no metrics. */
let lastSetup: SchedulerMetrics | undefined;

/**
 * Registers the scheduler's metrics, their names starting with `prefix`, in `registry` (once: a second call
 * returns the same metrics). schedulerWithMetrics given no metrics uses the last call's.
 */
export function setupSchedulerMetrics(prefix: string, registry: Registry = defaultRegistry): SchedulerMetrics {
  checkedRegistry(registry);
  const p = checkedPrefix(prefix);
  lastSetup = {
    labels: ['queue', 'type'],
    registry,
    scheduleCounter: counter(registry, {
      name: `${p}_schedule_emissions_total`,
      help: 'Ticks emitted as tasks.',
      labelNames: ['queue', 'type'] as const,
    }),
    errorCounter: counter(registry, {
      name: `${p}_scheduler_errors_total`,
      help: 'Scheduler errors by operation.',
      labelNames: ['operation'] as const,
    }),
    leader: sourcedGauge(registry, `${p}_scheduler_leader`, '1 while this instance leads the scheduler.'),
    schedules: sourcedGauge(registry, `${p}_schedules`, 'Schedules in the namespace.'),
    emissionDelay: histogram(registry, {
      name: `${p}_schedule_emission_delay_seconds`,
      help: 'How late a tick was emitted after its time.',
      buckets: LATENCY_BUCKETS,
    }),
  };
  return lastSetup;
}

/**
 * The scheduler, with schedule/ensureSchedule/unschedule errors counted; emissions are counted from its
 * events. Without `metrics`, into the last setupSchedulerMetrics call's (before any, the default set: prefix
 * `taskledger`, default registry).
 */
export function schedulerWithMetrics<T extends Scheduler>(
  s: T,
  metrics: SchedulerMetrics = lastSetup ?? setupSchedulerMetrics('taskledger'),
): T {
  checkedTarget(s, 'on', 'a Scheduler');
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
      if (!(err instanceof TaskLedgerError && err.code === 'ERR_NOT_SCHEDULED'))
        metrics.errorCounter.inc({ operation });
      throw err;
    }
  };
  addSource(metrics.schedules, () => s.countSchedules().catch(() => 0));
  return intercept(s, {
    schedule: counted('schedule'),
    unschedule: counted('unschedule'),
    ensureSchedule: counted('ensureSchedule'),
  });
}
