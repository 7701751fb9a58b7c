import { PartitionMismatchError } from '../errors.js';
import type { Keys } from '../redis/keys.js';
import { PARTITIONED_FORMAT } from '../redis/connection.js';
import type { Scripts } from '../redis/scripts.js';

/**
 * Records the partition count in a new namespace, or checks it against the one recorded (partitions-2.lua,
 * one step, so two instances opening a new namespace with different counts cannot both win).
 */
export async function ensurePartitions(scripts: Scripts, first: Keys, partitions: number | null): Promise<void> {
  // A Scheduler or a tool adopts whatever count is recorded.
  if (partitions === null) return;
  const recorded = Number(await scripts.partitions(first.meta, first.events, partitions, PARTITIONED_FORMAT));
  if (recorded === partitions) return;
  throw new PartitionMismatchError(
    first.namespace,
    recorded,
    partitions,
    recorded === 1 ? '; a namespace in use moves to more partitions by migration (docs/architecture.md §20)' : '',
  );
}
