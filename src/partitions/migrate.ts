import type { ReadContext } from '../context/read-context.js';
import { openContext, type ContextOptions } from '../context/open.js';
import { PartitionMismatchError, ValidationError } from '../errors.js';
import { PARTITIONED_FORMAT } from '../redis/connection.js';
import { scanTaskIds } from '../projections/log-reader.js';
import { operator } from '../commands/queue-options.js';
import { partitionsOption } from './layout.js';
import { partitionOfId } from './routing.js';

export interface MigrateOptions extends Pick<ContextOptions, 'connection' | 'namespace' | 'connectTimeoutMs'> {
  /** The new partition count, 2 to MAX_PARTITIONS. */
  partitions: number;
}

async function withContext<T>(
  options: Pick<ContextOptions, 'connection' | 'namespace' | 'connectTimeoutMs'>,
  fn: (ctx: ReadContext) => Promise<T>,
): Promise<T> {
  const { ctx, owned } = openContext({ ...options, partitions: 'any' }, () => undefined);
  try {
    await ctx.life.whenOpen();
    return await fn(ctx);
  } finally {
    ctx.life.close();
    ctx.blocking.closeAll();
    if (owned) await ctx.redis.quit().catch(() => ctx.redis.disconnect());
  }
}

/**
 * Moves a namespace of one partition to `partitions`, online (README "Partitions"): a `partitioned` event,
 * and partition 0 marked as holding tasks of any route. Instances already running with one partition go on
 * (their tasks stay in partition 0, where lookups by id also look); new instances open with the new count.
 * True when it moved, false when it had that count already.
 */
export async function migratePartitions(options: MigrateOptions): Promise<boolean> {
  const partitions = partitionsOption(options.partitions);
  if (partitions < 2) throw new ValidationError('migratePartitions moves a namespace to 2 or more partitions');
  return withContext(options, async (ctx) => {
    const k = ctx.keys;
    const moved = Number(
      await ctx.scripts.migratePartitions(k.meta, k.events, partitions, PARTITIONED_FORMAT, operator()),
    );
    if (moved < 0)
      throw new PartitionMismatchError(
        k.namespace,
        -moved,
        partitions,
        '; only a namespace of one partition can be migrated',
      );
    return moved === 1;
  });
}

/**
 * Ends a migration once partition 0 holds no task hash whose id routes elsewhere: lookups by id then stop
 * looking in partition 0 first. Run it when no instance with one partition runs any more. Returns the
 * tasks still in the way (0 when it ended the migration).
 */
export async function finishPartitionMigration(
  options: Pick<ContextOptions, 'connection' | 'namespace' | 'connectTimeoutMs'>,
): Promise<number> {
  return withContext(options, async (ctx) => {
    const partitions = Number((await ctx.redis.hget(ctx.keys.meta, 'partitions')) ?? 1);
    const stray = (await scanTaskIds(ctx)).filter((id) => partitionOfId(id, partitions) !== 0).length;
    if (stray === 0) await ctx.redis.hdel(ctx.keys.meta, 'legacy');
    return stray;
  });
}

/**
 * Where a task of a migrated namespace lives: where its id routes, or partition 0 for one made before the
 * migration (or by an instance with one partition since). One EXISTS, only while the migration is open.
 */
export async function legacyPartition(parts: readonly ReadContext[], taskId: string, routed: number): Promise<number> {
  if (routed === 0) return 0;
  const here = await parts[routed]!.redis.exists(parts[routed]!.keys.task(taskId));
  if (here === 1) return routed;
  const there = await parts[0]!.redis.exists(parts[0]!.keys.task(taskId));
  return there === 1 ? 0 : routed;
}
