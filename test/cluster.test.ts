import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from 'ioredis';
import { Scheduler, TaskQueue, Worker } from '../src/index.js';
import { namespace, startCluster, type TestCluster } from './helpers/redis.js';
import { sleep } from './helpers/fixture.js';

/** The same scripts on Redis Cluster: every key of a namespace in one slot, every key declared. */
let cluster: TestCluster;
let conn: Cluster;
beforeAll(async () => {
  cluster = await startCluster();
  conn = new Cluster([{ host: '127.0.0.1', port: cluster.ports[0]! }]);
}, 60_000);
afterAll(async () => {
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when beforeAll failed part way
  conn?.disconnect();
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when beforeAll failed part way
  await cluster?.stop();
});

describe.each([1, 3])('on Redis Cluster, %i partition(s)', (partitions) => {
  it('runs the queue, a worker, delayed tasks, verify, rebuild and the scheduler', async () => {
    const ns = namespace();
    const q = new TaskQueue({ connection: conn, namespace: ns, recoveryIntervalMs: 0, partitions });
    const s = new Scheduler({ connection: conn, namespace: ns, leaseMs: 1000, pollIntervalMs: 100 });
    try {
      const ids = await q.enqueueMany(
        Array.from({ length: 40 }, (_, i) => ({
          queue: `q${i % 2}`,
          type: 't',
          spec: { i },
          references: { batch: i % 4 },
        })),
      );
      const first = await q.dequeue(['q0', 'q1']);
      await q.heartbeat(first.id, { half: true });
      await q.finish(first.id, { ok: true });
      const delayed = await q.enqueue({ queue: 'q0', type: 't', delayMs: 200 });
      await s.schedule({ queue: 'q1', type: 'beat', cronSchedule: '* * * * * *' });
      await s.start();
      let done = 0;
      const w = new Worker(q, async () => 'ok', { queues: ['q0', 'q1'], concurrency: 8 });
      w.on('task:finished', () => done++);
      w.start();
      for (let i = 0; i < 100 && (done < 40 || (await q.get(delayed))?.status !== 'finished'); i++) await sleep(50);
      await w.close();
      await s.stop();
      expect(done).toBeGreaterThanOrEqual(40);
      expect((await q.get(delayed))?.status).toBe('finished');
      expect((await q.history(first.id)).map((e) => e.type)).toEqual(['enqueued', 'started', 'progress', 'finished']);
      expect(ids).toContain(first.id);
      expect((await q.verify()).mismatches).toEqual([]);
      // Every key of a partition hashes to its one slot; with 3 partitions, each on its own primary.
      const keys: string[] = [];
      const perNode: number[] = [];
      for (const node of conn.nodes('master')) {
        const mine = [...(await node.keys(`{${ns}}:*`)), ...(await node.keys(`{${ns}@*}:*`))];
        perNode.push(mine.length);
        keys.push(...mine);
      }
      const slots = new Set(await Promise.all(keys.map((k) => conn.cluster('KEYSLOT', k))));
      expect(keys.length).toBeGreaterThan(10);
      expect(slots.size).toBe(partitions);
      expect(perNode.filter((n) => n > 0).length).toBe(partitions);
      // rebuild works through SCAN on every master.
      const taskKeys = keys.filter((k) => k.includes(':task:'));
      await conn.del(taskKeys[0]!);
      expect((await q.verify()).mismatches.length).toBe(1);
      await q.rebuild();
      expect((await q.verify()).mismatches).toEqual([]);
      expect((await q.deleteByReference({ batch: 1 })).tasks).toBe(10);
    } finally {
      await s.stop();
      await q.close();
    }
  });
});
