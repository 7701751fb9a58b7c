import { Cluster, Redis } from 'ioredis';
import { FormatVersionError, fromRedisError, RedisUnavailableError, ValidationError } from '../errors.js';
import type { Keys } from './keys.js';
import { migrateFrom1, migrateFrom2, migrateFrom3, migrateFrom4 } from './migrate.js';

/**
 * The storage format this version writes and reads. Bump it when keys or events change incompatibly.
 * 2: ended sets (retention), `snapshot`/`expired`/`compacted` events, heartbeats without progress unlogged.
 * 4: running counts per queue. 6: the ended index (task lists); 5 was format 4 partitioned.
 */
export const FORMAT_VERSION = 6;
/**
 * The format of a namespace of more than one partition (§20): format 6 in each partition, plus the count
 * recorded in partition 0's meta. Its own number so that a taskledger that knows no partitions refuses
 * such a namespace rather than read one partition of it. The newest format this version reads. (5 was
 * the same over format 4.)
 */
export const PARTITIONED_FORMAT = 7;

export type Connection = Redis | Cluster;
export type ConnectionOption = string | Redis | Cluster;

export const DEFAULT_URL = 'redis://127.0.0.1:6379';

/** Opens our own connection, or adopts the caller's (which we then must not close). */
export function openConnection(
  option: ConnectionOption | undefined,
  connectTimeoutMs: number,
): { redis: Connection; owned: boolean } {
  if (option instanceof Redis || option instanceof Cluster) return { redis: option, owned: false };
  if (option !== undefined && typeof option !== 'string')
    throw new ValidationError('connection must be a Redis URL, or an ioredis Redis or Cluster');
  const url = option ?? process.env.REDIS_URL ?? DEFAULT_URL;
  const redis = new Redis(url, {
    connectTimeout: connectTimeoutMs,
    // A dead server fails commands after a few quick reconnect attempts instead of queueing them for ever.
    maxRetriesPerRequest: 5,
    lazyConnect: false,
  });
  // Connection errors surface through the commands that fail; an unhandled 'error' event would crash the app.
  redis.on('error', () => {});
  return { redis, owned: true };
}

/** A second connection for blocking reads, which freeze the connection they run on. */
export function duplicateConnection(redis: Connection): Connection {
  const dup = redis.duplicate();
  dup.on('error', () => {});
  return dup;
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RedisUnavailableError(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Records the format version on first use and refuses a namespace written by a newer format. Also the
 * first round trip, so an unreachable Redis is reported here, within connectTimeoutMs.
 */
export async function ensureFormat(
  redis: Connection,
  keys: Keys,
  connectTimeoutMs: number,
  newFormat: number = FORMAT_VERSION,
): Promise<void> {
  const where = describe(redis);
  const check = async () => {
    try {
      // Read first: a namespace in use needs no write, so an instance can open while Redis is full.
      const format = await redis.hget(keys.meta, 'format');
      if (format !== null) return Number(format);
      await redis.hsetnx(keys.meta, 'format', String(newFormat));
      return Number(await redis.hget(keys.meta, 'format'));
    } catch (err) {
      const mapped = fromRedisError(err);
      // Unreachable, whatever ioredis said (its max-retries error too): the message names the address.
      if (mapped !== err && !(mapped instanceof RedisUnavailableError)) throw mapped;
      throw new RedisUnavailableError(`cannot reach Redis at ${where}: ${(err as Error).message}`, err);
    }
  };
  const found = await withTimeout(
    check(),
    connectTimeoutMs,
    `Redis at ${where} did not answer within ${connectTimeoutMs} ms`,
  );
  if (!(found <= PARTITIONED_FORMAT)) throw new FormatVersionError(keys.namespace, found, PARTITIONED_FORMAT);
  // Not bounded by connectTimeoutMs: it visits every task hash once.
  if (found === 1) await migrateFrom1(redis, keys);
  if (found <= 2) await migrateFrom2(redis, keys);
  if (found <= 3) await migrateFrom3(redis, keys);
  if (found <= 5) await migrateFrom4(redis, keys, found === 5);
}

/** The namespace's format version as stored, or null for a namespace with no data yet. */
export async function readFormat(redis: Connection, keys: Keys): Promise<number | null> {
  const format = await redis.hget(keys.meta, 'format');
  return format === null ? null : Number(format);
}

function describe(redis: Connection): string {
  if (redis instanceof Cluster) return 'a cluster';
  const { host, port, path } = redis.options;
  // ioredis fills in its defaults (localhost:6379) for what the caller left out.
  return path ? path : `${host ?? 'localhost'}:${port ?? 6379}`;
}
