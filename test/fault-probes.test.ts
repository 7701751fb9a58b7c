import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { Redis } from 'ioredis';
import { Worker, type TaskQueue } from '../src/index.js';
import { sleep, until, useRedis } from './helpers/fixture.js';
import { namespace } from './helpers/redis.js';

// DEBUG SLEEP and SIGSTOP: a server and processes of this file's own.
const r = useRedis({ own: true, debug: true });
const CHILD = fileURLToPath(new URL('./fixtures/worker-loop-child.mjs', import.meta.url));

interface Child {
  process: ChildProcess;
  /** Lines the child has printed so far. */
  lines: string[];
  kill(signal?: NodeJS.Signals): Promise<void>;
}

async function startChild(ns: string, queue: string, mode: 'loop' | 'slow'): Promise<Child> {
  if (!existsSync(new URL('../dist/index.js', import.meta.url)))
    throw new Error('these tests run worker processes on the built package: run `npm run build` first (npm test does)');
  const child = spawn(process.execPath, [CHILD, r.url, ns, queue, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let rest = '';
  child.stdout.on('data', (chunk: Buffer) => {
    const parts = (rest + chunk.toString()).split('\n');
    rest = parts.pop()!;
    lines.push(...parts);
  });
  const kill = (signal: NodeJS.Signals = 'SIGKILL') =>
    new Promise<void>((res) => {
      if (child.exitCode !== null || child.signalCode !== null) {
        res();
        return;
      }
      child.once('exit', () => res());
      child.kill(signal);
    });
  onTestFinished(() => kill());
  await until(() => lines.includes('ready'), 10_000);
  return { process: child, lines, kill };
}

/** Every task finished exactly once in the log; a second start only after the first was given up. */
async function expectEachFinishedOnce(q: TaskQueue, ids: string[]): Promise<void> {
  for (const id of ids) {
    const types = (await q.history(id)).map((e) => e.type);
    expect(
      types.filter((t) => t === 'finished'),
      id,
    ).toHaveLength(1);
    expect(types.at(-1), id).toBe('finished');
    // Each start after the first follows the requeue that took the task from its dead or frozen holder.
    types.forEach((t, i) => {
      if (t === 'started' && types.indexOf('started') !== i) expect(types[i - 1], id).toBe('requeued');
    });
  }
  expect((await q.verify()).mismatches).toEqual([]);
}

const enqueue = (q: TaskQueue, n: number, queue = 'q') =>
  q.enqueueMany(Array.from({ length: n }, (_, i) => ({ queue, type: 't', spec: { i } })));

describe('worker processes killed with SIGKILL again and again', () => {
  it('every task finishes exactly once, whatever was running when each process died', async () => {
    const ns = namespace();
    const q = r.queue({ namespace: ns, heartbeatTtlMs: 300, recoveryIntervalMs: 100, deliveryTimeoutMs: 500 });
    const ids = await enqueue(q, 4000);
    const children = await Promise.all(Array.from({ length: 3 }, () => startChild(ns, 'q', 'loop')));
    const finished = async () => Number((await r.raw().hget(`{${ns}}:counts`, 'finished:q')) ?? 0);
    // 10 kills at random moments while the work runs, each process replaced at once.
    for (let kills = 0; kills < 10;) {
      await sleep(50 + Math.random() * 150);
      if ((await finished()) >= ids.length) break;
      const i = Math.floor(Math.random() * children.length);
      await children[i]!.kill();
      kills++;
      children[i] = await startChild(ns, 'q', 'loop');
    }
    await until(async () => (await finished()) === ids.length, 60_000);
    await Promise.all(children.map((c) => c.kill()));
    await expectEachFinishedOnce(q, ids);
    expect((await q.stats()).running).toBe(0);
  });
});

describe('a worker process stopped with SIGSTOP past its heartbeat TTL', () => {
  it('its task is recovered and finished by another worker; when it resumes, its finish is fenced off', async () => {
    const ns = namespace();
    const q = r.queue({ namespace: ns, heartbeatTtlMs: 300, recoveryIntervalMs: 100 });
    const [id] = await enqueue(q, 1);
    const frozen = await startChild(ns, 'q', 'slow');
    await until(() => frozen.lines.includes(`running ${id!}`));
    frozen.process.kill('SIGSTOP');
    try {
      const other = new Worker(r.queue({ namespace: ns, heartbeatTtlMs: 300 }), async () => ({ by: 'other' }), {
        queues: ['q'],
      });
      let done = false;
      other.on('task:finished', () => (done = true));
      other.start();
      await until(() => done, 10_000);
      await other.close();
    } finally {
      frozen.process.kill('SIGCONT');
    }
    // Resumed, its handler ends and its finish is refused: the lease it holds is stale.
    await until(() => frozen.lines.some((l) => l.startsWith(`lost ${id!}`)), 10_000);
    // Refused as finished (the status is checked before the lease), or as a stale lease.
    expect(frozen.lines.find((l) => l.startsWith('lost'))).toMatch(/ ERR_TASK_(FINISHED|LEASE_LOST)$/);
    expect(frozen.lines).not.toContain(`finished ${id!}`);
    const task = await q.get(id!);
    expect(task?.result).toEqual({ by: 'other' });
    expect(task?.attempt).toBe(2);
    await expectEachFinishedOnce(q, [id!]);
  });
});

describe('Redis frozen by DEBUG SLEEP under a busy worker', () => {
  it('every task finishes exactly once; deadlines that passed during the freeze fence their holders off', async () => {
    const ns = namespace();
    const q = r.queue({ namespace: ns, heartbeatTtlMs: 400, recoveryIntervalMs: 100, deliveryTimeoutMs: 500 });
    const ids = await enqueue(q, 1500);
    const worker = new Worker(
      r.queue({ namespace: ns, heartbeatTtlMs: 400 }),
      async () => {
        await sleep(Math.random() * 5);
      },
      {
        queues: ['q'],
        concurrency: 8,
      },
    );
    let finished = 0;
    const lost: string[] = [];
    worker.on('task:finished', () => finished++);
    worker.on('task:lost', (task) => lost.push(task.id));
    worker.start();
    const raw = r.raw();
    // Each freeze is longer than the heartbeat TTL.
    for (let i = 0; i < 3 && finished + lost.length < ids.length; i++) {
      await until(() => finished > (i + 1) * 200 || finished + lost.length >= ids.length, 20_000);
      await raw.debug('SLEEP', '0.6');
    }
    await until(async () => Number((await raw.hget(`{${ns}}:counts`, 'finished:q')) ?? 0) === ids.length, 30_000);
    await worker.close();
    expect(finished + lost.length).toBeGreaterThanOrEqual(ids.length);
    await expectEachFinishedOnce(q, ids);
  });
});

describe('namespace isolation', () => {
  it("work, recovery, rebuild and deleteByReference in one namespace leave a neighbour's keys untouched", async () => {
    const raw = r.raw();
    const base = namespace();
    // Neighbours whose names share a prefix with it, or hold its name: a key pattern that is too wide catches them.
    const neighbours = [`${base}x`, `${base}.b`, `x${base}`];
    for (const ns of neighbours) {
      const n = r.queue({ namespace: ns });
      const [a] = await enqueue(n, 30);
      await n.dequeue(['q']);
      await n.cancel(a!);
      await n.enqueue({ queue: 'q', type: 't', references: { tenant: 1 }, delayMs: 60_000 });
    }
    const snapshot = async () => {
      // The neighbours' keys (tests before this one leave keys that expire: locks).
      const keys = (await raw.keys('*')).filter((k) => neighbours.some((ns) => k.startsWith(`{${ns}}:`))).sort();
      return Promise.all(keys.map(async (k) => [k, await digest(raw, k)]));
    };
    const before = await snapshot();
    expect(before.length).toBeGreaterThan(3 * 5);
    const q = r.queue({ namespace: base, heartbeatTtlMs: 200 });
    const ids = await enqueue(q, 200);
    await q.enqueue({ queue: 'q', type: 't', references: { tenant: 1 } });
    const worker = new Worker(r.queue({ namespace: base, heartbeatTtlMs: 200 }), async () => undefined, {
      queues: ['q'],
      concurrency: 4,
    });
    worker.start();
    await until(async () => Number((await raw.hget(`{${base}}:counts`, 'finished:q')) ?? 0) >= ids.length);
    await worker.close();
    await q.enqueue({ queue: 'stall', type: 't' });
    await q.dequeue(['stall']); // left to stall
    await sleep(300);
    expect(await q.recover()).toMatchObject({ requeued: 1 });
    await q.rebuild();
    await q.deleteByReference({ tenant: 1 });
    expect((await q.verify()).mismatches).toEqual([]);
    expect(await snapshot()).toEqual(before);
  });
});

/** A key's value, serialized by Redis. */
async function digest(raw: Redis, key: string): Promise<string> {
  // ioredis types DUMP's reply as a Buffer; a key that is gone answers null.
  const dump = (await raw.dumpBuffer(key)) as Buffer | null;
  return dump === null ? 'gone' : dump.toString('hex');
}
