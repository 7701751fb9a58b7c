import { Redis } from 'ioredis';
import { TaskQueue } from '../task-queue.js';
import { FileArchive } from '../archive/file-archive.js';
import { Scheduler } from '../scheduler/scheduler.js';
import { keysFor } from '../redis/keys.js';
import { DEFAULT_URL } from '../redis/connection.js';
import { openContext } from '../context/open.js';
import { partitionReads } from '../partitions/contexts.js';
import type { ReadContext } from '../context/read-context.js';
import { NAMESPACE_PATTERN } from '../validation.js';

/** Exit codes, documented in the README. */
export const EXIT = {
  OK: 0,
  CHECK_FAILED: 1,
  USAGE: 2,
  NOT_FOUND: 3,
  UNREACHABLE: 4,
  NO_NAMESPACE: 5,
  REFUSED: 6,
} as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export interface GlobalOptions {
  redis?: string;
  namespace: string;
  json?: boolean;
  /** A FileArchive directory to read trimmed events from (show, events, export). */
  archive?: string;
  /** The partition count of a namespace made here (import); one that exists keeps its own. */
  partitions?: number;
}

export interface Session {
  redis: Redis;
  queue: TaskQueue;
  /** The read models' context, on the same connection (partition 0's). */
  read: ReadContext;
  /** The partitions the namespace records (§20), 1 for a new one unless --partitions says otherwise. */
  partitions: number;
  /** One read context per partition, `read` first. */
  reads: readonly ReadContext[];
  scheduler(): Scheduler;
  close(): Promise<void>;
}

const CONNECT_TIMEOUT_MS = 3000;

/** A Redis URL: anything else would be taken by ioredis for a host or a socket path, and fail obscurely. */
function checkUrl(url: string): void {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    // reported below
  }
  if (parsed?.protocol !== 'redis:' && parsed?.protocol !== 'rediss:')
    throw new CliError(
      `--redis (or REDIS_URL) must be a URL such as redis://host:6379 or rediss://..., got "${url}"`,
      EXIT.USAGE,
    );
}

/**
 * Connects with a short timeout (an unreachable Redis is an error within seconds, not a hang) and checks
 * that the namespace exists before anything could create it. `create` allows a new namespace.
 */
export async function connect(opts: GlobalOptions, create = false): Promise<Session> {
  const url = opts.redis ?? process.env.REDIS_URL ?? DEFAULT_URL;
  checkUrl(url);
  if (!NAMESPACE_PATTERN.test(opts.namespace))
    throw new CliError(
      `namespace "${opts.namespace}" must be 1 to 64 letters, digits, '_', '.' or '-' (it is part of every key name)`,
      EXIT.USAGE,
    );
  const redis = new Redis(url, {
    connectTimeout: CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
    lazyConnect: true,
  });
  // The cause (ECONNREFUSED, ENOTFOUND...) comes as an 'error' event; the rejection only says "closed".
  let cause: Error | undefined;
  redis.on('error', (err: Error) => (cause ??= err));
  try {
    await Promise.race([
      redis.connect(),
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`no answer within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS).unref(),
      ),
    ]);
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    throw new CliError(`cannot reach Redis at ${url}: ${(cause ?? (err as Error)).message}`, EXIT.UNREACHABLE);
  }
  if (!create && (await redis.exists(keysFor(opts.namespace).meta)) === 0) {
    redis.disconnect();
    throw new CliError(
      `namespace "${opts.namespace}" does not exist at ${url} (no taskledger data there; check --namespace)`,
      EXIT.NO_NAMESPACE,
    );
  }
  // The queue spans the partitions the namespace records (§20); a new namespace gets one.
  const recorded = await redis.hget(keysFor(opts.namespace).meta, 'partitions');
  const partitions = recorded === null ? (opts.partitions ?? 1) : Number(recorded);
  // Made on first use: a TaskQueue records the format version, which a read-only look must not do to a
  // namespace that has no data yet.
  let queue: TaskQueue | undefined;
  let scheduler: Scheduler | undefined;
  let read: ReadContext | undefined;
  let reads: readonly ReadContext[] | undefined;
  // A one-shot command has no background work whose failure could be reported: every call is awaited.
  const readContext = () =>
    (read ??= openContext({ connection: redis, namespace: opts.namespace, partitions: 'any' }, () => undefined).ctx);
  return {
    redis,
    get queue() {
      return (queue ??= new TaskQueue({
        connection: redis,
        namespace: opts.namespace,
        recoveryIntervalMs: 0,
        partitions,
        ...(opts.archive ? { archive: new FileArchive(opts.archive) } : {}),
      }));
    },
    get read() {
      return readContext();
    },
    partitions,
    get reads() {
      return (reads ??= partitionReads(readContext(), partitions));
    },
    scheduler: () => (scheduler ??= new Scheduler({ connection: redis, namespace: opts.namespace })),
    close: async () => {
      await scheduler?.stop();
      await queue?.close();
      read?.life.close();
      read?.blocking.closeAll();
      redis.disconnect();
    },
  };
}
