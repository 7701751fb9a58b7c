import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PartitionRouteError, type Task, type TaskQueue } from '../src/index.js';
import { partitionTags } from '../src/partitions/layout.js';
import { partitionOfId } from '../src/partitions/routing.js';
import { useRedis } from './helpers/fixture.js';

const r = useRedis();

/** One operation of a random run; task and progress choices are indices into what exists at that point. */
const op = fc.oneof(
  fc.record({
    kind: fc.constant('enqueue' as const),
    queue: fc.constantFrom('a', 'b'),
    ref: fc.integer({ min: 0, max: 2 }),
    spec: fc.jsonValue({ maxDepth: 2 }),
  }),
  fc.record({ kind: fc.constant('enqueueMany' as const), n: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant('dequeue' as const), queue: fc.constantFrom('a', 'b', null) }),
  fc.record({
    kind: fc.constantFrom('heartbeat' as const, 'finish' as const, 'fail' as const),
    pick: fc.nat(),
    // Half of them aim at a running task (the only kind they can change), the rest at any task.
    running: fc.boolean(),
    progress: fc.option(fc.jsonValue({ maxDepth: 2 })),
  }),
  fc.record({
    kind: fc.constantFrom('cancel' as const, 'release' as const, 'stall' as const),
    pick: fc.nat(),
    running: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('deleteByReference' as const), ref: fc.integer({ min: 0, max: 2 }) }),
  // Priorities and deduplication: an enqueue at a level with a dedup key (a debounce half the time), and a
  // waiting task's priority changed.
  fc.record({
    kind: fc.constant('enqueueRanked' as const),
    queue: fc.constantFrom('a', 'b'),
    priority: fc.integer({ min: 0, max: 9 }),
    key: fc.constantFrom('k1', 'k2'),
    replace: fc.boolean(),
    spec: fc.integer(),
  }),
  fc.record({ kind: fc.constant('setPriority' as const), pick: fc.nat(), priority: fc.integer({ min: 0, max: 9 }) }),
  // Queue controls: a dequeue may then find its queue paused or at its cap, and take nothing.
  fc.record({
    kind: fc.constant('control' as const),
    queue: fc.constantFrom('a', 'b'),
    change: fc.oneof(
      fc.constant('pause' as const),
      fc.constant('resume' as const),
      fc.record({ concurrency: fc.option(fc.integer({ min: 1, max: 2 })) }),
      fc.record({ rateLimit: fc.option(fc.record({ max: fc.integer({ min: 1, max: 3 }), perMs: fc.constant(50) })) }),
    ),
  }),
  // A compaction: the log trimmed up to now behind snapshots, and with `expire` ended tasks removed too.
  fc.record({ kind: fc.constant('compact' as const), expire: fc.boolean() }),
);

describe.each([1, 3])('random operation sequences, %i partition(s)', (partitions) => {
  it('keep verify() clean, and rebuild() reproduces every task exactly', async () => {
    const seen = new Set<string>();
    const collect = async (q: TaskQueue) => {
      for await (const e of q.events()) seen.add(e.data.reason ? `${e.type}:${e.data.reason as string}` : e.type);
    };
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 40 }), async (ops) => {
        const q = r.queue({ heartbeatTtlMs: 60_000, maxAttempts: 2, partitions });
        const raw = r.raw();
        const ns = q.namespace;
        const tags = partitionTags(ns, partitions).map((t) => `{${t}}`);
        const tagOf = (id: string) => tags[partitionOfId(id, partitions)]!;
        const allRunning = async () => (await Promise.all(tags.map((t) => raw.zrange(`${t}:running`, 0, -1)))).flat();
        // A cap given to a queue used outside its home partition is refused (§20): part of the run.
        const routeRefused = (err: unknown) => {
          if (!(partitions > 1 && err instanceof PartitionRouteError)) throw err;
        };
        const compactor = (expire: boolean) =>
          r.queue({
            namespace: ns,
            partitions,
            retention: expire ? { finishedMs: 1, failedMs: 1, cancelledMs: 1, logMs: 1 } : { logMs: 1 },
            archive: false,
            compactIntervalMs: 0,
          });
        const compactors = { true: compactor(true), false: compactor(false) };
        const ids: string[] = [];
        const pick = (n: number) => ids[n % Math.max(ids.length, 1)];
        // A running task when asked for and there is one (the only kind most operations change), else any.
        const target = async (o: { pick: number; running: boolean }) => {
          const running = o.running ? await allRunning() : [];
          return running.length ? running[o.pick % running.length] : pick(o.pick);
        };
        for (const o of ops) {
          // Refusals (a finished task cannot be cancelled, ...) are part of the run: only their effect matters.
          const ignore = () => undefined;
          switch (o.kind) {
            case 'enqueue':
              ids.push(
                await q.enqueue({ queue: o.queue, type: 't', spec: o.spec as never, references: { ref: o.ref } }),
              );
              break;
            case 'enqueueMany':
              ids.push(
                ...(await q.enqueueMany(
                  Array.from({ length: o.n }, (_, i) => ({
                    queue: i % 2 ? 'a' : 'b',
                    type: 'm',
                    references: { ref: i % 3 },
                  })),
                )),
              );
              break;
            case 'dequeue':
              await q.dequeue(o.queue ? [o.queue] : undefined, { signal: AbortSignal.timeout(30) }).catch(ignore);
              break;
            case 'heartbeat':
            case 'finish':
            case 'fail': {
              const id = await target(o);
              if (id) await q[o.kind](id, o.progress === null ? undefined : (o.progress as never)).catch(ignore);
              break;
            }
            case 'cancel':
            case 'release': {
              const id = await target(o);
              if (id) await q[o.kind](id).catch(ignore);
              break;
            }
            case 'stall': {
              // Time passing without a heartbeat: the deadline moves into the past, then a recovery pass.
              const id = await target(o);
              if (id && (await raw.zscore(`${tagOf(id)}:running`, id)) !== null) {
                await raw.zadd(`${tagOf(id)}:running`, 0, id);
                await raw.del(`${tagOf(id)}:recovery-lock`);
                await q.recover();
              }
              break;
            }
            case 'enqueueRanked': {
              const id = await q
                .enqueue({
                  queue: o.queue,
                  type: 't',
                  spec: o.spec,
                  priority: o.priority,
                  dedup: { key: o.key, replace: o.replace },
                })
                .catch(routeRefused);
              if (id && !ids.includes(id)) ids.push(id);
              break;
            }
            case 'setPriority': {
              const id = pick(o.pick);
              if (id) await q.setPriority(id, o.priority).catch(ignore);
              break;
            }
            case 'control':
              if (o.change === 'pause') await q.pause(o.queue);
              else if (o.change === 'resume') await q.resume(o.queue);
              else await q.setQueueOptions(o.queue, o.change).catch(routeRefused);
              break;
            case 'deleteByReference':
              await q.deleteByReference({ ref: o.ref });
              break;
            case 'compact':
              // Retention and the trim point are 1 ms before now: everything written so far qualifies.
              await new Promise((res) => setTimeout(res, 2));
              await collect(q); // what the trim is about to remove
              await compactors[String(o.expire) as 'true' | 'false'].compact();
              break;
          }
        }
        await compactors.true.close();
        await compactors.false.close();
        // An aborted dequeue may still be giving back what it started: close() waits for that, and a
        // second instance looks at a namespace where nothing moves any more.
        await q.close();
        const q2 = r.queue({ namespace: ns, partitions });
        await collect(q2);
        const v = await q2.verify();
        expect(v.mismatches).toEqual([]);
        const snapshot = async () => {
          const all = await Promise.all(ids.map((id) => q2.get(id)));
          const controls = await Promise.all(['a', 'b'].map((queue) => q2.getQueueOptions(queue)));
          return { tasks: all, running: (await allRunning()).sort(), controls };
        };
        const before = await snapshot();
        for (const t of tags) {
          const taskKeys = await raw.keys(`${t}:task:*`);
          if (taskKeys.length) await raw.del(...taskKeys);
          await raw.del(`${t}:running`, `${t}:ended-by-queue`, `${t}:controls`);
        }
        await q2.rebuild();
        const after = await snapshot();
        expect(after).toEqual(before);
        expect((await q2.verify()).mismatches).toEqual([]);
        const live = before.tasks.filter((t): t is Task => t !== null);
        expect(v.tasks).toBe(live.length);
        await q2.close();
      }),
      { numRuns: partitions === 1 ? 100 : 50, seed: Number(process.env.FC_SEED ?? 20261127) },
    );
    // The runs exercised every transition, so the property speaks about all of them. (A dequeue aborted
    // between its claim and its start gives the entry back: timing decides whether a run shows that one.)
    const transitions = [
      'cancelled',
      'compacted',
      'deleted',
      'enqueued',
      'expired',
      'failed',
      'finished',
      'progress',
      'requeued:released',
      'requeued:stalled',
      'queue-options',
      'replaced',
      'reprioritized',
      'snapshot',
      'started',
    ];
    // With one partition the fixed seed is known to reach every transition; with three (fewer runs, other
    // timings) most, which the property then covers.
    const reached = [...seen].filter((t) => t !== 'requeued:given-back');
    if (partitions === 1) expect(reached.sort()).toEqual(transitions.sort());
    else expect(reached.length).toBeGreaterThan(transitions.length - 4);
  }, 120_000);
});
