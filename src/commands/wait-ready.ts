import type { Context } from '../context.js';

/**
 * Blocks until a new entry arrives on any of the streams after the given ids, the timeout passes or the
 * signal aborts. It only waits: the entry is then claimed through the group (claim.ts), so a reader that
 * dies here leaves nothing half-delivered. Runs on a pooled connection, since XREAD BLOCK freezes it.
 */
export async function waitReady(
  ctx: Context,
  streams: readonly string[],
  afterIds: readonly string[],
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  if (signal?.aborted) return;
  const conn = ctx.blocking.acquire();
  const onAbort = () => ctx.blocking.discard(conn);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await conn.xread('COUNT', 1, 'BLOCK', timeoutMs, 'STREAMS', ...streams, ...afterIds);
    ctx.blocking.release(conn);
  } catch (err) {
    ctx.blocking.discard(conn);
    // An abort or close() ends the read by disconnecting; anything else is a real failure.
    if (!signal?.aborted && !ctx.closed) throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
