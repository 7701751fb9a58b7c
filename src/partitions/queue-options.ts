import type { ReadContext } from '../context/read-context.js';
import { PartitionRouteError } from '../errors.js';
import { checkQueue, encodeChange, pauseQueue, setQueueOptions } from '../commands/queue-options.js';
import { allQueueControls, queueControls, type QueueControls } from '../projections/queue-controls.js';
import type { QueueOptions, QueueOptionsChange } from '../types.js';
import { mergeControls } from './merge.js';
import { partitionOfKey } from './routing.js';
import { pinsKey, type PinBook } from './pins.js';

/**
 * setQueueOptions on a namespace of several partitions (§20). A cap or a rate limit is kept by one script
 * call, so it lives in the queue's home partition, and the queue is pinned there: every enqueue sends its
 * tasks home. A queue already used in another partition is refused a cap, as its tasks there would run
 * past it. Aging goes to every partition; each records its own `queue-options` event.
 */
export async function setPartitionedOptions(
  parts: readonly ReadContext[],
  pins: PinBook,
  queue: string,
  change: QueueOptionsChange,
): Promise<QueueOptions> {
  checkQueue(queue);
  encodeChange(change);
  const first = parts[0]!;
  await first.life.whenOpen();
  const home = partitionOfKey(queue, parts.length);
  const limits =
    (change.concurrency !== undefined && change.concurrency !== null) ||
    (change.rateLimit !== undefined && change.rateLimit !== null);
  if (limits && !pins.has(queue)) {
    const pinned = (await first.redis.sismember(pinsKey(first), queue)) === 1;
    if (!pinned) {
      const used = await Promise.all(parts.map((p) => p.redis.sismember(p.keys.queues, queue)));
      const elsewhere = used.flatMap((u, i) => (u === 1 && i !== home ? [i] : []));
      if (elsewhere.length)
        throw new PartitionRouteError(
          `queue "${queue}" has tasks in partition${elsewhere.length > 1 ? 's' : ''} ${elsewhere.join(', ')}; a cap or ` +
            `a rate limit lives in its home partition (${home}), so set it before the queue's first enqueue`,
        );
      await first.redis.sadd(pinsKey(first), queue);
    }
    pins.add(queue);
  }
  const elsewhere: QueueOptionsChange = change.agingMs !== undefined ? { agingMs: change.agingMs } : {};
  const results = await Promise.all(
    parts.map((p, i) =>
      i === home || Object.keys(elsewhere).length > 0
        ? setQueueOptions(p, queue, i === home ? change : elsewhere)
        : queueControls(p, queue),
    ),
  );
  const { paused, concurrency, rateLimit, agingMs } = results[home]!;
  return { paused: paused || results.some((r) => r.paused), concurrency, rateLimit, agingMs };
}

/** Pauses or resumes a queue in every partition; false when no partition changed. */
export async function pausePartitioned(
  parts: readonly ReadContext[],
  queue: string,
  paused: boolean,
): Promise<boolean> {
  checkQueue(queue);
  const changed = await Promise.all(parts.map((p) => pauseQueue(p, queue, paused)));
  return changed.some(Boolean);
}

/** A queue's controls across the partitions. */
export async function partitionedControls(parts: readonly ReadContext[], queue: string): Promise<QueueControls> {
  checkQueue(queue);
  return mergeControls(await Promise.all(parts.map((p) => queueControls(p, queue))));
}

/** Every queue's controls across the partitions. */
export async function allPartitionedControls(parts: readonly ReadContext[]): Promise<Map<string, QueueControls>> {
  const maps = await Promise.all(parts.map((p) => allQueueControls(p)));
  const names = [...new Set(maps.flatMap((m) => [...m.keys()]))].sort();
  return new Map(names.map((q) => [q, mergeControls(maps.flatMap((m) => m.get(q) ?? []))]));
}
