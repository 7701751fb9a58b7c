import { ValidationError } from '../errors.js';
import { keysFor, type Keys } from '../redis/keys.js';
import { keySlot, SLOTS } from './crc16.js';

/** The most partitions a namespace may have: enough for 100 primaries at two or more partitions each. */
export const MAX_PARTITIONS = 256;

/** Checks the `partitions` option: a whole number from 1 to MAX_PARTITIONS (default 1). */
export function partitionsOption(value: unknown): number {
  if (value === undefined) return 1;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_PARTITIONS)
    throw new ValidationError(`partitions must be a whole number from 1 to ${MAX_PARTITIONS}`);
  return value;
}

/**
 * The hash tag of each partition of a namespace. Partition 0 keeps the namespace's own tag, so P = 1 is the
 * layout a namespace always had. The others are `ns@k`, or `ns@k.n` for the first n that puts the tag's
 * slot in the partition's own range: the slot space cut into P equal ranges, partition 0 in whichever
 * range its slot falls, the others in the rest in order. A cluster whose primaries hold equal runs of
 * slots (as `redis-cli --cluster create` makes them) then gets P / M partitions per primary when its M
 * primaries divide P. `@` is not allowed in a namespace, so no tag is another namespace's.
 */
export function partitionTags(namespace: string, partitions: number): string[] {
  const rangeOf = (slot: number) => Math.floor((slot * partitions) / SLOTS);
  const first = rangeOf(keySlot(`{${namespace}}`));
  const ranges = Array.from({ length: partitions }, (_, i) => i).filter((r) => r !== first);
  const tags = [namespace];
  for (let k = 1; k < partitions; k++) {
    const want = ranges[k - 1]!;
    let tag = `${namespace}@${k}`;
    for (let n = 1; rangeOf(keySlot(`{${tag}}`)) !== want; n++) tag = `${namespace}@${k}.${n}`;
    tags.push(tag);
  }
  return tags;
}

/** The keys of every partition of a namespace, partition 0 first (§20). */
export function partitionKeys(namespace: string, partitions: number): Keys[] {
  return partitionTags(namespace, partitions).map((tag, k) => keysFor(namespace, tag, k));
}
