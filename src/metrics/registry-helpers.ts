import {
  Counter,
  Gauge,
  Histogram,
  type CounterConfiguration,
  type GaugeConfiguration,
  type HistogramConfiguration,
  type Registry,
} from 'prom-client';
import { ValidationError } from '../errors.js';

/** Seconds; from half a millisecond (a pipelined enqueue) to ten seconds. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Seconds; waits and processing, up to an hour. */
export const LONG_BUCKETS = [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600];

/** A prom-client registry, checked at the public boundary (a JavaScript caller can pass anything). */
export function checkedRegistry(registry: Registry): Registry {
  const given: unknown = registry;
  if (typeof given !== 'object' || given === null || typeof (given as Registry).getSingleMetric !== 'function')
    throw new ValidationError('registry must be a prom-client Registry');
  return registry;
}

/** What a metrics wrapper is given: an object with the method it hooks (a TaskQueue, Worker or Scheduler). */
export function checkedTarget<T>(target: T, method: string, what: string): T {
  const given: unknown = target;
  if (typeof given !== 'object' || given === null || typeof (given as Record<string, unknown>)[method] !== 'function')
    throw new ValidationError(`expected ${what}`);
  return target;
}

/** The prefix every metric name starts with, checked before it can make an invalid name. */
export function checkedPrefix(prefix: string): string {
  if (typeof prefix !== 'string' || !/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(prefix)) {
    throw new ValidationError(`metrics prefix "${prefix}" must match [a-zA-Z_][a-zA-Z0-9_]*`);
  }
  return prefix;
}

/** Returns the metric registered under `name`, or registers the one `make` builds. */
export function once<M>(registry: Registry, name: string, make: () => M): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? make();
}

/** The counter registered under config.name in `registry`, made there on first use. */
export function counter<L extends string>(
  registry: Registry,
  config: Omit<CounterConfiguration<L>, 'registers'>,
): Counter<L> {
  return once(registry, config.name, () => new Counter({ ...config, registers: [registry] }));
}

/** The histogram registered under config.name in `registry`, made there on first use. */
export function histogram<L extends string>(
  registry: Registry,
  config: Omit<HistogramConfiguration<L>, 'registers'>,
): Histogram<L> {
  return once(registry, config.name, () => new Histogram({ ...config, registers: [registry] }));
}

/** The gauge registered under config.name in `registry`, made there on first use. */
export function gauge<L extends string>(
  registry: Registry,
  config: Omit<GaugeConfiguration<L>, 'registers'>,
): Gauge<L> {
  return once(registry, config.name, () => new Gauge({ ...config, registers: [registry] }));
}

/** Sources a scraped gauge sums over (several workers or schedulers may share one registry). */
const SOURCES = new WeakMap<object, Set<() => number | Promise<number>>>();

/** A gauge whose value is read when scraped: the sum of what its sources report. */
export function sourcedGauge(registry: Registry, name: string, help: string): Gauge<never> {
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
export function addSource(gauge: Gauge<never>, read: () => number | Promise<number>): () => void {
  SOURCES.get(gauge)?.add(read);
  return () => SOURCES.get(gauge)?.delete(read);
}
