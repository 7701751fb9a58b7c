import type { ReadContext } from '../context/read-context.js';
import { GROUP } from '../redis/keys.js';
import { compareStreamIds } from '../events/stream-id.js';

/** A waiting, due task's ready entry, as its hash names it. */
export interface ReadyEntryRef {
  id: string;
  queue: string;
  /** Its priority level (its ready stream), 0 when absent. */
  priority?: number;
  readyId: string | undefined;
}

/**
 * Why a waiting task's entry will never be handed out: `missing` (no entry, or none in the stream), or
 * `delivered` (the group delivered it and it is not pending, so neither a read nor recovery returns it).
 */
export type LostEntry = 'missing' | 'delivered';

/**
 * The tasks among these whose ready entry no reader will get. One XINFO GROUPS per queue, then one pipeline:
 * XRANGE of each entry, and XPENDING of those the group has delivered already.
 */
export async function lostReadyEntries(
  ctx: ReadContext,
  tasks: readonly ReadyEntryRef[],
): Promise<Map<string, LostEntry>> {
  const lost = new Map<string, LostEntry>();
  const delivered = new Map<string, string>();
  const keyOf = (t: ReadyEntryRef) => ctx.keys.ready(t.queue, t.priority ?? 0);
  for (const key of new Set(tasks.map(keyOf))) delivered.set(key, await lastDelivered(ctx, key));
  const withId = tasks.filter((t): t is ReadyEntryRef & { readyId: string } => {
    if (t.readyId === undefined) lost.set(t.id, 'missing');
    return t.readyId !== undefined;
  });
  for (let i = 0; i < withId.length; i += 1000) {
    const page = withId.slice(i, i + 1000);
    const p = ctx.redis.pipeline();
    for (const t of page) {
      const key = keyOf(t);
      p.xrange(key, t.readyId, t.readyId);
      // Only an entry the group has delivered must be pending; XPENDING of one that is not costs little.
      if (compareStreamIds(t.readyId, delivered.get(key)!) <= 0) p.xpending(key, GROUP, t.readyId, t.readyId, 1);
      else p.echo('undelivered');
    }
    const res = (await p.exec()) ?? [];
    page.forEach((t, j) => {
      const [rangeErr, range] = res[2 * j]!;
      const [pendingErr, pending] = res[2 * j + 1]!;
      if (rangeErr || (range as unknown[]).length === 0) lost.set(t.id, 'missing');
      else if (!pendingErr && Array.isArray(pending) && pending.length === 0) lost.set(t.id, 'delivered');
    });
  }
  return lost;
}

/** The group's last delivered id on a ready stream ('0-0' when the stream or group is not there). */
async function lastDelivered(ctx: ReadContext, key: string): Promise<string> {
  try {
    const groups = (await ctx.redis.xinfo('GROUPS', key)) as unknown[][];
    for (const g of groups) {
      const info = new Map<unknown, unknown>();
      for (let i = 0; i + 1 < g.length; i += 2) info.set(g[i], g[i + 1]);
      if (info.get('name') === GROUP) return String(info.get('last-delivered-id'));
    }
  } catch {
    // No stream yet (a queue whose tasks were all delayed): every entry is missing anyway.
  }
  return '0-0';
}
