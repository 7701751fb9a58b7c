import { newId } from '../util/ids.js';
import { crc16 } from './crc16.js';

/**
 * Where a task lives: crc16 of its id, mod P. Every call that takes only an id finds the task this way,
 * with no lookup; a caller-chosen id routes by its own hash, so an enqueue retried with it is idempotent.
 */
export function partitionOfId(id: string, partitions: number): number {
  return partitions === 1 ? 0 : crc16(id) % partitions;
}

/** Where a partitionKey, a dedup key or a pinned queue's name sends its tasks: the same hash as an id. */
export const partitionOfKey = partitionOfId;

/**
 * A new task id that routes to `partition`: monotonic ULIDs are drawn until one does (P tries on average;
 * each is the previous id's random part plus one within a millisecond, so ids still sort in creation order).
 */
export function idIn(partition: number, partitions: number): string {
  for (;;) {
    const id = newId();
    if (partitionOfId(id, partitions) === partition) return id;
  }
}
