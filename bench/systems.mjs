// The three queues under test, behind one small interface. Each uses its own defaults except where a
// workload needs a setting (concurrency; keeping finished jobs, which BullMQ does by default).
import BeeQueue from 'bee-queue';
import { Queue as BullQueue, Worker as BullWorker } from 'bullmq';
import * as built from '../dist/index.js';

const QUEUE = 'bench';

function counter(n) {
  let done = 0;
  let resolve;
  const all = new Promise((r) => (resolve = r));
  return { tick: () => ++done === n && resolve(), all };
}

/** taskledger from a build of it (bench/ablate.mjs passes a patched copy of dist/). */
export const taskledgerFrom =
  ({ TaskQueue, Worker }) =>
  (url) => {
    let q;
    return {
      name: 'taskledger',
      async open() {
        q = new TaskQueue({ connection: url, namespace: QUEUE, recoveryIntervalMs: 0 });
        await q.stats();
      },
      enqueue: (spec) => q.enqueue({ queue: QUEUE, type: 'noop', spec }),
      enqueueBulk: (specs) => q.enqueueMany(specs.map((spec) => ({ queue: QUEUE, type: 'noop', spec }))),
      /** Each spec with a priority, 0 (default) to 9, higher first. */
      enqueuePrioritized: (specs, priorityOf) =>
        q.enqueueMany(specs.map((spec, i) => ({ queue: QUEUE, type: 'noop', spec, priority: priorityOf(i) }))),
      /** At most n tasks of the queue running at once, across all workers. */
      capConcurrency: (n) => q.setQueueOptions(QUEUE, { concurrency: n }),
      /** Starts a worker; resolves with a stop function. `onDone` runs once a task's finish is persisted. */
      async work(concurrency, handler, onDone) {
        // The worker on a TaskQueue (a connection) of its own, as BullMQ's Worker and Queue each have theirs.
        const wq = new TaskQueue({ connection: url, namespace: QUEUE, recoveryIntervalMs: 0 });
        const w = new Worker(wq, async (task) => handler(task.spec), { queues: [QUEUE], concurrency });
        w.on('task:finished', onDone);
        w.start();
        return async () => {
          await w.close();
          await wq.close();
        };
      },
      history: (id) => q.history(id),
      scrape: () => q.stats(),
      close: () => q.close(),
    };
  };

export const taskledger = taskledgerFrom(built);

/** BullMQ; `jobOptions` become the queue's defaultJobOptions (the soak's removeOnComplete). */
export function bullmq(url, { jobOptions } = {}) {
  const { hostname, port } = new URL(url);
  const connection = { host: hostname, port: Number(port) };
  let q;
  return {
    name: 'bullmq',
    async open() {
      q = new BullQueue(QUEUE, { connection, ...(jobOptions && { defaultJobOptions: jobOptions }) });
      await q.waitUntilReady();
    },
    enqueue: (spec) => q.add('noop', spec),
    enqueueBulk: (specs) => q.addBulk(specs.map((data) => ({ name: 'noop', data }))),
    // BullMQ's priority 1 runs first and 0 means none (its plain wait list, served before any priority):
    // our 9..0 become its 1..10, so every job takes its prioritized path.
    enqueuePrioritized: (specs, priorityOf) =>
      q.addBulk(specs.map((data, i) => ({ name: 'noop', data, opts: { priority: 10 - priorityOf(i) } }))),
    capConcurrency: (n) => q.setGlobalConcurrency(n),
    async work(concurrency, handler, onDone) {
      const w = new BullWorker(QUEUE, async (job) => handler(job.data), { connection, concurrency });
      w.on('completed', onDone);
      await w.waitUntilReady();
      return () => w.close();
    },
    close: () => q.close(),
  };
}

export function beeQueue(url) {
  const { hostname, port } = new URL(url);
  const redis = { host: hostname, port: Number(port) };
  let producer;
  return {
    name: 'bee-queue',
    async open() {
      producer = new BeeQueue(QUEUE, { redis, isWorker: false, getEvents: false, removeOnSuccess: false });
      await producer.ready();
    },
    enqueue: (spec) => producer.createJob(spec).save(),
    enqueueBulk: (specs) => producer.saveAll(specs.map((spec) => producer.createJob(spec))),
    async work(concurrency, handler, onDone) {
      const w = new BeeQueue(QUEUE, {
        redis,
        isWorker: true,
        getEvents: false,
        removeOnSuccess: false,
        activateDelayedJobs: false,
      });
      w.on('succeeded', onDone);
      w.process(concurrency, async (job) => handler(job.data));
      await w.ready();
      return () => w.close();
    },
    close: () => producer.close(),
  };
}

export const SYSTEMS = { taskledger, bullmq, 'bee-queue': beeQueue };
export { counter };
