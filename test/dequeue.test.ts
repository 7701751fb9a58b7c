import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { AbortError, LeaseLostError, QueueClosedError, TaskQueue } from '../src/index.js';
import { blockedClients, commandCalls, scriptCalls, sleep, until, useRedis } from './helpers/fixture.js';
import { namespace } from './helpers/redis.js';
import { closeQueueContext, openQueueContext } from '../src/queue-context.js';
import { loadInclude } from '../src/redis/scripts.js';
import { start } from '../src/dequeue/start.js';
import { claim } from '../src/dequeue/claim.js';
import { waitReady } from '../src/dequeue/wait-ready.js';
import { Prefetcher } from '../src/dequeue/prefetcher.js';
import { dequeue } from '../src/dequeue/dequeue.js';
import { finish } from '../src/commands/finish.js';

const r = useRedis();

const contexts: ReturnType<typeof openQueueContext>['parts'][number][] = [];
afterEach(async () => {
  await Promise.all(contexts.splice(0).map((ctx) => closeQueueContext(ctx)));
});

/**
 * A context of the dequeue pipeline on the queue's connection and namespace, for its parts to be called
 * directly; closed after the test (its blocking connections with it).
 */
function contextOf(q: TaskQueue) {
  const ctx = openQueueContext({ connection: q.redis, namespace: q.namespace }, (err) => {
    throw err;
  }).parts[0]!;
  contexts.push(ctx);
  return ctx;
}

describe('dequeue', () => {
  it('returns the oldest waiting task first, already running', async () => {
    const q = r.queue();
    const ids = await q.enqueueMany(Array.from({ length: 20 }, (_, i) => ({ queue: 'q', type: 't', spec: { i } })));
    for (const id of ids) {
      const task = await q.dequeue(['q']);
      expect(task.id).toBe(id);
      expect(task.status).toBe('running');
      expect(task.attempt).toBe(1);
      expect(task.startedAt).toBeInstanceOf(Date);
      expect(task.lastHeartbeatAt).toEqual(task.startedAt);
      expect(await q.get(id)).toEqual(task);
    }
  });

  it('returns every field of a task that carries them all, as get() reads it after the start', async () => {
    // start.lua sends back only the fields the started event leaves alone; the rest the client folds in.
    const q = r.queue();
    const id = await q.enqueue({
      queue: 'q',
      type: 't',
      spec: { deep: { list: [1, 'two', null] } },
      references: { user: 'u1', n: 7, ok: true },
      maxAttempts: 5,
      backoff: { type: 'fixed', delayMs: 10 },
      timeoutMs: 900,
      delayMs: 20,
    });
    const first = await q.dequeue(['q']);
    expect(await q.get(id)).toEqual(first);
    await q.heartbeat(id, { step: 1 });
    await q.retryLater(id, { delayMs: 20, error: 'boom', progress: { error: 'boom', step: 1 } });
    const second = await q.dequeue(['q']);
    expect(second.attempt).toBe(2);
    expect(second.progress).toEqual({ error: 'boom', step: 1 });
    expect(second.backoff).toEqual({ type: 'fixed', delayMs: 10 });
    expect(second.timeoutMs).toBe(900);
    expect(second.references).toEqual({ user: 'u1', n: 7, ok: true });
    expect(second.lease).not.toBe(first.lease);
    expect(await q.get(id)).toEqual(second);
    // A failed task given another run: its finishedAt is gone again when it starts.
    await q.fail(id, { error: 'final' });
    expect(await q.retry(id)).toBe(true);
    const third = await q.dequeue(['q']);
    expect(third.finishedAt).toBeNull();
    expect(await q.get(id)).toEqual(third);
  });

  it('counts attempts past the first few (start.lua looks the next attempt up for those, and counts the rest)', async () => {
    const q = r.queue();
    const id = await q.enqueue({ queue: 'q', type: 't', maxAttempts: 12 });
    for (let attempt = 1; attempt <= 12; attempt++) {
      const task = await q.dequeue(['q']);
      expect(task.attempt).toBe(attempt);
      expect((await q.get(id))?.attempt).toBe(attempt);
      if (attempt < 12) await q.retryLater(id, { delayMs: 0, error: `attempt ${attempt}` });
    }
  });

  it('serves several queues fairly, and any queue when none are named', async () => {
    const q = r.queue();
    await q.enqueueMany(Array.from({ length: 30 }, () => ({ queue: 'busy', type: 't' })));
    await q.enqueueMany(Array.from({ length: 3 }, () => ({ queue: 'quiet', type: 't' })));
    const firstSix: string[] = [];
    for (let i = 0; i < 6; i++) firstSix.push((await q.dequeue(['busy', 'quiet'])).queue);
    // The quiet queue is not starved behind 30 busy tasks: it gets every other turn.
    expect(firstSix.filter((x) => x === 'quiet')).toHaveLength(3);
    await q.enqueue({ queue: 'other', type: 't' });
    const seen = new Set<string>();
    for (let i = 0; i < 25; i++) seen.add((await q.dequeue()).queue);
    expect(seen).toEqual(new Set(['busy', 'other']));
  });

  it('blocks until work arrives, in a queue that did not exist yet', async () => {
    const q = r.queue();
    const producer = r.queue({ namespace: q.namespace });
    const pending = q.dequeue(['later']);
    const anyPending = q.dequeue();
    await sleep(300);
    const id1 = await producer.enqueue({ queue: 'later', type: 't' });
    const id2 = await producer.enqueue({ queue: 'later', type: 't' });
    const got = await Promise.all([pending, anyPending]);
    expect(new Set(got.map((t) => t.id))).toEqual(new Set([id1, id2]));
  });

  it('rejects with AbortError at once when its signal aborts, and takes nothing afterwards', async () => {
    const q = r.queue();
    const ctrl = new AbortController();
    const pending = q.dequeue(['q'], { signal: ctrl.signal });
    await sleep(100);
    ctrl.abort();
    const err = await pending.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortError);
    expect((err as AbortError).code).toBe('ERR_ABORTED');
    const id = await q.enqueue({ queue: 'q', type: 't' });
    await sleep(100);
    expect((await q.get(id))?.status).toBe('waiting');
    // An already aborted signal rejects without touching Redis.
    await expect(q.dequeue(['q'], { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
    expect((await q.dequeue(['q'])).id).toBe(id);
  });

  it('gives back tasks taken by a dequeue whose signal aborted mid-way', async () => {
    const q = r.queue();
    const ids = await q.enqueueMany(Array.from({ length: 200 }, () => ({ queue: 'q', type: 't' })));
    const taken: string[] = [];
    const aborted: Promise<unknown>[] = [];
    for (let i = 0; i < 200; i++) {
      const ctrl = new AbortController();
      const p = q.dequeue(['q'], { signal: ctrl.signal }).then(
        (t) => taken.push(t.id),
        () => undefined,
      );
      // Abort at varied points: before the claim, between claim and start, after start.
      setTimeout(() => ctrl.abort(), i % 4);
      aborted.push(p);
    }
    await Promise.all(aborted);
    // close() waits for the give-backs of late aborts; another instance then looks.
    await q.close();
    const q2 = r.queue({ namespace: q.namespace });
    const tasks = await Promise.all(ids.map((id) => q2.get(id)));
    const running = tasks.filter((t) => t?.status === 'running').map((t) => t!.id);
    expect(running.sort()).toEqual([...taken].sort());
    const waiting = tasks.filter((t) => t?.status === 'waiting').length;
    expect(waiting + running.length).toBe(200);
    // Every waiting task can still be dequeued exactly once.
    const rest = new Set<string>();
    for (let i = 0; i < waiting; i++) rest.add((await q2.dequeue(['q'])).id);
    expect(rest.size).toBe(waiting);
    expect((await q2.verify()).mismatches).toEqual([]);
  });

  it('removes started entries from the ready stream, in delivery order or not, and keeps the waiting count exact', async () => {
    const q = r.queue();
    const raw = r.raw();
    const ready = `{${q.namespace}}:ready:q`;
    await q.enqueueMany(Array.from({ length: 10 }, (_, i) => ({ queue: 'q', type: 't', spec: { i } })));
    // A worker starts 2 and claims the next 2 ahead: those stay pending, older than what comes next.
    // Held entries are started without a claim first (no look for due tasks within a minute).
    const feed = new Prefetcher(contextOf(q), ['q'], 60_000);
    const first = await feed.take(2, undefined, true);
    expect(first.map((t) => (t.spec as { i: number }).i)).toEqual([0, 1]);
    expect(feed.held).toBe(2);
    // Another client starts newer entries while older ones are pending: they are removed all the same.
    const other = await q.dequeue(['q']);
    expect((other.spec as { i: number }).i).toBe(4);
    const group = async () => {
      const [g] = (await raw.xinfo('GROUPS', ready)) as unknown[][];
      const o: Record<string, unknown> = {};
      for (let i = 0; i < g!.length; i += 2) o[String(g![i])] = g![i + 1];
      return o;
    };
    expect(await raw.xlen(ready)).toBe(2 + 5); // the 2 claimed ahead, the 5 never delivered
    expect((await q.stats()).queues.q?.waiting).toBe(5);
    // The worker starts what it claimed ahead (the oldest pending entries) and claims 2 more.
    const second = await feed.take(2, undefined, true);
    expect(second.map((t) => (t.spec as { i: number }).i)).toEqual([2, 3]);
    expect(await raw.xlen(ready)).toBe(2 + 3);
    expect((await q.stats()).queues.q?.waiting).toBe(3);
    await feed.take(2, undefined, true);
    while ((await q.stats()).queues.q!.waiting > 0) await q.dequeue(['q']);
    await feed.take(2, undefined, true);
    expect(await raw.xlen(ready)).toBe(0);
    expect((await group()).lag).toBe(0);
    expect((await q.verify()).mismatches).toEqual([]);
  });

  it("takes finishes made just before a worker's next start along in the same call, each answered on its own", async () => {
    // Counts what the whole server did: on a server of this process's own, never REDIS_URL's (shared).
    const own = await r.ownServer();
    const q = own.queue();
    const raw = own.raw();
    await q.enqueueMany(Array.from({ length: 4 }, (_, i) => ({ queue: 'q', type: 't', spec: { i } })));
    const ctx = contextOf(q);
    const feed = new Prefetcher(ctx, ['q'], 60_000);
    const [a, b] = await feed.take(2, undefined, true);
    const before = await scriptCalls(raw);
    // Finishes through the same context as the prefetcher: it sends them with its start.
    const ok = finish(ctx, a!.id, 'done', { lease: a!.lease! });
    const refused = finish(ctx, b!.id, null, { lease: `${b!.lease!}-stale` });
    // Straight to start with what was claimed ahead: no claim call first.
    const next = await feed.take(2, undefined, true);
    await expect(ok).resolves.toBeUndefined();
    await expect(refused).rejects.toBeInstanceOf(LeaseLostError);
    expect(next.map((t) => (t.spec as { i: number }).i)).toEqual([2, 3]);
    expect(await scriptCalls(raw)).toBe(before + 1);
    expect((await q.get(a!.id))?.status).toBe('finished');
    expect((await q.get(b!.id))?.status).toBe('running');
    expect((await q.verify()).mismatches).toEqual([]);
  });

  it('starts a task that arrives while it waits in one script call after waking (not a claim, then a start)', async () => {
    // Counts what the whole server did: on a server of this process's own, never REDIS_URL's (shared).
    const own = await r.ownServer();
    const q = own.queue();
    const producer = own.queue({ namespace: q.namespace });
    const raw = own.raw();
    await producer.enqueue({ queue: 'q', type: 't' });
    await q.dequeue(['q']); // the queue exists and the reader has looked once
    const pending = q.dequeue(['q']);
    await until(async () => (await blockedClients(raw)) === 1);
    const before = await scriptCalls(raw);
    const id = await producer.enqueue({ queue: 'q', type: 't', spec: { late: true } });
    const task = await pending;
    expect(task.id).toBe(id);
    expect(task.status).toBe('running');
    expect(await scriptCalls(raw)).toBe(before + 2); // the enqueue, and one start
    expect((await q.verify()).mismatches).toEqual([]);
  });

  it('an arrived entry the group does not hand out is not started; what it hands out instead comes back claimed', async () => {
    const q = r.queue();
    const raw = r.raw();
    const [a, b] = await q.enqueueMany([
      { queue: 'q', type: 't' },
      { queue: 'q', type: 't' },
    ]);
    const ctx = contextOf(q);
    const readyIdOf = async (id: string) => String(await raw.hget(`{${q.namespace}}:task:${id}`, 'readyId'));
    // As if a reader saw only b arrive: the group's next entry is a, which the call claims but cannot start.
    const { tasks, next } = await start(ctx, [], undefined, [
      { queue: 'q', priority: 0, entryId: await readyIdOf(b!), taskId: b! },
    ]);
    expect(tasks).toEqual([]);
    expect(next.map((c) => c.taskId)).toEqual([a]);
    expect((await q.get(a!))?.status).toBe('waiting');
    // a is claimed (pending), b still undelivered; starting what came back runs a.
    const started = await start(ctx, next);
    expect(started.tasks.map((t) => t.id)).toEqual([a]);
    expect((await q.dequeue(['q'])).id).toBe(b);
    expect((await q.verify()).mismatches).toEqual([]);
  });

  it('a start from before a restart that lost writes never trims entries that are undelivered again', async () => {
    const q = r.queue();
    const raw = r.raw();
    const ready = `{${q.namespace}}:ready:q`;
    const ids = await q.enqueueMany([1, 2, 3].map((i) => ({ queue: 'q', type: 't', spec: { i } })));
    const ctx = contextOf(q);
    const result = await claim(ctx, ['q'], 3);
    expect(result.kind).toBe('claimed');
    const claimed = result.kind === 'claimed' ? result.claimed : [];
    // As if Redis came back without the last writes: the deliveries are gone, the entries are not.
    await raw.xgroup('SETID', ready, 'workers', '0');
    await raw.xack(ready, 'workers', ...claimed.map((c) => c.entryId));
    // A client that remembers its claims of the 2nd and 3rd entries starts them: the 1st must stay.
    const { tasks } = await start(ctx, claimed.slice(1));
    expect(tasks.map((t) => t.id)).toEqual(ids.slice(1));
    expect(await raw.xlen(ready)).toBe(1);
    expect((await q.dequeue(['q'])).id).toBe(ids[0]);
    expect((await q.verify()).mismatches).toEqual([]);
  });

  it('entries that arrive on several queues at once: at most `count` are taken, each matched by queue and id', async () => {
    const q = r.queue();
    const ctx = contextOf(q);
    const raw = r.raw();
    const ids = await q.enqueueMany(['a', 'b', 'c'].map((queue) => ({ queue, type: 't' })));
    const streams = ['a', 'b', 'c'].map((queue) => ctx.keys.ready(queue));
    // Entries of different queues can share a stream id (one enqueue call, one millisecond); make sure they
    // do here, by moving each task's entry to the same explicit id.
    const same = `${Date.now() + 60_000}-0`;
    for (const [i, id] of ids.entries()) {
      const old = String(await raw.hget(ctx.keys.task(id), 'readyId'));
      await raw.xdel(streams[i]!, old);
      await raw.xadd(streams[i]!, same, 'task', id);
      await raw.hset(ctx.keys.task(id), 'readyId', same);
    }
    // A read that finds them already there returns one per stream; the caller asked for one in all.
    expect((await waitReady(ctx, streams, ['0-0', '0-0', '0-0'], 1000, undefined, 1)).arrivals).toHaveLength(1);
    const { arrivals } = await waitReady(ctx, streams, ['0-0', '0-0', '0-0'], 1000, undefined, 3);
    expect(arrivals.map((a) => a.taskId)).toEqual(ids);
    // Started by queue and id: all three, none mistaken for another queue's entry.
    const arrived = arrivals.map((a) => ({
      queue: ['a', 'b', 'c'][a.stream]!,
      priority: 0,
      entryId: a.entryId,
      taskId: a.taskId,
    }));
    const { tasks, next } = await start(ctx, [], undefined, arrived);
    expect(tasks.map((t) => t.id)).toEqual(ids);
    expect(next).toEqual([]);
  });

  it('a blocking read reports entries without a task (the wake stream) apart from the task entries', async () => {
    const q = r.queue();
    const ctx = contextOf(q);
    // One enqueue call with a ready and a delayed task: its ready entry and a wake entry come in one reply.
    await q.enqueueMany([
      { queue: 'q', type: 't' },
      { queue: 'q', type: 't', delayMs: 60_000 },
    ]);
    const read = await waitReady(ctx, [ctx.keys.ready('q'), ctx.keys.wake], ['0-0', '0-0'], 1000, undefined, 5);
    expect(read.arrivals.map((a) => a.stream)).toEqual([0]);
    expect(read.woken).toBe(true);
    const quiet = await waitReady(ctx, [ctx.keys.ready('q')], ['0-0'], 1000, undefined, 5);
    expect(quiet.arrivals).toHaveLength(1);
    expect(quiet.woken).toBe(false);
  });

  it('concurrent blocked dequeues take a burst without handing entries back to the tail', async () => {
    const q = r.queue();
    const producer = r.queue({ namespace: q.namespace });
    await producer.enqueue({ queue: 'q', type: 't' });
    await q.dequeue(['q']);
    const clients = Array.from({ length: 6 }, () => r.queue({ namespace: q.namespace }));
    const taken = clients.map((c) => c.dequeue(['q']));
    await sleep(150);
    const ids = await producer.enqueueMany(
      Array.from({ length: 6 }, (_, i) => ({ queue: 'q', type: 't', spec: { i } })),
    );
    const got = await Promise.all(taken);
    expect(new Set(got.map((t) => t.id))).toEqual(new Set(ids));
    const requeued: string[] = [];
    for await (const e of q.events()) if (e.type === 'requeued') requeued.push(e.taskId);
    expect(requeued).toEqual([]);
  });

  it('starts 9,000 claimed tasks in one call (longer lists than Lua unpacks at once)', async () => {
    const q = r.queue();
    const ctx = contextOf(q);
    const ids = await q.enqueueMany(Array.from({ length: 9000 }, () => ({ queue: 'q', type: 't' })));
    const result = await claim(ctx, ['q'], 9000);
    const claimed = result.kind === 'claimed' ? result.claimed : [];
    expect(claimed).toHaveLength(9000);
    const { tasks } = await start(ctx, claimed);
    expect(tasks).toHaveLength(9000);
    const stats = await q.stats();
    expect(stats.running).toBe(9000);
    expect(stats.queues.q?.waiting).toBe(0);
    expect(await r.raw().xlen(ctx.keys.ready('q'))).toBe(0);
    await Promise.all(ids.map((id) => q.finish(id)));
    expect((await q.stats()).running).toBe(0);
  }, 60_000);

  it('makes a running set that reaches 32 tasks a skiplist, holding nothing but running tasks', async () => {
    // A listpack's every insert walks all members (start.lua, includes/zadd-as-skiplist.lua); smaller sets
    // stay as Redis made them (a listpack on Redis 7, a ziplist on 6.2).
    const q = r.queue();
    const ctx = contextOf(q);
    const raw = r.raw();
    const encoding = () => raw.object('ENCODING', ctx.keys.running);
    const members = async () => (await raw.zrange(ctx.keys.running, 0, -1)).sort();
    const startSome = async (n: number) => {
      const result = await claim(ctx, ['q'], n);
      return (await start(ctx, result.kind === 'claimed' ? result.claimed : [])).tasks.map((t) => t.id);
    };
    await q.enqueueMany(Array.from({ length: 100 }, () => ({ queue: 'q', type: 't' })));
    const running = await startSome(31);
    expect(await encoding()).not.toBe('skiplist');
    running.push(...(await startSome(1)));
    expect(await encoding()).toBe('skiplist');
    expect(await members()).toEqual([...running].sort());
    expect((await q.stats()).running).toBe(32);
    // A set loaded as a listpack again (as after a restart) is converted by the next start.
    const scored = await raw.zrange(ctx.keys.running, 0, -1, 'WITHSCORES');
    await raw.del(ctx.keys.running);
    await raw.zadd(ctx.keys.running, ...scored.reverse());
    expect(await encoding()).not.toBe('skiplist');
    running.push(...(await startSome(1)));
    expect(await encoding()).toBe('skiplist');
    expect(await members()).toEqual([...running].sort());
    // Once emptied the set is gone; 32 started into no set at all make a skiplist at once.
    await Promise.all(running.splice(0).map((id) => q.finish(id)));
    expect(await raw.exists(ctx.keys.running)).toBe(0);
    running.push(...(await startSome(40)));
    expect(await encoding()).toBe('skiplist');
    expect(await members()).toEqual([...running].sort());
    await Promise.all(running.map((id) => q.finish(id)));
    expect(await raw.exists(ctx.keys.running)).toBe(0);
  });

  it('takes the long member out again when the ZADD it guards fails', async () => {
    // A script's writes stay when it fails; the member must not outlive a failed call.
    const lua = loadInclude('zadd-as-skiplist'); // with call-chunked, which it needs
    const raw = r.raw();
    const key = `{${namespace()}}:running`;
    const pairs = Array.from({ length: 40 }, (_, i) => [i === 39 ? 'not-a-score' : String(i), `t${i}`]).flat();
    await expect(raw.eval(`${lua}\nzadd_as_skiplist(KEYS[1], ARGV)`, 1, key, ...pairs)).rejects.toThrow(
      /not a valid float/,
    );
    expect(await raw.exists(key)).toBe(0); // the failed ZADD wrote nothing, and the long member is gone
    await raw.zadd(key, 1, 'a');
    await expect(raw.eval(`${lua}\nzadd_as_skiplist(KEYS[1], ARGV)`, 1, key, ...pairs)).rejects.toThrow(
      /not a valid float/,
    );
    expect(await raw.zrange(key, 0, -1)).toEqual(['a']);
  });

  it("a caller's connection with a key prefix or automatic pipelining: scripts write where commands read", async () => {
    // Such a connection keeps ioredis' own script functions, which apply those options (scripts.ts).
    for (const options of [{ keyPrefix: 'pfx:' }, { enableAutoPipelining: true }]) {
      const ns = namespace();
      const conn = new Redis(r.url, options);
      const q = new TaskQueue({ connection: conn, namespace: ns, recoveryIntervalMs: 0 });
      try {
        const id = await q.enqueue({ queue: 'q', type: 't', spec: { a: 1 } });
        const task = await q.dequeue(['q']);
        expect(task.id).toBe(id);
        await q.finish(id);
        expect((await q.history(id)).map((e) => e.type)).toEqual(['enqueued', 'started', 'finished']);
        const keys = await r.raw().keys(`*{${ns}}*`);
        const prefix = options.keyPrefix ?? '';
        expect(keys.length).toBeGreaterThan(3);
        for (const key of keys) expect(key.startsWith(`${prefix}{${ns}}:`), key).toBe(true);
      } finally {
        await q.close();
        conn.disconnect();
      }
    }
  });

  it("asks a pooled connection's CLIENT ID once, not before every blocking read", async () => {
    // Counts what the whole server did: on a server of this process's own, never REDIS_URL's (shared).
    const own = await r.ownServer();
    const q = own.queue();
    const raw = own.raw();
    const clientIdCalls = () => commandCalls(raw, 'client|id');
    await q.enqueue({ queue: 'q', type: 't' });
    await q.dequeue(['q']);
    const before = await clientIdCalls();
    const controller = new AbortController();
    const waiting = q.dequeue(['q'], { signal: controller.signal }).catch((err: unknown) => err);
    await sleep(2300); // three rounds of waiting: each read ends after 1 s
    controller.abort();
    expect(await waiting).toBeInstanceOf(AbortError);
    expect(await clientIdCalls()).toBe(before + 1);
  });

  it('hands each of 2,000 tasks to exactly one of 8 concurrent clients', async () => {
    const ns = namespace();
    const producer = r.queue({ namespace: ns });
    const ids = await producer.enqueueMany(
      Array.from({ length: 2000 }, (_, i) => ({ queue: i % 2 ? 'a' : 'b', type: 't', spec: { i } })),
    );
    const clients = Array.from({ length: 8 }, () => r.queue({ namespace: ns }));
    const received: string[][] = clients.map(() => []);
    let remaining = ids.length;
    await Promise.all(
      clients.map(async (c, n) => {
        while (remaining > 0) {
          const ctrl = new AbortController();
          const timer = setTimeout(() => ctrl.abort(), 2000);
          const task = await c.dequeue(['a', 'b'], { signal: ctrl.signal }).catch((e: unknown) => {
            if (e instanceof AbortError) return null;
            throw e;
          });
          clearTimeout(timer);
          if (!task) break;
          remaining--;
          received[n]!.push(task.id);
          await c.finish(task.id);
        }
      }),
    );
    const all = received.flat();
    expect(all).toHaveLength(2000);
    expect(new Set(all)).toEqual(new Set(ids));
    expect(received.every((list) => list.length > 0)).toBe(true);
    const v = await producer.verify();
    expect(v).toEqual({ tasks: 2000, mismatches: [], indexes: [] });
  });

  it('close() ends a blocked dequeue and leaves no connection behind', async () => {
    // Counts what the whole server did: on a server of this process's own, never REDIS_URL's (shared).
    const own = await r.ownServer();
    const raw = own.raw();
    const before = Number((await raw.info('clients')).match(/connected_clients:(\d+)/)![1]);
    const q = new TaskQueue({ connection: own.url, namespace: namespace(), recoveryIntervalMs: 0 });
    const pending = q.dequeue(['q']).catch((e: unknown) => e);
    await until(async () => (await blockedClients(raw)) === 1);
    await q.close();
    const result = await pending;
    expect(result).toBeInstanceOf(QueueClosedError);
    // The server notices closed connections a moment later; one left open would keep this from ever holding.
    await until(async () => Number((await raw.info('clients')).match(/connected_clients:(\d+)/)![1]) === before);
  });

  it('close() during a dequeue waits until what it took is back in the queue', async () => {
    // CLIENT PAUSE holds every client's writes: on a server of this process's own, never REDIS_URL's.
    const own = await r.ownServer();
    const q = new TaskQueue({ connection: own.url, namespace: namespace(), recoveryIntervalMs: 0 });
    const raw = own.raw();
    const id = await q.enqueue({ queue: 'q', type: 't' });
    // Writes (scripts too) wait while the server is paused: the dequeue's claim is in flight when close() runs.
    await raw.client('PAUSE', 10_000, 'WRITE');
    let closing: Promise<void>;
    const pending = q.dequeue(['q']).catch((e: unknown) => e);
    try {
      await sleep(50);
      closing = q.close();
      // A second close() (a shutdown hook, say) resolves no sooner than the first.
      let again = false;
      void q.close().then(() => (again = true));
      await sleep(50);
      expect(again).toBe(false);
    } finally {
      await raw.client('UNPAUSE');
    }
    await closing;
    expect(await pending).toBeInstanceOf(QueueClosedError);
    const [pendingEntries] = (await raw.xpending(`{${q.namespace}}:ready:q`, 'workers')) as [number];
    expect(pendingEntries).toBe(0);
    const q2 = own.queue({ namespace: q.namespace });
    expect((await q2.get(id))?.status).toBe('waiting');
    expect((await q2.dequeue(['q'])).id).toBe(id);
    expect((await q2.verify()).mismatches).toEqual([]);
  });

  it('close() or an abort while the start is in flight: the task goes back to its queue, and close() waits for it', async () => {
    for (const stop of ['close', 'abort'] as const) {
      const q = r.queue();
      const id = await q.enqueue({ queue: 'q', type: 't' });
      const ctx = contextOf(q);
      const ctrl = new AbortController();
      let closing: Promise<void> | undefined;
      // Stops the caller the moment start.lua has been sent: its reply comes back to nobody.
      const send = ctx.scripts.start;
      ctx.scripts.start = (...args) => {
        const reply = send(...args);
        if (stop === 'close') closing = closeQueueContext(ctx);
        else ctrl.abort();
        return reply;
      };
      const err = await dequeue(ctx, ['q'], { signal: ctrl.signal }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(stop === 'close' ? QueueClosedError : AbortError);
      await (closing ?? closeQueueContext(ctx));
      const q2 = r.queue({ namespace: q.namespace });
      expect((await q2.get(id))?.status).toBe('waiting');
      expect((await q2.history(id)).map((e) => [e.type, e.data.reason ?? null])).toEqual([
        ['enqueued', null],
        ['started', null],
        ['requeued', 'released'],
      ]);
      expect((await q2.dequeue(['q'])).id).toBe(id);
    }
  });
});
