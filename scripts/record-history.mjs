// Records a log fixture for test/fold-replay.test.ts: runs a workload touching every event type against a
// Redis (REDIS_URL), then writes the raw log and the projections it produced. Run once per format version;
// the committed fixture then proves that later code folds the old log the same way.
//   REDIS_URL=redis://127.0.0.1:6379 node scripts/record-history.mjs test/fixtures/history-v5
import { writeFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { TaskQueue } from '../dist/index.js';

const out = process.argv[2];
const ns = `record-${Date.now()}`;
const q = new TaskQueue({ namespace: ns, heartbeatTtlMs: 200, recoveryIntervalMs: 0 });
const raw = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function workload(q) {
  const [a, b, c, d, e] = await q.enqueueMany([
    {
      queue: 'images',
      type: 'resize',
      spec: { url: 'https://example.com/a.png', width: 640 },
      references: { account: 7 },
    },
    {
      queue: 'images',
      type: 'resize',
      spec: { url: 'b.png', width: 1e21, tags: [] },
      references: { account: 7, album: 'x' },
    },
    { queue: 'mail', type: 'send', spec: { to: 'ü@example.com', body: 'line\nbreak "quoted"' } },
    { queue: 'mail', type: 'send', spec: null, maxAttempts: 1 },
    { queue: 'mail', type: 'send', spec: [1, 2.5, -0, { deep: { deeper: true } }] },
  ]);
  await q.dequeue(['images']); // a
  await q.heartbeat(a, { pct: 10 });
  await q.heartbeat(a);
  await q.finish(a, { pct: 100, out: 'a-640.png' });
  await q.dequeue(['images']); // b
  await q.release(b);
  await q.dequeue(['images']); // b again
  await sleep(250);
  await q.recover(); // b stalls: requeued
  await q.dequeue(['mail']); // c
  await q.fail(c, { error: 'smtp 550' });
  await q.dequeue(['mail']); // d, maxAttempts 1
  await sleep(250);
  await raw.del(`{${ns}}:recovery-lock`);
  await q.recover(); // d stalls on its last attempt: failed
  await q.cancel(e);
  // Since format 1's first recording (history-v1): delayed tasks and retries.
  const [f, g] = await q.enqueueMany([
    { queue: 'reports', type: 'daily', spec: { day: '2026-11-27' }, delayMs: 100, timeoutMs: 30000 },
    {
      queue: 'reports',
      type: 'daily',
      spec: { day: '2026-11-28' },
      maxAttempts: 2,
      backoff: { type: 'fixed', delayMs: 50, jitter: 0 },
    },
  ]);
  const first = await q.dequeue(['reports']); // g: f is not due yet
  await q.retryLater(first.id, { delayMs: 50, error: 'upstream 503', progress: { error: 'upstream 503' } });
  await sleep(150);
  await q.dequeue(['reports']); // f or g, promoted
  await q.dequeue(['reports']);
  await q.finish(f, { rows: 10 });
  await q.fail(g, { error: 'upstream 503 again' });
  await q.deleteByReference({ album: 'x' }); // b deleted
  // Since format 3 (history-v4): results and errors apart from progress, a retry that clears the error, an
  // end without a lease (d's stall-fail above is one too).
  const [h, i, j] = await q.enqueueMany([
    { queue: 'exports', type: 'csv', spec: { rows: 3 } },
    { queue: 'exports', type: 'csv', spec: { rows: 4 }, maxAttempts: 3, backoff: { delayMs: 10, jitter: 0 } },
    { queue: 'exports', type: 'csv', spec: { rows: 5 } },
  ]);
  await q.dequeue(['exports']); // h
  await q.finish(h, { pct: 100 }, { result: { error: 'a result, not an error' } });
  await q.dequeue(['exports']); // i
  await q.fail(i, { step: 1 }, { error: { message: 'quota exceeded', code: 'E_QUOTA' } });
  await q.retry(i);
  await q.dequeue(['exports']); // j
  await q.finish(j, undefined, { lease: '', result: 5 });
  await q.dequeue(['exports']); // i again
  await q.retryLater(i, { delayMs: 10, error: { message: 'upstream 503', code: 'E_UPSTREAM' } });
  await sleep(50);
  await q.dequeue(['exports']); // i, promoted
  await q.finish(i, undefined, { result: 'ok after a retry' });
  // Since format 4 (history-v5): priorities (and a change of one), a dedup key with a debounce, queue
  // options, and a rate-limited release that gives its start back.
  await q.setQueueOptions('ranked', { concurrency: 2, rateLimit: { max: 100, perMs: 1000 } });
  await q.pause('ranked');
  const [k, l] = await q.enqueueMany([
    { queue: 'ranked', type: 'job', spec: { n: 1 }, priority: 3 },
    { queue: 'ranked', type: 'job', spec: { n: 2 } },
  ]);
  const m = await q.enqueue({ queue: 'ranked', type: 'job', spec: { v: 1 }, dedup: { key: 'order-1', replace: true } });
  await q.enqueue({ queue: 'ranked', type: 'job', spec: { v: 2 }, dedup: { key: 'order-1', replace: true } });
  await q.setPriority(l, 5);
  await q.resume('ranked');
  await q.dequeue(['ranked']); // l, level 5
  await q.release(l, { holdMs: 1 });
  await sleep(5);
  await q.dequeue(['ranked']); // l again, its attempt given back first
  await q.finish(l);
  await q.dequeue(['ranked']); // k
  await q.finish(k);
  await q.dequeue(['ranked']); // m, with the spec the debounce gave it
  await q.finish(m);

  return [a, b, c, d, e, f, g, h, i, j, k, l, m];
}

// Format 2 (history-v3), 3 (history-v4) and 4 (history-v5): the workload, then a compaction (retention removes the finished tasks, the log is
// trimmed behind snapshots of the live ones), then the workload again on top of the trimmed log.
const ids = await workload(q);
await sleep(5);
const compactor = new TaskQueue({
  namespace: ns,
  recoveryIntervalMs: 0,
  retention: { finishedMs: 1, logMs: 1 },
  archive: false,
  compactIntervalMs: 0,
});
console.log(await compactor.compact());
await compactor.close();
ids.push(...(await workload(q)));

const entries = await raw.xrange(`{${ns}}:events`, '-', '+');
writeFileSync(`${out}.events.ndjson`, entries.map(([id, fields]) => JSON.stringify({ id, fields })).join('\n') + '\n');
const projections = {};
for (const id of ids) {
  const h = await raw.hgetall(`{${ns}}:task:${id}`);
  projections[id] = Object.keys(h).length ? Object.fromEntries(Object.entries(h).sort()) : null;
}
writeFileSync(`${out}.projections.json`, JSON.stringify(projections, null, 2) + '\n');
console.log(`recorded ${entries.length} events of ${Object.keys(projections).length} tasks to ${out}.*`);
await q.close();
raw.disconnect();
