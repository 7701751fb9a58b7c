import { readdirSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Redis } from 'ioredis';
import { TaskQueue } from '../src/index.js';
import { sleep, until } from './helpers/fixture.js';
import { namespace, startRedis } from './helpers/redis.js';

/** The AOF file Redis appends to (Redis 7: the newest `*.incr.aof` in its appendonlydir). */
async function incrAof(url: string): Promise<string> {
  const raw = new Redis(url);
  try {
    const [, dir] = (await raw.config('GET', 'dir')) as [string, string];
    const [, sub] = (await raw.config('GET', 'appenddirname')) as [string, string];
    const path = join(dir, sub);
    const incr = readdirSync(path)
      .filter((f) => f.endsWith('.incr.aof'))
      .sort();
    return join(path, incr.at(-1)!);
  } finally {
    await raw.quit();
  }
}

describe('a crash that cut the AOF', () => {
  it('leaves no task waiting for ever once verify has repaired what it found', async () => {
    const server = await startRedis({ appendfsync: 'always', own: true });
    onTestFinished(() => server.stop());
    const ns = namespace();
    const open = () =>
      new TaskQueue({
        connection: server.url,
        namespace: ns,
        recoveryIntervalMs: 0,
        heartbeatTtlMs: 300,
        deliveryTimeoutMs: 300,
      });
    const aof = await incrAof(server.url);
    // Work in flight when Redis dies: tasks enqueued (some delayed), started, finished.
    const producer = open();
    const consumer = open();
    let stop = false;
    const produce = async () => {
      for (let n = 0; !stop; n++) {
        await producer
          .enqueue({ queue: 'q', type: 't', spec: { n }, references: { n: n % 3 }, delayMs: n % 4 === 0 ? 200 : 0 })
          .catch(() => sleep(20));
      }
    };
    const consume = async () => {
      while (!stop) {
        const task = await consumer.dequeue(['q'], { signal: AbortSignal.timeout(300) }).catch(() => null);
        if (task) await consumer.finish(task.id).catch(() => undefined);
      }
    };
    const loops = [produce(), produce(), consume()];
    await until(() => statSync(aof).size > 200_000, 20_000);
    await server.kill();
    // The tail of the file goes (a disk that lost its last writes); Redis loads what is left (aof-load-truncated
    // yes, its default), dropping a transaction cut in half.
    const size = statSync(aof).size;
    truncateSync(aof, Math.floor(size * 0.7) + 13);
    await server.restart();
    stop = true;
    await Promise.all(loops);
    await Promise.all([producer.close(), consumer.close()]);

    const check = open();
    try {
      await sleep(400); // past the heartbeat and delivery timeouts: the pass below sees stalls and lost claims
      await check.recover();
      const found = await check.verify({ repair: true });
      expect(found.repair?.needRebuild).toBe(0);
      expect(found.repair?.movedOn).toBe(0);
      const after = await check.verify();
      expect(after.mismatches).toEqual([]);
      expect(after.tasks).toBeGreaterThan(100);
      // Every task left waiting is delivered: a worker drains them all.
      const drain = open();
      try {
        for (;;) {
          const task = await drain.dequeue(['q'], { signal: AbortSignal.timeout(2000) }).catch(() => null);
          if (!task) break;
          await drain.finish(task.id);
        }
        const raw = new Redis(server.url);
        const keys = await raw.keys(`{${ns}}:task:*`);
        const statuses = await Promise.all(keys.map((key) => raw.hget(key, 'status')));
        await raw.quit();
        expect(new Set(statuses)).toEqual(new Set(['finished']));
      } finally {
        await drain.close();
      }
    } finally {
      await check.close();
    }
  });
});
