import { partitionArchive } from './archive/archive.js';
import { openContext, type ContextOptions } from './context/open.js';
import { LeaseBook } from './commands/leases.js';
import { createWriteBatches } from './commands/write-batches.js';
import type { DequeueContext } from './dequeue/context.js';
import { QueueRotation } from './dequeue/queue-rotation.js';
import type { HeldBack } from './dequeue/claim.js';

/**
 * A TaskQueue's context, made of the read context (dependencies and lifecycle) and the state of each
 * feature: the leases held, the batched writes, the queue rotation. `owned` says whether the connection is
 * ours to close.
 */
export function openQueueContext(
  options: ContextOptions,
  onError: (err: unknown) => void,
  onHeld?: (held: readonly HeldBack[]) => void,
): { parts: DequeueContext[]; owned: boolean } {
  const { ctx, owned } = openContext(options, onError);
  // One context per partition (§20): the same connection, scripts, lifecycle and leases, each with its own
  // keys, batched writes and queue rotation. Partition 0's is parts[0].
  const leases = new LeaseBook();
  const parts = ctx.layout.map((keys, k) => ({
    ...ctx,
    keys,
    // Each partition archives its own log, in its own chain (§20).
    archive: ctx.archive && partitionArchive(ctx.archive, k),
    leases,
    writes: createWriteBatches(ctx.scripts, keys, ctx.settings.heartbeatTtlMs),
    rotation: new QueueRotation(),
    ...(onHeld ? { onHeld } : {}),
  }));
  return { parts, owned };
}

/**
 * Refuses new calls, ends blocked reads, and waits for the work still running to settle (dequeues giving
 * back what they started for callers no longer waiting, a recovery pass). The connection stays open.
 */
export async function closeQueueContext(ctx: DequeueContext): Promise<void> {
  ctx.life.close();
  ctx.blocking.closeAll();
  await ctx.life.drain();
}
