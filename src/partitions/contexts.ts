import type { ReadContext } from '../context/read-context.js';
import { partitionKeys } from './layout.js';

/**
 * One read context per partition of a namespace of `partitions`, made from a context opened with
 * `partitions: 'any'` (partition 0's): the same connection and scripts, each partition's keys (§20).
 */
export function partitionReads(ctx: ReadContext, partitions: number): ReadContext[] {
  const { namespace } = ctx.keys;
  const layout = partitionKeys(namespace, partitions);
  return layout.map((keys) => ({ ...ctx, keys, layout }));
}
