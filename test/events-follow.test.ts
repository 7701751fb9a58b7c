import { describe, expect, it, onTestFinished } from 'vitest';
import type { Redis } from 'ioredis';
import { TaskQueue, type TaskEvent } from '../src/index.js';
import { sleep, until, useRedis } from './helpers/fixture.js';
import { namespace, startRedis } from './helpers/redis.js';

// CLIENT KILL needs a server of this file's own.
const r = useRedis({ own: true });

/** Kills the connections blocked in (or last running) XREAD: a follower's reader. Resolves with how many. */
async function killReaders(raw: Redis): Promise<number> {
  const list = (await raw.client('LIST')) as string;
  const ids = list
    .split('\n')
    .filter((line) => / cmd=xread /.test(line))
    .map((line) => /\bid=(\d+)/.exec(line)?.[1])
    .filter((id): id is string => id !== undefined);
  for (const id of ids) await raw.client('KILL', 'ID', id);
  return ids.length;
}

/** Follows q's log into `seen` until `ctrl` aborts; `failed()` is what ended the iteration with an error. */
function follow(q: TaskQueue) {
  const ctrl = new AbortController();
  const seen: string[] = [];
  let failure: unknown = null;
  const following = (async () => {
    for await (const e of q.events({ follow: true, signal: ctrl.signal })) seen.push(e.id);
  })().catch((err: unknown) => {
    failure = err;
  });
  return { ctrl, seen, following, failed: () => failure };
}

describe('events({ follow: true })', () => {
  it('on an empty log sees an event written right after it began (before its first blocking read)', async () => {
    for (let i = 0; i < 20; i++) {
      const q = r.queue();
      const it = q.events({ follow: true, signal: AbortSignal.timeout(5000) })[Symbol.asyncIterator]();
      const next = it.next();
      const id = await q.enqueue({ queue: 'q', type: 't' });
      const got = await next;
      expect(got.done, `try ${i}`).toBe(false);
      expect((got.value as TaskEvent).taskId).toBe(id);
      await it.return(undefined);
      await q.close();
    }
  });

  it('survives its reader being killed again and again: every event once, in order, and no error', async () => {
    const q = r.queue();
    const raw = r.raw();
    const { ctrl, seen, following, failed } = follow(q);
    const total = 3000;
    let kills = 0;
    // Batches of 30, each followed by a kill of the follower's reader (once it has one again): a kill lands
    // mid-read (blocked, or with its reply on the way) again and again while the events come.
    for (let i = 0; i < total; i += 30) {
      await q.enqueueMany(Array.from({ length: 30 }, (_, j) => ({ queue: 'q', type: 't', spec: { n: i + j } })));
      await until(async () => (await killReaders(raw)) > 0 || failed() !== null);
      kills++;
    }
    await until(() => seen.length >= total || failed() !== null, 20_000);
    ctrl.abort();
    await following;
    expect(failed()).toBeNull();
    expect(kills).toBe(total / 30);
    const log = (await raw.xrange(`{${q.namespace}}:events`, '-', '+')).map(([id]) => id);
    expect(log).toHaveLength(total);
    expect(seen).toEqual(log);
  });

  it('goes on from its last event after Redis was down for longer than a command waits (killed, restarted)', async () => {
    const server = await startRedis({ appendfsync: 'always', own: true });
    onTestFinished(() => server.stop());
    const q = new TaskQueue({ connection: server.url, namespace: namespace(), recoveryIntervalMs: 0 });
    onTestFinished(() => q.close());
    const { ctrl, seen, following, failed } = follow(q);
    const batch = (n: number) =>
      q.enqueueMany(Array.from({ length: 100 }, (_, j) => ({ queue: 'q', type: 't', spec: { n: n + j } })));
    for (let i = 0; i < 500; i += 100) await batch(i);
    await until(() => seen.length === 500 || failed() !== null);
    await server.kill();
    // Longer than ioredis retries a command (5 reconnects) before it fails it.
    await sleep(2500);
    await server.restart();
    for (let i = 500; i < 1000; i += 100) await batch(i);
    await until(() => seen.length >= 1000 || failed() !== null, 20_000);
    ctrl.abort();
    await following;
    expect(failed()).toBeNull();
    const raw = new (await import('ioredis')).Redis(server.url);
    onTestFinished(() => raw.quit().then(() => undefined));
    const log = (await raw.xrange(`{${q.namespace}}:events`, '-', '+')).map(([id]) => id);
    expect(log).toHaveLength(1000);
    expect(seen).toEqual(log);
  });
});
