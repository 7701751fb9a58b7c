import { duplicateConnection, type Connection } from './connection.js';
import { QueueClosedError, RedisUnavailableError } from './errors.js';
import type { Keys } from './keys.js';
import type { Scripts } from './scripts.js';
import type { TaskDefinition } from './task-definition.js';

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
  closed: boolean;
  /** Task types declared with a schema: enqueue checks their specs. */
  readonly definitions: ReadonlyMap<string, TaskDefinition>;
  /** Rotates the order in which queues are read, for fairness between them. */
  rotation: number;
}

export async function enter(ctx: Context): Promise<void> {
  if (ctx.closed) throw new QueueClosedError();
  if (!ctx.ready) {
    const attempt = ctx.init();
    ctx.ready = attempt;
    attempt.catch((err: unknown) => {
      // An unreachable Redis is not final: the next command checks again. A newer format is final.
      if (err instanceof RedisUnavailableError && ctx.ready === attempt) ctx.ready = null;
    });
  }
  await ctx.ready;
}
