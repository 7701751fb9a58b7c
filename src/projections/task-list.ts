import type { ReadContext } from '../context/read-context.js';
import { readyStreams } from '../context/queue-streams.js';
import type { StreamEntry } from '../events/codec.js';
import { compareStreamIds } from '../events/stream-id.js';
import { ValidationError } from '../errors.js';
import type { Task } from '../types.js';
import { get } from './get.js';
import { ENDED_CURSOR, endedPast, endedPlace, endedPrefix } from './ended-index.js';
import type { EndedStatus } from '../redis/keys.js';

export const LISTED_STATUSES = ['waiting', 'delayed', 'running', 'finished', 'failed', 'cancelled'] as const;
export type ListedStatus = (typeof LISTED_STATUSES)[number];

export interface TaskListOptions {
  queue: string;
  /** 'delayed' lists waiting tasks not due yet. */
  status: ListedStatus;
  limit: number;
  /** Oldest first (default newest first). */
  oldest?: boolean;
  /** The cursor a previous page returned. */
  after?: string;
  /** Only tasks of this type (a page may then hold fewer than `limit`; the cursor goes on). */
  type?: string;
  /**
   * Only tasks carrying this reference, from its reference set (SSCAN: in the set's order, not by time;
   * the cursor is SSCAN's, after the partition's number when merged).
   */
  reference?: { name: string; value: string | number | boolean };
}

/**
 * A task to show, the partition (its place among the contexts listed) it was found in, and for an ended one
 * its place in the ended index.
 */
type Found = { id: string; part: number; place?: string };
type Page = { found: Found[]; next: string | null };

/**
 * One page of a queue's tasks in one status, with the cursor of the next page (null on the last), from one
 * partition's context or merged over several (a namespace's partitions, in their order). Waiting tasks come
 * from the ready streams in queue order, delayed and running ones from their sorted sets, and ended ones
 * from the ended index, in the order they ended. Merged, each partition gives its page from the same
 * cursor, and the page is the first `limit` of them all in the one order.
 */
export async function listTasks(
  parts: readonly ReadContext[],
  o: TaskListOptions,
): Promise<{ tasks: Task[]; next: string | null }> {
  if (o.after !== undefined) checkCursor(o, parts.length);
  // The format checked (and an older namespace's index filled) before the indexes are read.
  for (const ctx of parts) await ctx.life.whenOpen();
  const { found, next } = o.reference
    ? await referencedIds(parts, o, o.reference)
    : o.status === 'waiting'
      ? await waitingIds(parts, o)
      : o.status === 'delayed' || o.status === 'running'
        ? await indexedIds(parts, o)
        : await endedIds(parts, o);
  const tasks = (await Promise.all(found.map(({ id, part }) => get(parts[part]!, id)))).filter(
    (t, i): t is Task =>
      t !== null &&
      t.queue === o.queue &&
      (o.type === undefined || t.type === o.type) &&
      // A member left behind (a migration racing a retry) names another end than the task's: not shown.
      (found[i]!.place === undefined || found[i]!.place === endedPlace(t.finishedAt?.getTime() ?? 0, t.id)),
  );
  const wanted = o.status === 'delayed' ? 'waiting' : o.status;
  return { tasks: tasks.filter((t) => t.status === wanted), next };
}

/**
 * Tasks carrying one reference: SSCAN of its set, the partitions one after another. The cursor is SSCAN's
 * ('0' ends), merged `<partition>/<SSCAN's>`.
 */
async function referencedIds(
  parts: readonly ReadContext[],
  o: TaskListOptions,
  ref: { name: string; value: string | number | boolean },
): Promise<Page> {
  const merged = parts.length > 1;
  const [first, from] = merged && o.after ? o.after.split('/') : ['0', o.after ?? '0'];
  const found: Found[] = [];
  let part = Number(first);
  let cursor = from!;
  for (;;) {
    const [next, ids] = await parts[part]!.redis.sscan(
      parts[part]!.keys.reference(ref.name, ref.value),
      cursor,
      'COUNT',
      o.limit,
    );
    found.push(...ids.map((id) => ({ id, part })));
    cursor = next;
    if (cursor === '0') {
      if (++part === parts.length) return { found, next: null };
    }
    if (found.length >= o.limit) return { found, next: merged ? `${part}/${cursor}` : cursor };
  }
}

/**
 * A cursor is what a page printed: an offset for delayed and running tasks, SSCAN's for a reference set
 * (after its partition when merged), an entry id and level for waiting ones (and its partition when
 * merged), a place in the ended index for ended ones.
 */
const MAX_U64 = 2n ** 64n - 1n;

function checkCursor(o: TaskListOptions, partitions: number): void {
  const after = o.after!;
  const merged = partitions > 1;
  const [shape, example] =
    o.reference !== undefined
      ? merged
        ? [/^(\d{1,3})\/\d{1,20}$/, 'a partition and a whole number, such as 1/12']
        : [/^\d{1,20}$/, 'a whole number']
      : o.status === 'delayed' || o.status === 'running'
        ? [/^\d{1,15}$/, 'a whole number']
        : o.status === 'waiting'
          ? merged
            ? [/^\d{1,20}-\d{1,20}@\d\/(\d{1,3})$/, 'an entry id, level and partition such as 1700000000000-0@0/1']
            : [/^\d{1,20}-\d{1,20}@\d$/, 'an entry id and level such as 1700000000000-0@0']
          : [ENDED_CURSOR, 'the place of a task, such as 001700000000000:<task id>'];
  const m = shape.exec(after);
  // Redis takes ids and SSCAN cursors of 64 bits at most.
  const numbers = o.status === 'waiting' || o.reference !== undefined ? (after.match(/\d+/g) ?? []) : [];
  if (!m || Number(m[1] ?? 0) >= partitions || numbers.some((n) => BigInt(n) > MAX_U64))
    throw new ValidationError(`after must be a cursor a page printed (${example}), got "${after}"`);
}

/** A waiting entry's place in the order of a page: entry id, level, partition. */
type At = [id: string, level: number, part: number];

/**
 * Ready entries of every priority level of the queue, in entry order (the order they were made; entries of
 * two levels made by one call share an id, and the higher level comes first; merged, equal ids and levels
 * go by partition); the cursor is the last entry shown, `<entry id>@<level>`, and `/<partition>` merged.
 */
async function waitingIds(parts: readonly ReadContext[], o: TaskListOptions): Promise<Page> {
  const merged = parts.length > 1;
  const m = o.after ? /^(.+)@(\d)(?:\/(\d+))?$/.exec(o.after) : null;
  const after: At | undefined = m ? [m[1]!, Number(m[2]), Number(m[3] ?? 0)] : undefined;
  const sign = o.oldest ? 1 : -1;
  // Page order: entry ids first, then the higher level first among equal ids, then the partition.
  const order = (a: At, b: At) => sign * compareStreamIds(a[0], b[0]) || (b[1] - a[1]) * sign || (a[2] - b[2]) * sign;
  const start = after?.[0] ?? (o.oldest ? '-' : '+');
  // One more than a page from each level (from the cursor's id on: an equal id of another level may follow).
  const perLevel = await Promise.all(
    parts.map(async (ctx, part) =>
      Promise.all(
        (await readyStreams(ctx, [o.queue])).map(async ({ key, priority }) => {
          const entries = (
            o.oldest
              ? await ctx.redis.xrange(key, start, '+', 'COUNT', o.limit + 2)
              : await ctx.redis.xrevrange(key, start, '-', 'COUNT', o.limit + 2)
          ) as StreamEntry[];
          return entries.map((e) => ({ id: e[1][1]!, at: [e[0], priority, part] as At }));
        }),
      ),
    ),
  );
  const entries = perLevel
    .flat(2)
    .filter((x) => after === undefined || order(x.at, after) > 0)
    .sort((a, b) => order(a.at, b.at));
  const shown = entries.slice(0, o.limit);
  const last = shown[shown.length - 1]?.at;
  return {
    found: shown.map(({ id, at }) => ({ id, part: at[2] })),
    next: entries.length > o.limit && last ? `${last[0]}@${last[1]}${merged ? `/${last[2]}` : ''}` : null,
  };
}

/**
 * Delayed or running tasks from their sorted sets, by score (due time, or heartbeat deadline), then id;
 * the cursor is an offset. Merged, each partition gives its first offset + limit + 1, so a deep page reads
 * more.
 */
async function indexedIds(parts: readonly ReadContext[], o: TaskListOptions): Promise<Page> {
  const offset = Number(o.after ?? 0);
  const end = offset + o.limit;
  const scored = await Promise.all(
    parts.map(async (ctx, part) => {
      const key = o.status === 'delayed' ? ctx.keys.delayed(o.queue) : ctx.keys.running;
      // The queue's delayed set: its page (and one more, to know whether another follows). The running set
      // holds every queue's tasks (as many as the workers run at once): read whole, filtered.
      const [from, to] = o.status === 'delayed' ? [parts.length > 1 ? 0 : offset, end] : [0, -1];
      const flat = o.oldest
        ? await ctx.redis.zrange(key, from, to, 'WITHSCORES')
        : await ctx.redis.zrevrange(key, from, to, 'WITHSCORES');
      const rows: { id: string; score: number; part: number }[] = [];
      for (let i = 0; i < flat.length; i += 2) rows.push({ id: flat[i]!, score: Number(flat[i + 1]), part });
      return o.status === 'running' ? ofQueue(ctx, rows, o.queue) : rows;
    }),
  );
  const sign = o.oldest ? 1 : -1;
  const all = scored
    .flat()
    .sort((a, b) => sign * (a.score - b.score) || sign * (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) || a.part - b.part);
  // One partition's delayed page was read from the offset already.
  const skip = o.status === 'delayed' && parts.length === 1 ? 0 : offset;
  return {
    found: all.slice(skip, skip + o.limit),
    next: all.length > skip + o.limit ? String(end) : null,
  };
}

async function ofQueue<T extends { id: string }>(ctx: ReadContext, rows: T[], queue: string): Promise<T[]> {
  const p = ctx.redis.pipeline();
  for (const { id } of rows) p.hget(ctx.keys.task(id), 'queue');
  const res = (await p.exec()) ?? [];
  return rows.filter((_, i) => res[i]?.[1] === queue);
}

/**
 * Ended tasks, from the ended index: one ZRANGEBYLEX of the queue's members of the status per partition,
 * from the cursor, one more than a page (to know whether another follows). The cursor is the last task's
 * place, `<ended ms, 15 digits>:<task id>`, the same in every partition.
 */
async function endedIds(parts: readonly ReadContext[], o: TaskListOptions): Promise<Page> {
  const prefix = endedPrefix(o.status as EndedStatus, o.queue);
  const low = o.oldest && o.after ? `(${prefix}${o.after}` : `[${prefix}`;
  const high = !o.oldest && o.after ? `(${prefix}${o.after}` : `(${endedPast(o.status as EndedStatus, o.queue)}`;
  const places = await Promise.all(
    parts.map(async (ctx, part) => {
      const members = o.oldest
        ? await ctx.redis.zrangebylex(ctx.keys.endedIndex, low, high, 'LIMIT', 0, o.limit + 1)
        : await ctx.redis.zrevrangebylex(ctx.keys.endedIndex, high, low, 'LIMIT', 0, o.limit + 1);
      return members.map((m) => ({ place: Buffer.from(m.slice(prefix.length)), part }));
    }),
  );
  // By bytes, as Redis orders them (a task id may hold characters UTF-16 would order otherwise).
  const sign = o.oldest ? 1 : -1;
  const all = places.flat().sort((a, b) => sign * Buffer.compare(a.place, b.place));
  const shown = all.slice(0, o.limit).map(({ place, part }) => ({ place: place.toString(), part }));
  return {
    found: shown.map(({ place, part }) => ({ id: place.slice(place.indexOf(':') + 1), part, place })),
    next: all.length > o.limit ? shown[shown.length - 1]!.place : null,
  };
}
