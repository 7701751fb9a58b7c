import {
  ensureFormat,
  FORMAT_VERSION,
  openConnection,
  PARTITIONED_FORMAT,
  type ConnectionOption,
} from '../redis/connection.js';
import { ValidationError } from '../errors.js';
import { defineScripts } from '../redis/scripts.js';
import { BlockingPool } from '../redis/blocking-pool.js';
import { DEFAULT_MAX_PAYLOAD_BYTES, intOption, MAX_PAYLOAD_BYTES, NAMESPACE_PATTERN } from '../validation.js';
import { timerOption } from '../util/long-timer.js';
import type { TaskDefinition } from '../task-definition.js';
import { Lifecycle } from './lifecycle.js';
import type { ReadContext } from './read-context.js';
import type { Archive } from '../archive/archive.js';
import { partitionKeys, partitionsOption } from '../partitions/layout.js';
import { ensurePartitions } from '../partitions/record.js';

export interface ContextOptions {
  connection?: ConnectionOption;
  namespace?: string;
  heartbeatTtlMs?: number;
  maxAttempts?: number;
  connectTimeoutMs?: number;
  deliveryTimeoutMs?: number;
  maxPayloadBytes?: number;
  tasks?: readonly TaskDefinition[];
  /** Checked by the caller (retention/options.ts). */
  archive?: Archive | null;
  /**
   * How many partitions the namespace has (§20); recorded when it is new, checked when it is not. 'any': a
   * Scheduler or a tool that reads the count recorded and checks nothing; its `layout` is partition 0's only.
   */
  partitions?: number | 'any';
}

export const DEFAULT_HEARTBEAT_TTL_MS = 30_000;

/** Checks the options and opens (or adopts) the connection; `owned` says whether we must close it. */
export function openContext(
  options: ContextOptions,
  onError: (err: unknown) => void,
): { ctx: ReadContext; owned: boolean } {
  const namespace = options.namespace ?? 'taskledger';
  if (typeof namespace !== 'string' || !NAMESPACE_PATTERN.test(namespace)) {
    throw new ValidationError(
      `namespace ${JSON.stringify(namespace)} must be 1 to 64 letters, digits, '_', '.' or '-'`,
    );
  }
  const settings = {
    heartbeatTtlMs: timerOption(options.heartbeatTtlMs, DEFAULT_HEARTBEAT_TTL_MS, 'heartbeatTtlMs', 100),
    maxAttempts: intOption(options.maxAttempts, 3, 'maxAttempts', 1),
    deliveryTimeoutMs: timerOption(options.deliveryTimeoutMs, 10_000, 'deliveryTimeoutMs', 1),
    maxPayloadBytes: intOption(
      options.maxPayloadBytes,
      DEFAULT_MAX_PAYLOAD_BYTES,
      'maxPayloadBytes',
      1,
      MAX_PAYLOAD_BYTES,
    ),
  };
  const adopt = options.partitions === 'any';
  const partitions = adopt ? 1 : partitionsOption(options.partitions);
  const connectTimeoutMs = timerOption(options.connectTimeoutMs, 5000, 'connectTimeoutMs', 1);
  const { redis, owned } = openConnection(options.connection, connectTimeoutMs);
  const layout = partitionKeys(namespace, partitions);
  const keys = layout[0]!;
  const scripts = defineScripts(redis);
  const ctx: ReadContext = {
    redis,
    keys,
    layout,
    migration: { legacy: false },
    scripts,
    blocking: new BlockingPool(redis),
    settings,
    definitions: new Map((options.tasks ?? []).map((d) => [d.type, d])),
    archive: options.archive ?? null,
    life: new Lifecycle(async () => {
      await ensureFormat(redis, keys, connectTimeoutMs, partitions > 1 ? PARTITIONED_FORMAT : FORMAT_VERSION);
      await ensurePartitions(scripts, keys, adopt ? null : partitions);
      // A tool adopting the recorded count reads every partition (partitions/contexts.ts): each is checked
      // (and moved to this format) as an instance of that count would.
      const recorded = adopt ? Number((await redis.hget(keys.meta, 'partitions')) ?? 1) : 1;
      for (const k of partitionKeys(namespace, recorded).slice(1))
        await ensureFormat(redis, k, connectTimeoutMs, FORMAT_VERSION);
      if (partitions > 1) ctx.migration.legacy = (await redis.hget(keys.meta, 'legacy')) === '1';
      await Promise.all(
        layout.map(async (k) => {
          if (k.partition > 0) await ensureFormat(redis, k, connectTimeoutMs, FORMAT_VERSION);
          // Recovery's bound on deadlines (worker/recovery.ts). Not a reason to refuse the open (a full Redis
          // refuses it): recovery then goes by its own TTL and those announced before.
          await redis.zadd(k.heartbeatTtl, 'GT', settings.heartbeatTtlMs, 'max').catch(() => undefined);
        }),
      );
    }, onError),
  };
  return { ctx, owned };
}
