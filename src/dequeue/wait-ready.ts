import { Cluster } from 'ioredis';
import type { ReadContext } from '../context/read-context.js';
import type { Connection } from '../redis/connection.js';

/** Extra time a read may block when our own timer is to end it: Redis checks timeouts only every 1/hz s. */
const SERVER_TIMEOUT_SLACK_MS = 250;

/**
 * The pooled connection's CLIENT ID, asked once per connection rather than before every read. Forgotten
 * when the connection closes: a reconnected one has a new id, and a stale one could unblock another client.
 */
const clientIds = new WeakMap<Connection, Promise<number>>();
function clientId(conn: Connection): Promise<number> {
  let id = clientIds.get(conn);
  if (!id) {
    id = conn.client('ID');
    clientIds.set(conn, id);
    id.catch(() => clientIds.delete(conn));
    conn.once('close', () => clientIds.delete(conn));
  }
  return id;
}

/** An entry a blocking read saw arrive on a ready stream (not claimed). */
export interface Arrival {
  /** Index of its stream in the `streams` given. */
  stream: number;
  entryId: string;
  taskId: string;
}

/** What a blocking read saw: up to `count` task entries, and whether entries without a task came too. */
export interface Arrivals {
  arrivals: Arrival[];
  /** An entry that carries no task arrived (the wake stream's: a task became delayed). */
  woken: boolean;
}

/**
 * Blocks until new entries arrive on any of the streams after the given ids, the timeout passes or the
 * signal aborts, and returns up to `count` of the task entries seen (none after a timeout or abort). It only
 * reads: the entries are then claimed through the group (start.ts), so a reader that dies here leaves
 * nothing half-delivered. Runs on a pooled connection, since XREAD BLOCK freezes it.
 *
 * Redis enforces BLOCK timeouts with the precision of its `hz` (100 ms at the default 10), too coarse for
 * a delayed task due in 30 ms; so a client timer ends the wait on time with CLIENT UNBLOCK (single Redis;
 * on a cluster the server timeout alone applies).
 */
export async function waitReady(
  ctx: ReadContext,
  streams: readonly string[],
  afterIds: readonly string[],
  timeoutMs: number,
  signal?: AbortSignal,
  count = 1,
): Promise<Arrivals> {
  // After close() a new connection would outlive the pool that should close it.
  if (signal?.aborted || ctx.life.closed) return { arrivals: [], woken: false };
  const conn = ctx.blocking.acquire();
  const onAbort = () => ctx.blocking.discard(conn);
  signal?.addEventListener('abort', onAbort, { once: true });
  const precise = !(conn instanceof Cluster);
  let timer: NodeJS.Timeout | undefined;
  let done = false;
  try {
    // Sent back to back the first time: the id comes back at once, then the read blocks.
    const id = precise ? clientId(conn) : undefined;
    const read = conn.xread(
      'COUNT',
      count,
      'BLOCK',
      timeoutMs + (precise ? SERVER_TIMEOUT_SLACK_MS : 0),
      'STREAMS',
      ...streams,
      ...afterIds,
    );
    id?.then(
      (clientId) => {
        if (done) return;
        // A failed UNBLOCK costs only precision: the server's own BLOCK timeout ends the read a little later.
        timer = setTimeout(() => void ctx.redis.client('UNBLOCK', clientId).catch(() => undefined), timeoutMs);
      },
      // Without the id the read just runs to the server's timeout; a broken connection fails the read itself.
      () => undefined,
    );
    const reply = await read;
    ctx.blocking.release(conn);
    const arrivals: Arrival[] = [];
    let woken = false;
    for (const [key, entries] of reply ?? []) {
      const stream = streams.indexOf(key);
      for (const [entryId, fields] of entries) {
        const taskId = fields[0] === 'task' ? fields[1] : undefined;
        if (taskId !== undefined) arrivals.push({ stream, entryId, taskId });
        else woken = true;
      }
    }
    // XREAD's COUNT applies to each stream: at most `count` in all.
    return signal?.aborted ? { arrivals: [], woken: false } : { arrivals: arrivals.slice(0, count), woken };
  } catch (err) {
    ctx.blocking.discard(conn);
    // An abort or close() ends the read by disconnecting; anything else is a real failure.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the signal can abort and close() can run while the read blocks
    if (!signal?.aborted && !ctx.life.closed) throw err;
    return { arrivals: [], woken: false };
  } finally {
    done = true;
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}
