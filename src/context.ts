import { duplicateConnection, ensureFormat, openConnection, type Connection, type ConnectionOption } from './connection.js';
import { QueueClosedError, RedisUnavailableError, ValidationError } from './errors.js';
import { keysFor } from './keys.js';
import { defineScripts } from './scripts.js';
import { intOption, NAMESPACE_PATTERN } from './validation.js';
import type { Keys } from './keys.js';
import type { Scripts } from './scripts.js';
import type { TaskDefinition } from './task-definition.js';
import { createBatches, type Batches } from './batches.js';

/** Pool of connections for blocking reads (XREAD BLOCK freezes its connection), made on demand. */
export class BlockingPool {
  private readonly free: Connection[] = [];
  private readonly all = new Set<Connection>();
  constructor(private readonly source: Connection) {}

  acquire(): Connection {
    const conn = this.free.pop() ?? duplicateConnection(this.source);
    this.all.add(conn);
    return conn;
  }
  release(conn: Connection): void {
    if (this.all.has(conn)) this.free.push(conn);
  }
  /** Drops a connection that is blocked in a read nobody wants any more: disconnecting ends the read. */
  discard(conn: Connection): void {
    this.all.delete(conn);
    const i = this.free.indexOf(conn);
    if (i >= 0) this.free.splice(i, 1);
    conn.disconnect();
  }
  closeAll(): void {
    for (const conn of this.all) conn.disconnect();
    this.all.clear();
    this.free.length = 0;
  }
}

/** What every command needs: one per TaskQueue. */
export interface Context {
  readonly redis: Connection;
  readonly scripts: Scripts;
  readonly keys: Keys;
  readonly heartbeatTtlMs: number;
  readonly maxAttempts: number;
  readonly deliveryTimeoutMs: number;
  /** Lease (fencing token) this instance holds for each task it started. */
  readonly leases: Map<string, string>;
  readonly blocking: BlockingPool;
  /** Checks the format version (the first round trip); every command awaits it through enter(). */
  readonly init: () => Promise<void>;
  /** The successful or pending check; cleared when Redis was unreachable, so the next command tries again. */
  ready: Promise<void> | null;
  /** Set once the check has passed (it never needs to run again): enter() then has nothing to wait for. */
  checked: boolean;
  closed: boolean;
  /** Aborted by close(): ends waits that have no connection to drop (dequeue's pause while no queue exists). */
  readonly stop: AbortController;
  /**
   * Work that outlives the call that began it: a dequeue runs on after its caller stopped waiting (abort,
   * close) to give back what it started. close() waits for it all before closing the connection.
   */
  readonly background: Set<Promise<unknown>>;
  /** Task types declared with a schema: enqueue checks their specs. */
  readonly definitions: ReadonlyMap<string, TaskDefinition>;
  /** Rotates the order in which queues are read, for fairness between them. */
  rotation: number;
  /** The namespace's queues as last read, for readers of any queue (dequeue.ts). */
  queueList?: { at: number; names: string[] };
  /** Calls made at about the same time, sent as one script call each kind (batches.ts). */
  readonly batches: Batches;
}

/**
 * Waits for the format check (the first round trip; tried again while Redis is unreachable). Once it has
 * passed there is nothing to wait for, and it returns undefined: the calls a busy worker or producer makes
 * for every task then neither make a promise nor wait a turn for one (`const wait = enter(ctx); if (wait)
 * await wait;`).
 */
export function enter(ctx: Context): Promise<void> | undefined {
  if (ctx.closed) return Promise.reject(new QueueClosedError());
  if (ctx.checked) return undefined;
  if (!ctx.ready) {
    const attempt = ctx.init();
    ctx.ready = attempt;
    attempt.then(
      () => {
        if (ctx.ready === attempt) ctx.checked = true;
      },
      (err: unknown) => {
        // An unreachable Redis is not final: the next command checks again. A newer format is final.
        if (err instanceof RedisUnavailableError && ctx.ready === attempt) ctx.ready = null;
      },
    );
  }
  return ctx.ready;
}

/** Keeps `work` in ctx.background until it settles (a rejection is dropped there: the caller handles its own). */
export function track(ctx: Context, work: Promise<unknown>): void {
  ctx.background.add(work);
  const done = () => ctx.background.delete(work);
  work.then(done, done);
}

export interface ContextOptions {
  connection?: ConnectionOption;
  namespace?: string;
  heartbeatTtlMs?: number;
  maxAttempts?: number;
  connectTimeoutMs?: number;
  deliveryTimeoutMs?: number;
  tasks?: readonly TaskDefinition[];
}

/** Checks the options and opens (or adopts) the connection; `owned` says whether we must close it. */
export function createContext(options: ContextOptions): { ctx: Context; owned: boolean } {
  const namespace = options.namespace ?? 'taskledger';
  if (!NAMESPACE_PATTERN.test(namespace)) {
    throw new ValidationError(`namespace "${namespace}" must be 1 to 64 letters, digits, '_', '.' or '-'`);
  }
  const heartbeatTtlMs = intOption(options.heartbeatTtlMs, 30_000, 'heartbeatTtlMs', 100);
  const connectTimeoutMs = intOption(options.connectTimeoutMs, 5000, 'connectTimeoutMs', 1);
  const maxAttempts = intOption(options.maxAttempts, 3, 'maxAttempts', 1);
  const deliveryTimeoutMs = intOption(options.deliveryTimeoutMs, 10_000, 'deliveryTimeoutMs', 1);
  const { redis, owned } = openConnection(options.connection, connectTimeoutMs);
  const keys = keysFor(namespace);
  const scripts = defineScripts(redis);
  const ctx: Context = {
    redis,
    keys,
    scripts,
    batches: createBatches(scripts, keys, heartbeatTtlMs),
    heartbeatTtlMs,
    maxAttempts,
    deliveryTimeoutMs,
    leases: new Map(),
    definitions: new Map((options.tasks ?? []).map((d) => [d.type, d])),
    blocking: new BlockingPool(redis),
    init: () => ensureFormat(redis, keys, connectTimeoutMs),
    ready: null,
    checked: false,
    closed: false,
    stop: new AbortController(),
    background: new Set(),
    rotation: 0,
  };
  return { ctx, owned };
}
