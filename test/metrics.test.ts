import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { Registry, register as defaultRegistry } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import { AbortError, LeaseLostError, Scheduler, TaskFinishedError, TaskQueue, Worker } from '../src/index.js';
import {
  dequeuerWithMetrics,
  metricsHandler,
  queueStateMetrics,
  queuerWithMetrics,
  schedulerWithMetrics,
  setupSchedulerMetrics,
  setupTaskQueueMetrics,
  workerWithMetrics,
} from '../src/metrics/index.js';
import { sleep, useRedis } from './helpers/fixture.js';
import { tempFileArchive } from './helpers/archive.js';

const r = useRedis();

/** The value of one sample in Prometheus text, by metric name and exact label set ('' for none). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = (m[2] ?? '').split(',').filter(Boolean).sort().join(',');
    if (got === want.split(',').filter(Boolean).sort().join(',')) return Number(m[3]);
  }
  return undefined;
}

describe('metrics setup', () => {
  it('is safe to call twice, with the default or a custom registry', () => {
    const registry = new Registry();
    const a = setupTaskQueueMetrics('tl_twice', registry);
    const b = setupTaskQueueMetrics('tl_twice', registry);
    expect(b.taskCounter).toBe(a.taskCounter);
    expect(b.enqueueDuration).toBe(a.enqueueDuration);
    expect(a.labels).toEqual(['queue', 'type']);
    const s1 = setupSchedulerMetrics('tl_twice', registry);
    expect(setupSchedulerMetrics('tl_twice', registry).scheduleCounter).toBe(s1.scheduleCounter);
    // The default registry works too.
    expect(setupTaskQueueMetrics('tl_default_twice').taskCounter).toBe(
      setupTaskQueueMetrics('tl_default_twice').taskCounter,
    );
    expect(() => setupTaskQueueMetrics('bad-name', registry)).toThrow(/metrics prefix/);
  });
});

describe('queue wrappers', () => {
  it('count and time a scripted workload exactly, keeping the queue’s behaviour', async () => {
    const registry = new Registry();
    const metrics = setupTaskQueueMetrics('tl', registry);
    const base = r.queue();
    const q = dequeuerWithMetrics(queuerWithMetrics(base, metrics), metrics);
    expect(q).toBeInstanceOf(TaskQueue);
    const ids = [
      await q.enqueue({ queue: 'a', type: 'x' }),
      await q.enqueue({ queue: 'a', type: 'x' }),
      ...(await q.enqueueMany([
        { queue: 'a', type: 'x' },
        { queue: 'b', type: 'y' },
      ])),
    ];
    expect(ids).toHaveLength(4);
    const t1 = await q.dequeue(['a']);
    const t2 = await q.dequeue(['a']);
    const t3 = await q.dequeue(['a']);
    await expect(q.dequeue(['a'], { signal: AbortSignal.timeout(50) })).rejects.toBeInstanceOf(AbortError);
    await q.heartbeat(t1.id, { half: true });
    await q.finish(t1.id);
    await q.fail(t2.id, { error: 'x' });
    const refused = await q.heartbeat(t1.id).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TaskFinishedError); // errors still thrown, as they were
    await q
      .finish(t3.id, undefined, { lease: 'not-the-lease' })
      .catch((e: unknown) => expect(e).toBeInstanceOf(LeaseLostError));
    expect(await q.cancel(ids[3]!)).toBe(true); // values still returned
    expect((await q.get(t1.id))?.status).toBe('finished'); // unwrapped methods still work

    const text = await registry.metrics();
    expect(sample(text, 'tl_tasks_enqueued_total', { queue: 'a', type: 'x' })).toBe(3);
    expect(sample(text, 'tl_tasks_enqueued_total', { queue: 'b', type: 'y' })).toBe(1);
    expect(sample(text, 'tl_enqueue_duration_seconds_count', { queue: 'a', type: 'x' })).toBe(3);
    expect(sample(text, 'tl_enqueue_duration_seconds_sum', { queue: 'a', type: 'x' })).toBeGreaterThan(0);
    expect(sample(text, 'tl_tasks_dequeued_total', { queue: 'a', type: 'x' })).toBe(3);
    expect(sample(text, 'tl_dequeue_wait_seconds_count')).toBe(3);
    expect(sample(text, 'tl_dequeue_errors_total', { code: 'ERR_ABORTED' })).toBe(1);
    const t = (operation: string, outcome: string, code?: string) =>
      sample(
        text,
        'tl_task_transitions_total',
        code === undefined ? { operation, outcome } : { operation, outcome, code },
      );
    expect(t('heartbeat', 'ok')).toBe(1);
    expect(t('finish', 'ok')).toBe(1);
    expect(t('fail', 'ok')).toBe(1);
    expect(t('cancel', 'ok')).toBe(1);
    expect(t('heartbeat', 'refused', 'ERR_TASK_FINISHED')).toBe(1);
    expect(t('finish', 'refused', 'ERR_TASK_LEASE_LOST')).toBe(1); // a fenced-off stale worker shows up
    expect(text).not.toContain('code=""'); // an ok outcome has no code label, not an empty one
  });

  it('record into the last setup’s metrics when given none, as the Go original’s package-level globals', async () => {
    const registry = new Registry();
    setupTaskQueueMetrics('tl_first', registry);
    setupTaskQueueMetrics('tl_last', registry);
    const q = dequeuerWithMetrics(queuerWithMetrics(r.queue()));
    await q.enqueue({ queue: 'last', type: 'x' });
    const task = await q.dequeue(['last']);
    await q.finish(task.id);
    const text = await registry.metrics();
    expect(sample(text, 'tl_last_tasks_enqueued_total', { queue: 'last', type: 'x' })).toBe(1);
    expect(sample(text, 'tl_last_tasks_dequeued_total', { queue: 'last', type: 'x' })).toBe(1);
    expect(sample(text, 'tl_last_task_transitions_total', { operation: 'finish', outcome: 'ok' })).toBe(1);
    expect(sample(text, 'tl_first_tasks_enqueued_total', { queue: 'last', type: 'x' })).toBeUndefined();
    // Nothing went to a second set under the default prefix.
    expect(
      sample(await defaultRegistry.metrics(), 'taskledger_tasks_enqueued_total', { queue: 'last', type: 'x' }),
    ).toBeUndefined();

    setupSchedulerMetrics('tl_last', registry);
    const s = schedulerWithMetrics(new Scheduler({ connection: r.url, namespace: r.queue().namespace }));
    try {
      await expect(s.schedule({ queue: 'q', type: 'beat', cronSchedule: 'nope' })).rejects.toThrow(/invalid cron/);
    } finally {
      await s.stop();
    }
    expect(sample(await registry.metrics(), 'tl_last_scheduler_errors_total', { operation: 'schedule' })).toBe(1);
    expect(
      sample(await defaultRegistry.metrics(), 'taskledger_scheduler_errors_total', { operation: 'schedule' }),
    ).toBeUndefined();
  });

  it('set up the default set once when no setup call came first, and follow a later setup call', async () => {
    // A fresh copy of the module: no setup call has been made in it (prom-client, external, stays shared).
    vi.resetModules();
    const fresh = await import('../src/metrics/index.js');
    const q = r.queue();
    await fresh.queuerWithMetrics(q).enqueue({ queue: 'fresh', type: 'x' });
    await fresh.queuerWithMetrics(q).enqueue({ queue: 'fresh', type: 'x' });
    expect(
      sample(await defaultRegistry.metrics(), 'taskledger_tasks_enqueued_total', { queue: 'fresh', type: 'x' }),
    ).toBe(2);
    const registry = new Registry();
    fresh.setupTaskQueueMetrics('tl_fresh', registry);
    await fresh.queuerWithMetrics(q).enqueue({ queue: 'fresh', type: 'x' });
    expect(sample(await registry.metrics(), 'tl_fresh_tasks_enqueued_total', { queue: 'fresh', type: 'x' })).toBe(1);
    expect(
      sample(await defaultRegistry.metrics(), 'taskledger_tasks_enqueued_total', { queue: 'fresh', type: 'x' }),
    ).toBe(2);
  });
});

describe('queue state gauges', () => {
  it('match the queue’s real state when scraped', async () => {
    const registry = new Registry();
    const q = r.queue();
    queueStateMetrics(q, 'tl', registry);
    await q.enqueueMany([
      { queue: 'a', type: 't' },
      { queue: 'a', type: 't' },
      { queue: 'a', type: 't' },
    ]);
    await q.enqueueMany([
      { queue: 'b', type: 't', delayMs: 60_000 },
      { queue: 'b', type: 't', delayMs: 60_000 },
    ]);
    await q.dequeue(['a']);
    await sleep(20);
    const text = await registry.metrics();
    const namespace = q.namespace;
    expect(sample(text, 'tl_queue_waiting', { namespace, queue: 'a' })).toBe(2);
    expect(sample(text, 'tl_queue_waiting', { namespace, queue: 'b' })).toBe(0);
    expect(sample(text, 'tl_queue_delayed', { namespace, queue: 'b' })).toBe(2);
    expect(sample(text, 'tl_queue_running', { namespace, queue: 'a' })).toBe(1);
    expect(sample(text, 'tl_tasks_running', { namespace })).toBe(1);
    expect(sample(text, 'tl_queue_consumer_lag', { namespace, queue: 'a' })).toBe(2);
    expect(sample(text, 'tl_queue_paused', { namespace, queue: 'a' })).toBe(0);
    expect(sample(text, 'tl_queue_concurrency_limit', { namespace, queue: 'a' })).toBeUndefined();
    expect(sample(text, 'tl_queue_oldest_waiting_seconds', { namespace, queue: 'a' })).toBeGreaterThan(0);
    expect(sample(text, 'tl_event_log_entries', { namespace })).toBe(6);
    expect(sample(text, 'tl_event_log_bytes', { namespace })).toBeGreaterThan(0);
    expect(sample(text, 'tl_event_log_oldest_age_seconds', { namespace })).toBeGreaterThan(0);
    // No compaction has run and nothing was archived: those gauges are absent, the totals 0.
    expect(sample(text, 'tl_event_log_archive_lag_seconds', { namespace })).toBeUndefined();
    expect(sample(text, 'tl_last_compaction_age_seconds', { namespace })).toBeUndefined();
    expect(sample(text, 'tl_compaction_reclaimed_bytes_total', { namespace })).toBe(0);
    expect(sample(text, 'tl_compaction_removed_tasks_total', { namespace })).toBe(0);
    for (const status of ['finished', 'failed', 'cancelled'])
      expect(sample(text, 'tl_ended_tasks_held', { namespace, status })).toBe(0);
    expect(await q.stats()).toMatchObject({
      running: 1,
      events: 6,
      queues: { a: { waiting: 2, running: 1 }, b: { delayed: 2 } },
    });
  });

  it('show paused queues, caps and rate limits, and count the starts held back', async () => {
    const registry = new Registry();
    const q = r.queue();
    queueStateMetrics(q, 'tl', registry);
    const metrics = setupTaskQueueMetrics('tl', registry);
    const counted = dequeuerWithMetrics(q, metrics);
    await q.enqueueMany([
      { queue: 'p', type: 't' },
      { queue: 'p', type: 't' },
      { queue: 'c', type: 't' },
    ]);
    await q.pause('p');
    await q.setQueueOptions('c', { concurrency: 4, rateLimit: { max: 10, perMs: 2000 } });
    await expect(counted.dequeue(['p'], { signal: AbortSignal.timeout(200) })).rejects.toThrow();
    const text = await registry.metrics();
    const namespace = q.namespace;
    expect(sample(text, 'tl_queue_paused', { namespace, queue: 'p' })).toBe(1);
    expect(sample(text, 'tl_queue_paused', { namespace, queue: 'c' })).toBe(0);
    expect(sample(text, 'tl_queue_concurrency_limit', { namespace, queue: 'c' })).toBe(4);
    expect(sample(text, 'tl_queue_rate_limit_per_second', { namespace, queue: 'c' })).toBe(5);
    // Each claim of the wait found p's two tasks held back.
    const held = sample(text, 'tl_starts_held_total', { queue: 'p', reason: 'paused' })!;
    expect(held).toBeGreaterThanOrEqual(2);
    expect(held % 2).toBe(0);
  });

  it('show retention at work: ended tasks held, removed and reclaimed totals, archive lag, last compaction', async () => {
    const registry = new Registry();
    const q = r.queue({ retention: { finishedMs: 1, logMs: 1 }, archive: tempFileArchive(), compactIntervalMs: 0 });
    queueStateMetrics(q, 'tl', registry);
    const namespace = q.namespace;
    const ids = await q.enqueueMany(Array.from({ length: 4 }, () => ({ queue: 'a', type: 't' })));
    for (let i = 0; i < 3; i++) {
      const t = await q.dequeue(['a']);
      await (i < 2 ? q.finish(t.id) : q.fail(t.id, { error: 'x' }));
    }
    await q.cancel(ids[3]!);
    let text = await registry.metrics();
    expect(sample(text, 'tl_ended_tasks_held', { namespace, status: 'finished' })).toBe(2);
    expect(sample(text, 'tl_ended_tasks_held', { namespace, status: 'failed' })).toBe(1);
    expect(sample(text, 'tl_ended_tasks_held', { namespace, status: 'cancelled' })).toBe(1);
    await sleep(300); // past the reading shared by one scrape, and past the retention
    const report = await q.compact();
    expect(report.removedTasks).toBe(2);
    await sleep(300);
    text = await registry.metrics();
    const stats = await q.stats();
    expect(sample(text, 'tl_ended_tasks_held', { namespace, status: 'finished' })).toBe(0);
    expect(sample(text, 'tl_ended_tasks_held', { namespace, status: 'failed' })).toBe(1);
    expect(sample(text, 'tl_compaction_removed_tasks_total', { namespace })).toBe(2);
    expect(sample(text, 'tl_compaction_reclaimed_bytes_total', { namespace })).toBe(stats.compaction.reclaimedLogBytes);
    expect(sample(text, 'tl_event_log_entries', { namespace })).toBe(stats.log.events);
    const lag = sample(text, 'tl_event_log_archive_lag_seconds', { namespace });
    expect(lag).toBeGreaterThanOrEqual(0);
    expect(lag).toBeLessThan(60);
    const age = sample(text, 'tl_last_compaction_age_seconds', { namespace });
    expect(age).toBeGreaterThan(0.2); // the scrape came 300 ms after the pass
    expect(age).toBeLessThan(60);
    expect(text).toMatch(/# TYPE tl_compaction_removed_tasks_total counter/);
  });

  it('report several namespaces in one registry, each read once per scrape however often registered', async () => {
    const registry = new Registry();
    const a = r.queue();
    const b = r.queue();
    const reads = new Map<string, number>();
    for (const q of [a, b]) {
      const stats = q.stats.bind(q);
      q.stats = () => {
        reads.set(q.namespace, (reads.get(q.namespace) ?? 0) + 1);
        return stats();
      };
    }
    queueStateMetrics(a, 'tl', registry);
    queueStateMetrics(b, 'tl', registry);
    queueStateMetrics(a, 'tl', registry); // again, for the same queue
    await a.enqueueMany([
      { queue: 'q', type: 't' },
      { queue: 'q', type: 't' },
      { queue: 'q', type: 't' },
    ]);
    await b.enqueue({ queue: 'q', type: 't' });
    await a.dequeue(['q']);
    const text = await registry.metrics();
    expect(sample(text, 'tl_queue_waiting', { namespace: a.namespace, queue: 'q' })).toBe(2);
    expect(sample(text, 'tl_queue_running', { namespace: a.namespace, queue: 'q' })).toBe(1);
    expect(sample(text, 'tl_queue_waiting', { namespace: b.namespace, queue: 'q' })).toBe(1);
    expect(sample(text, 'tl_queue_running', { namespace: b.namespace, queue: 'q' })).toBe(0);
    expect(sample(text, 'tl_tasks_running', { namespace: a.namespace })).toBe(1);
    expect(sample(text, 'tl_tasks_running', { namespace: b.namespace })).toBe(0);
    expect(sample(text, 'tl_event_log_entries', { namespace: a.namespace })).toBe(4);
    expect(sample(text, 'tl_event_log_entries', { namespace: b.namespace })).toBe(1);
    // One sample per namespace and queue, and one stats() per namespace for the whole scrape.
    expect(text.split('\n').filter((line) => line.startsWith('tl_queue_waiting{'))).toHaveLength(2);
    expect(Object.fromEntries(reads)).toEqual({ [a.namespace]: 1, [b.namespace]: 1 });

    // A closed queue drops out; the others are still scraped.
    await b.close();
    await sleep(300); // past the reading shared by one scrape
    const after = await registry.metrics();
    expect(sample(after, 'tl_queue_waiting', { namespace: a.namespace, queue: 'q' })).toBe(2);
    expect(sample(after, 'tl_queue_waiting', { namespace: b.namespace, queue: 'q' })).toBeUndefined();
    expect(sample(after, 'tl_tasks_running', { namespace: b.namespace })).toBeUndefined();
  });
});

describe('worker and scheduler metrics', () => {
  it('count what a worker does', async () => {
    const registry = new Registry();
    const q = r.queue();
    await q.enqueueMany([
      { queue: 'w', type: 'ok' },
      { queue: 'w', type: 'ok' },
      { queue: 'w', type: 'flaky', maxAttempts: 2, backoff: { delayMs: 10, jitter: 0 } },
      { queue: 'w', type: 'bad' },
    ]);
    const w = workerWithMetrics(
      new Worker(
        q,
        {
          ok: async () => 'done',
          flaky: async (task) => {
            if (task.attempt === 1) throw new Error('once');
          },
          bad: async () => {
            throw new Error('always');
          },
        },
        { queues: ['w'], concurrency: 2 },
      ),
      'tl',
      registry,
    );
    w.start();
    for (
      let i = 0;
      i < 200 &&
      (await q.stats()).queues.w!.waiting + (await q.stats()).queues.w!.delayed + (await q.stats()).running > 0;
      i++
    )
      await sleep(20);
    await w.close();
    const text = await registry.metrics();
    expect(sample(text, 'tl_task_processing_seconds_count', { queue: 'w', type: 'ok', outcome: 'finished' })).toBe(2);
    expect(sample(text, 'tl_task_processing_seconds_count', { queue: 'w', type: 'flaky', outcome: 'retrying' })).toBe(
      1,
    );
    expect(sample(text, 'tl_task_processing_seconds_count', { queue: 'w', type: 'flaky', outcome: 'finished' })).toBe(
      1,
    );
    expect(sample(text, 'tl_task_processing_seconds_count', { queue: 'w', type: 'bad', outcome: 'failed' })).toBe(1);
    expect(sample(text, 'tl_task_retries_total', { queue: 'w', type: 'flaky' })).toBe(1);
    expect(sample(text, 'tl_handler_errors_total', { queue: 'w', type: 'bad' })).toBe(1);
    expect(sample(text, 'tl_handler_errors_total', { queue: 'w', type: 'flaky' })).toBe(1);
    expect(sample(text, 'tl_worker_tasks_in_progress', { queue: 'w', type: 'ok' })).toBe(0);
    expect(sample(text, 'tl_task_queue_latency_seconds_count', { queue: 'w', type: 'ok' })).toBe(2);
  });

  it('count a scheduler’s emissions and show its leadership', async () => {
    const registry = new Registry();
    const metrics = setupSchedulerMetrics('tl', registry);
    const ns = r.queue().namespace;
    const s = schedulerWithMetrics(
      new Scheduler({ connection: r.url, namespace: ns, leaseMs: 1000, pollIntervalMs: 100 }),
      metrics,
    );
    try {
      await s.schedule({ queue: 'q', type: 'beat', cronSchedule: '* * * * * *' });
      await expect(s.schedule({ queue: 'q', type: 'beat', cronSchedule: 'nope' })).rejects.toThrow(/invalid cron/);
      await expect(s.ensureSchedule({ queue: 'q', type: 'other' })).rejects.toMatchObject({
        code: 'ERR_NOT_SCHEDULED',
      });
      await s.start();
      await sleep(2300);
      const text = await registry.metrics();
      const emitted = sample(text, 'tl_schedule_emissions_total', { queue: 'q', type: 'beat' })!;
      expect(emitted).toBeGreaterThanOrEqual(2);
      expect(sample(text, 'tl_schedule_emission_delay_seconds_count')).toBe(emitted);
      expect(sample(text, 'tl_scheduler_leader')).toBe(1);
      expect(sample(text, 'tl_schedules')).toBe(1);
      expect(sample(text, 'tl_scheduler_errors_total', { operation: 'schedule' })).toBe(1); // the bad cron; NotScheduled is an answer, not an error
    } finally {
      await s.stop();
    }
    expect(sample(await registry.metrics(), 'tl_scheduler_leader')).toBe(0);
  });
});

describe('the README', () => {
  it('lists every metric under its default name (or the `_suffix` shorthand of a table row)', async () => {
    const registry = new Registry();
    const q = r.queue();
    setupTaskQueueMetrics('taskledger', registry);
    setupSchedulerMetrics('taskledger', registry);
    queueStateMetrics(q, 'taskledger', registry);
    const worker = workerWithMetrics(new Worker(q, async () => 'ok'), 'taskledger', registry);
    await worker.close();
    const names = registry.getMetricsAsArray().map((m) => m.name);
    expect(names.length).toBeGreaterThan(25);
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const section = readme.slice(
      readme.indexOf('### Prometheus metrics'),
      readme.indexOf('## The `taskledger` command'),
    );
    const missing = names.filter(
      (name) => !section.includes(`\`${name}\``) && !section.includes(`\`${name.slice('taskledger'.length)}\``),
    );
    expect(missing).toEqual([]);
  });
});

describe('/metrics over node:http', () => {
  it('serves the registry in the Prometheus text format', async () => {
    const registry = new Registry();
    setupTaskQueueMetrics('tl_http', registry).taskCounter.inc({ queue: 'q', type: 't' }, 2);
    const server = createServer(metricsHandler(registry));
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
    const { port } = server.address() as { port: number };
    try {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(sample(await res.text(), 'tl_http_tasks_enqueued_total', { queue: 'q', type: 't' })).toBe(2);
      expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(404);
    } finally {
      await new Promise((res) => server.close(res));
    }
  });
});
