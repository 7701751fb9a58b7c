import type { DequeueContext } from '../dequeue/context.js';
import { dequeue, type DequeueOptions } from '../dequeue/dequeue.js';
import { claimReady, deadlinesAfter, waitForArrivals, type EmptyClaim } from '../dequeue/round.js';
import { redeliver } from '../dequeue/redeliver.js';
import { start } from '../dequeue/start.js';
import type { Task } from '../types.js';
import { sleep } from '../util/sleep.js';
import { partitionOfId } from './routing.js';
import type { CausalFloor } from './causal-floor.js';

/** How long dequeue() pauses when no partition knows any queue yet. */
const NO_QUEUES_MS = 250;

/**
 * dequeue() over every partition (§20): a claim in each, in turn from a rotating first, until one starts a
 * task; when none has one, a wait on all of them at once (one blocked read per partition, CROSSSLOT
 * forbids one over several). The waits only read: the first to see an entry ends the others, and the
 * claims run again.
 */
export function dequeuePartitioned(
  parts: readonly DequeueContext[],
  queues: readonly string[] | undefined,
  options: DequeueOptions | undefined,
  floor: CausalFloor,
): Promise<Task> {
  let next = 0;
  const take = async (named: readonly string[] | undefined, signal?: AbortSignal): Promise<Task | null> => {
    const life = parts[0]!.life;
    for (;;) {
      const empties: { part: DequeueContext; empty: EmptyClaim }[] = [];
      let due = false;
      const first = next++ % parts.length;
      for (let i = 0; i < parts.length; i++) {
        if (signal?.aborted || life.closed) return null;
        const part = parts[(first + i) % parts.length]!;
        const names = named ?? (await part.rotation.known(part));
        if (names.length === 0) continue;
        const result = await claimReady(part, names, 1);
        if (result.kind === 'due') due = true;
        else if (result.kind === 'empty') empties.push({ part, empty: result });
        else {
          // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the signal can abort and close() can run during the awaits above
          if (signal?.aborted || life.closed) {
            await redeliver(part, result.claimed);
            return null;
          }
          const { tasks, held } = await start(part, result.claimed);
          await redeliver(part, held);
          if (tasks[0]) return tasks[0];
        }
      }
      if (due) continue;
      if (empties.length === 0) {
        await sleep(NO_QUEUES_MS, signal, life.stopSignal);
        continue;
      }
      const stop = new AbortController();
      const onAbort = () => stop.abort();
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        await Promise.race(
          empties.map(({ part, empty }) =>
            waitForArrivals(part, empty, deadlinesAfter(empty), 1, stop.signal).catch(() => undefined),
          ),
        );
      } finally {
        signal?.removeEventListener('abort', onAbort);
        // The other waits end now (their connections are dropped): nothing was delivered to them.
        stop.abort();
      }
    }
  };
  const P = parts.length;
  return dequeue(parts[0]!, queues, options, take, (task) => parts[partitionOfId(task.id, P)]!).then((task) => {
    floor.see([task]);
    return task;
  });
}
