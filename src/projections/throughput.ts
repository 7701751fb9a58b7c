import type { ReadContext } from '../context/read-context.js';
import { readLog } from './log-reader.js';

/** Events read at most for one throughput reading: a bound on its cost, whatever the rate. */
const MAX_SCANNED = 500_000;

/**
 * Tasks that finished or failed since `sinceMs` (Redis time), per queue, read from the log: ended events
 * carry their queue. Reads at most MAX_SCANNED events.
 */
export async function endedSince(
  ctx: ReadContext,
  sinceMs: number,
): Promise<Map<string, { finished: number; failed: number }>> {
  const perQueue = new Map<string, { finished: number; failed: number }>();
  let scanned = 0;
  for await (const page of readLog(ctx, `${sinceMs}-0`)) {
    for (const e of page) {
      if ((e.type === 'finished' || e.type === 'failed') && e.fields.queue !== undefined) {
        const row = perQueue.get(e.fields.queue) ?? { finished: 0, failed: 0 };
        row[e.type]++;
        perQueue.set(e.fields.queue, row);
      }
    }
    scanned += page.length;
    if (scanned >= MAX_SCANNED) break;
  }
  return perQueue;
}
