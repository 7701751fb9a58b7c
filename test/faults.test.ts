import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { LeaseLostError, TaskQueue, Worker } from '../src/index.js';
import { commandCalls, sleep, until, useRedis } from './helpers/fixture.js';
import { namespace, startRedis } from './helpers/redis.js';

const r = useRedis({ own: true });
const CHILD = fileURLToPath(new URL('./fixtures/worker-child.mjs', import.meta.url));

function startChild(
  url: string,
  ns: string,
  queue: string,
): Promise<{ pid: number; taskId: string; lease: string; kill(): Promise<void> }> {
  if (!existsSync(new URL('../dist/index.js', import.meta.url))) {
    throw new Error(
      'the fault tests run a worker process on the built package: run `npm run build` first (npm test does)',
    );
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, url, ns, queue], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /started (\S+) (\S+)/.exec(out);
      if (m) {
        resolve({
          pid: child.pid!,
          taskId: m[1]!,
          lease: m[2]!,
          kill: () =>
            new Promise<void>((done) => {
              child.once('exit', () => done());
              child.kill('SIGKILL');
            }),
        });
      }
    });
    child.once('exit', (code, signal) =>
      reject(
        new Error(
          `worker process exited with ${code !== null ? `code ${code}` : `signal ${signal ?? '?'}`} before starting a task`,
        ),
      ),
    );
  });
}

describe('a worker process killed with SIGKILL mid-task', () => {
  it('its task is recovered and run by another worker; the dead lease stays fenced off', async () => {
    const ns = namespace();
    const q = r.queue({ namespace: ns, heartbeatTtlMs: 300 });
    const id = await q.enqueue({ queue: 'q', type: 't', spec: { n: 1 } });
    const child = await startChild(r.url, ns, 'q');
    expect(child.taskId).toBe(id);
    expect((await q.get(id))?.progress).toEqual({ step: 'half-way' });
    await child.kill();
    await sleep(400);
    expect(await q.recover()).toMatchObject({ requeued: 1 });
    const again = await q.dequeue(['q'], { signal: AbortSignal.timeout(5000) });
    expect(again.id).toBe(id);
    expect(again.attempt).toBe(2);
    await expect(q.finish(id, { by: 'dead' }, { lease: child.lease })).rejects.toBeInstanceOf(LeaseLostError);
    await q.finish(id, { by: 'alive' });
    expect((await q.get(id))?.progress).toEqual({ by: 'alive' });
    expect((await q.history(id)).map((e) => e.type)).toEqual([
      'enqueued',
      'started',
      'progress',
      'requeued',
      'started',
      'finished',
    ]);
  });
});

describe('Redis killed with SIGKILL under load (appendonly yes, appendfsync always)', () => {
  it('loses no acknowledged enqueue or finish, and verify() is clean after the restart', async () => {
    const server = await startRedis({ appendfsync: 'always', own: true });
    onTestFinished(() => server.stop()); // its AOF dir goes even when the test fails before the finally below
    const ns = namespace();
    const open = (opts = {}) =>
      new TaskQueue({ connection: server.url, namespace: ns, recoveryIntervalMs: 0, heartbeatTtlMs: 500, ...opts });
    const producer = open();
    const consumer = open();
    const enqueued: string[] = [];
    const finished: string[] = [];
    let stop = false;
    const produce = async () => {
      let n = 0;
      while (!stop) {
        const id = await producer.enqueue({ queue: 'q', type: 't', spec: { n: n++ } }).catch(() => null);
        if (id) enqueued.push(id);
        else await sleep(20);
      }
    };
    const consume = async () => {
      while (!stop) {
        const task = await consumer.dequeue(['q'], { signal: AbortSignal.timeout(300) }).catch(() => null);
        if (!task) continue;
        const ok = await consumer.finish(task.id).then(
          () => true,
          () => false,
        );
        if (ok) finished.push(task.id);
      }
    };
    const loops = [...Array.from({ length: 8 }, produce), ...Array.from({ length: 4 }, consume)];
    // Under load for a while, with finishes acknowledged too, then killed mid-stream.
    await until(() => enqueued.length > 50 && finished.length > 10, 20_000);
    await sleep(200);
    await server.kill();
    const ackedBeforeKill = enqueued.length;
    await sleep(300);
    await server.restart();
    await until(() => enqueued.length > ackedBeforeKill + 20, 20_000);
    stop = true;
    await Promise.all(loops);
    await Promise.all([producer.close(), consumer.close()]);
    expect(ackedBeforeKill).toBeGreaterThan(50);
    expect(enqueued.length).toBeGreaterThan(ackedBeforeKill); // work went on after the restart

    const check = open();
    try {
      const tasks = await Promise.all(enqueued.map((id) => check.get(id)));
      expect(tasks.filter((t) => t === null)).toHaveLength(0);
      const finishedSet = new Set(finished);
      for (const t of tasks) if (finishedSet.has(t!.id)) expect(t!.status).toBe('finished');
      // Tasks whose start was applied but whose reply was lost come back through stall recovery.
      await sleep(600);
      await check.recover();
      const v = await check.verify();
      expect(v.mismatches).toEqual([]);
      expect(v.tasks).toBe(enqueued.length);
    } finally {
      await check.close();
      await server.stop();
    }
  });
});

describe('dropped connections', () => {
  it('every task still finishes exactly once when the server kills all client connections mid-run', async () => {
    const ns = namespace();
    const producer = r.queue({ namespace: ns, heartbeatTtlMs: 300 });
    const ids = await producer.enqueueMany(
      Array.from({ length: 600 }, (_, i) => ({ queue: 'q', type: 't', spec: { i } })),
    );
    // A claim or start whose reply died with its connection comes back through recovery: keep those timers short.
    const workers = Array.from({ length: 4 }, () =>
      r.queue({ namespace: ns, heartbeatTtlMs: 300, recoveryIntervalMs: 100, deliveryTimeoutMs: 300 }),
    );
    const finishedBy = new Map<string, number>();
    let stop = false;
    const run = async (w: TaskQueue) => {
      while (!stop) {
        const task = await w.dequeue(['q'], { signal: AbortSignal.timeout(300) }).catch(() => null);
        if (!task) continue;
        const ok = await w.finish(task.id).then(
          () => true,
          () => false,
        );
        if (ok) finishedBy.set(task.id, (finishedBy.get(task.id) ?? 0) + 1);
      }
    };
    const loops = workers.map(run);
    const raw = r.raw();
    for (let i = 0; i < 3; i++) {
      await sleep(100);
      await raw.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    }
    const allFinished = async () =>
      (await Promise.all(ids.map(async (id) => (await producer.get(id))?.status))).every((s) => s === 'finished');
    for (let i = 0; i < 150 && !(await allFinished()); i++) await sleep(100);
    stop = true;
    await Promise.all(loops);
    expect(await allFinished()).toBe(true);
    // A finish whose reply was lost with its connection is applied but not acknowledged, so the log is the
    // judge: every task finished exactly once, and no acknowledged finish was applied twice.
    for (const id of ids) {
      const finishes = (await producer.history(id)).filter((e) => e.type === 'finished');
      expect(finishes, id).toHaveLength(1);
    }
    expect(finishedBy.size).toBeGreaterThan(ids.length * 0.9);
    expect([...finishedBy.values()].every((n) => n === 1)).toBe(true);
    expect((await producer.verify()).mismatches).toEqual([]);
  });
});

describe('the script cache flushed mid-run (SCRIPT FLUSH, or a server that lost its scripts)', () => {
  it('calls meeting NOSCRIPT together reload the script once: one goes as EVAL, the rest as EVALSHA again', async () => {
    const q = r.queue();
    await q.enqueue({ queue: 'q', type: 't' }); // the connection is up and the script cached
    const raw = r.raw();
    await raw.script('FLUSH');
    const evalsBefore = await commandCalls(raw, 'eval');
    // 512 tasks go as 16 script calls of 32, all in flight at once: each meets NOSCRIPT.
    const ids = await q.enqueueMany(Array.from({ length: 512 }, (_, i) => ({ queue: 'q', type: 't', spec: { i } })));
    expect(await commandCalls(raw, 'eval')).toBe(evalsBefore + 1);
    expect(new Set(ids).size).toBe(512);
    expect((await q.stats()).queues.q).toMatchObject({ waiting: 513 });
    for (const id of [ids[0]!, ids[511]!]) expect((await q.history(id)).map((e) => e.type)).toEqual(['enqueued']);
  });

  it('every call is sent again as EVAL: each task starts once and finishes once, and nothing else is written', async () => {
    const ns = namespace();
    const producer = r.queue({ namespace: ns });
    const ids = await producer.enqueueMany(
      Array.from({ length: 3000 }, (_, i) => ({ queue: 'q', type: 't', spec: { i } })),
    );
    const wq = r.queue({ namespace: ns });
    const errors: unknown[] = [];
    let done = 0;
    const worker = new Worker(wq, async () => undefined, { queues: ['q'], concurrency: 16 });
    worker.on('error', (err) => errors.push(err));
    worker.on('task:finished', () => done++);
    worker.start();
    const raw = r.raw();
    const noscript = async () => Number(/errorstat_NOSCRIPT:count=(\d+)/.exec(await raw.info('errorstats'))?.[1] ?? 0);
    const noscriptBefore = await noscript();
    let flushes = 0;
    // Start and finish calls are in flight when the flush lands: their EVALSHA fails with NOSCRIPT.
    for (let i = 0; i < 200 && done < ids.length; i++) {
      await raw.script('FLUSH');
      flushes++;
      await sleep(5);
    }
    for (let i = 0; i < 200 && done < ids.length; i++) await sleep(50);
    await worker.close();
    expect(flushes).toBeGreaterThan(3);
    // The flushes did land on calls in flight, which were then sent again as EVAL (scripts.ts, directScript).
    expect(await noscript()).toBeGreaterThan(noscriptBefore);
    expect(errors).toEqual([]);
    expect(done).toBe(ids.length);
    for (const id of ids.slice(0, 300)) {
      const types = (await producer.history(id)).map((e) => e.type);
      expect(types, id).toEqual(['enqueued', 'started', 'finished']);
    }
    const stats = await producer.stats();
    expect(stats.queues.q).toMatchObject({ waiting: 0, delayed: 0 });
    expect(stats.running).toBe(0);
    expect((await producer.verify()).mismatches).toEqual([]);
  });
});
