import { Counter, Gauge, register as defaultRegistry, type Registry } from 'prom-client';
import { QueueClosedError } from '../errors.js';
import type { QueueState, QueueStats } from '../projections/stats.js';
import { ENDED_STATUSES } from '../redis/keys.js';
import type { TaskQueue } from '../task-queue.js';
import { checkedPrefix, checkedRegistry, checkedTarget, once } from './registry-helpers.js';

type StatsReader = () => Promise<QueueStats>;

/**
 * The namespaces each registry's state gauges report, by prefix: one reader per namespace, so a second
 * call for the same queue (or another TaskQueue on its namespace) replaces the reader instead of adding one.
 */
const STATE_SOURCES = new WeakMap<Registry, Map<string, Map<string, StatsReader>>>();

function sourcesOf(registry: Registry, prefix: string): Map<string, StatsReader> {
  let byPrefix = STATE_SOURCES.get(registry);
  if (!byPrefix) STATE_SOURCES.set(registry, (byPrefix = new Map<string, Map<string, StatsReader>>()));
  let sources = byPrefix.get(prefix);
  if (!sources) byPrefix.set(prefix, (sources = new Map<string, StatsReader>()));
  return sources;
}

/** Every registered namespace's stats; a closed queue stops being reported rather than failing the scrape. */
async function readAll(sources: Map<string, StatsReader>): Promise<[string, QueueStats][]> {
  const read = await Promise.all(
    [...sources].map(async ([namespace, reader]): Promise<[string, QueueStats] | undefined> => {
      try {
        return [namespace, await reader()];
      } catch (err) {
        if (!(err instanceof QueueClosedError)) throw err;
        if (sources.get(namespace) === reader) sources.delete(namespace);
        return undefined;
      }
    }),
  );
  return read.filter((entry) => entry !== undefined);
}

/**
 * Gauges of the queue's state, read from Redis when scraped (one `stats()` per namespace and scrape, shared
 * by all the gauges), labelled with the queue's `namespace`: waiting, delayed and running per queue, the
 * oldest waiting task's age, consumer-group lag, the event log's length, memory and oldest entry's age, the
 * archive's lag, the time since the last compaction, what compaction has reclaimed and removed (counters,
 * as the metadata keeps them), and the ended tasks still held per status. Call it once per TaskQueue to
 * report several namespaces in one registry; the metric names start with `prefix`.
 */
export function queueStateMetrics(q: TaskQueue, prefix = 'taskledger', registry: Registry = defaultRegistry): void {
  checkedTarget(q, 'stats', 'a TaskQueue');
  checkedRegistry(registry);
  const p = checkedPrefix(prefix);
  const sources = sourcesOf(registry, p);
  let snapshot: { at: number; value: Promise<QueueStats> } | undefined;
  sources.set(q.namespace, () => {
    // All gauges of one scrape share one reading.
    if (!snapshot || Date.now() - snapshot.at > 250) snapshot = { at: Date.now(), value: q.stats() };
    return snapshot.value;
  });
  /**
   * One metric whose samples are read from every namespace's stats at scrape time: `rows` gives each
   * sample's labels (besides `namespace`) and value (null: no sample). A counter is set to the total the
   * metadata keeps.
   */
  const labelled = (
    kind: 'gauge' | 'counter',
    name: string,
    help: string,
    labels: readonly string[],
    rows: (s: QueueStats) => [labels: Record<string, string>, value: number | null][],
  ) =>
    once(registry, name, () => {
      const config = { name, help, labelNames: ['namespace', ...labels], registers: [registry] };
      const fill = async (metric: Gauge | Counter, write: (labels: Record<string, string>, value: number) => void) => {
        const all = await readAll(sources);
        metric.reset();
        for (const [namespace, s] of all) for (const [l, v] of rows(s)) if (v !== null) write({ namespace, ...l }, v);
      };
      if (kind === 'counter') {
        const counter: Counter = new Counter({
          ...config,
          collect: () => fill(counter, (l, v) => counter.inc(l, Math.max(0, v))),
        });
        return counter;
      }
      const gauge: Gauge = new Gauge({ ...config, collect: () => fill(gauge, (l, v) => gauge.set(l, v)) });
      return gauge;
    });
  const perQueue = (name: string, help: string, pick: (s: QueueState) => number | null) =>
    labelled('gauge', name, help, ['queue'], (s) =>
      Object.entries(s.queues).map(([queue, state]) => [{ queue }, pick(state)]),
    );
  const perNamespace = (name: string, help: string, pick: (s: QueueStats) => number | null) =>
    labelled('gauge', name, help, [], (s) => [[{}, pick(s)]]);
  const perStatus = (name: string, help: string) =>
    labelled('gauge', name, help, ['status'], (s) => ENDED_STATUSES.map((status) => [{ status }, s.ended[status]]));
  // All-time totals the metadata keeps: counters, set to the stored value at each scrape.
  const perNamespaceTotal = (name: string, help: string, pick: (s: QueueStats) => number) =>
    labelled('counter', name, help, [], (s) => [[{}, pick(s)]]);
  const ageSeconds = (s: QueueStats, ms: number | null | undefined) =>
    ms === null || ms === undefined ? null : Math.max(0, s.at.getTime() - ms) / 1000;
  perQueue(`${p}_queue_waiting`, 'Tasks due and waiting.', (s) => s.waiting);
  perQueue(`${p}_queue_delayed`, 'Waiting tasks not due yet (delayed or waiting to retry).', (s) => s.delayed);
  perQueue(`${p}_queue_running`, 'Running tasks.', (s) => s.running);
  perQueue(`${p}_queue_oldest_waiting_seconds`, 'Age of the oldest due waiting task.', (s) => s.oldestWaitingMs / 1000);
  perQueue(`${p}_queue_paused`, 'Whether the queue is paused (1) or not (0).', (s) => (s.paused ? 1 : 0));
  perQueue(`${p}_queue_concurrency_limit`, "The queue's concurrency cap (absent without one).", (s) => s.concurrency);
  perQueue(
    `${p}_queue_rate_limit_per_second`,
    "The queue's rate limit as starts per second (absent without one).",
    (s) => (s.rateLimit ? (s.rateLimit.max * 1000) / s.rateLimit.perMs : null),
  );
  perQueue(`${p}_queue_consumer_lag`, 'Ready entries the consumer group has not delivered yet.', (s) => s.lag);
  perNamespace(`${p}_tasks_running`, 'Running tasks in the namespace.', (s) => s.running);
  perNamespace(`${p}_event_log_entries`, 'Entries in the event log.', (s) => s.events);
  perNamespace(`${p}_event_log_bytes`, 'Estimated memory of the event log.', (s) => s.eventLogBytes);
  perNamespace(`${p}_event_log_oldest_age_seconds`, 'Age of the oldest entry still in the event log.', (s) =>
    ageSeconds(s, s.log.oldestEventAt?.getTime()),
  );
  perNamespace(
    `${p}_event_log_archive_lag_seconds`,
    'Age of the oldest log entry not archived yet (0 when all are; absent before anything was archived).',
    (s) => (s.log.archiveLagMs === null ? null : s.log.archiveLagMs / 1000),
  );
  perNamespace(
    `${p}_last_compaction_age_seconds`,
    'Time since the last compaction pass ended (absent before the first).',
    (s) => ageSeconds(s, s.compaction.last && s.compaction.last.startedAt + s.compaction.last.durationMs),
  );
  perNamespaceTotal(
    `${p}_compaction_reclaimed_bytes_total`,
    'Estimated event log memory reclaimed by compaction.',
    (s) => s.compaction.reclaimedLogBytes,
  );
  perNamespaceTotal(
    `${p}_compaction_removed_tasks_total`,
    'Ended task projections removed by retention.',
    (s) => s.compaction.removedTasks,
  );
  perStatus(`${p}_ended_tasks_held`, 'Ended tasks whose projection is still in Redis (what retention removes).');
}
