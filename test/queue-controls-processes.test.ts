import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { until, useRedis } from './helpers/fixture.js';

// Workers in processes of their own: each control must hold across them, since it is checked in Redis.
const r = useRedis();
const CHILD = fileURLToPath(new URL('./fixtures/controls-child.mjs', import.meta.url));
const children: ChildProcess[] = [];

afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

async function startWorker(ns: string, queue: string, concurrency: number): Promise<void> {
  if (!existsSync(new URL('../dist/index.js', import.meta.url)))
    throw new Error('these tests run worker processes on the built package: run `npm run build` first (npm test does)');
  const child = spawn(process.execPath, [CHILD, r.url, ns, queue, String(concurrency)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  await new Promise<void>((res, rej) => {
    child.stdout.on('data', (b: Buffer) => b.toString().includes('ready') && res());
    child.once('exit', (code) => rej(new Error(`worker exited with ${String(code)}`)));
  });
}

async function finishedCount(q: ReturnType<typeof r.queue>, queue: string): Promise<number> {
  return Number((await r.raw().hget(`{${q.namespace}}:counts`, `finished:${queue}`)) ?? 0);
}

describe('controls across worker processes', () => {
  it.each([1, 5])(
    'a cap of %i holds over 500 tasks and two workers of concurrency 8',
    async (cap) => {
      const q = r.queue();
      await q.setQueueOptions('capped', { concurrency: cap });
      await q.enqueueMany(Array.from({ length: 500 }, (_, i) => ({ queue: 'capped', type: 't', spec: i })));
      await Promise.all([startWorker(q.namespace, 'capped', 8), startWorker(q.namespace, 'capped', 8)]);
      await until(async () => (await finishedCount(q, 'capped')) === 500, 60_000);
      const peak = Number(await r.raw().get(`{${q.namespace}}:test:peak`));
      expect(peak).toBeLessThanOrEqual(cap);
      // The cap is used, not just respected: with 16 slots for 5, five ran at once at some point.
      expect(peak).toBe(cap);
      expect((await q.getQueueOptions('capped')).running).toBe(0);
      expect((await q.verify()).mismatches).toEqual([]);
    },
    90_000,
  );

  it('a rate limit of 50 per second: no second of starts holds more than 50', async () => {
    const q = r.queue();
    await q.setQueueOptions('limited', { rateLimit: { max: 50, perMs: 1000 } });
    await q.enqueueMany(Array.from({ length: 400 }, () => ({ queue: 'limited', type: 't' })));
    await Promise.all([startWorker(q.namespace, 'limited', 8), startWorker(q.namespace, 'limited', 8)]);
    await new Promise((res) => setTimeout(res, 3200));
    for (const c of children.splice(0)) c.kill('SIGKILL');
    const starts: number[] = [];
    for await (const e of q.events()) if (e.type === 'started') starts.push(e.at.getTime());
    // Every window of one second, from each start on.
    let most = 0;
    for (let i = 0, j = 0; i < starts.length; i++) {
      while (j < starts.length && starts[j]! - starts[i]! < 1000) j++;
      most = Math.max(most, j - i);
    }
    expect(most).toBeLessThanOrEqual(50);
    // Limited, not stopped: about 50 a second over 3 s.
    expect(starts.length).toBeGreaterThanOrEqual(100);
    expect(starts.length).toBeLessThanOrEqual(200);
  }, 30_000);
});
