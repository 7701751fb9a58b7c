import type { ReadContext } from '../context/read-context.js';
import { readyStreams } from '../context/queue-streams.js';
import type { StreamEntry } from '../events/codec.js';
import { compareStreamIds, STREAM_ID } from '../events/stream-id.js';
import { ValidationError } from '../errors.js';
import type { Task } from '../types.js';
import { get } from './get.js';
import { ENDED_CURSOR, endedPrefix } from './ended-index.js';
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
   * the cursor is SSCAN's).
   */
  reference?: { name: string; value: string | number | boolean };
}

/**
 * One page of a queue's tasks in one status, with the cursor of the next page (null on the last). Waiting
 * tasks come from the ready stream in queue order, delayed and running ones from their sorted sets, and
 * ended ones from the ended index, in the order they ended.
 */
export async function listTasks(ctx: ReadContext, o: TaskListOptions): Promise<{ tasks: Task[]; next: string | null }> {
  if (o.after !== undefined) checkCursor(o);
  // The format checked (and an older namespace's index filled) before the indexes are read.
  await ctx.life.whenOpen();
  const { ids, next } = o.reference
    ? await referencedIds(ctx, o, o.reference)
    : o.status === 'waiting'
      ? await waitingIds(ctx, o)
      : o.status === 'delayed' || o.status === 'running'
        ? await indexedIds(ctx, o)
        : await endedIds(ctx, o);
  const tasks = (await Promise.all(ids.map((id) => get(ctx, id)))).filter(
    (t): t is Task => t !== null && t.queue === o.queue && (o.type === undefined || t.type === o.type),
  );
  const wanted = o.status === 'delayed' ? 'waiting' : o.status;
  return { tasks: tasks.filter((t) => t.status === wanted), next };
}

/** Tasks carrying one reference: a page of its set (SSCAN); the cursor is SSCAN's ('0' ends). */
async function referencedIds(
  ctx: ReadContext,
  o: TaskListOptions,
  ref: { name: string; value: string | number | boolean },
): Promise<Page> {
  const [cursor, ids] = await ctx.redis.sscan(
    ctx.keys.reference(ref.name, ref.value),
    o.after ?? '0',
    'COUNT',
    o.limit,
  );
  return { ids, next: cursor === '0' ? null : cursor };
}

/**
 * A cursor is what a page printed: an offset for delayed and running tasks and reference sets, an entry id
 * and level for waiting ones, a place in the ended index for ended ones.
 */
function checkCursor(o: TaskListOptions): void {
  const after = o.after!;
  const [ok, shape] =
    o.reference !== undefined || o.status === 'delayed' || o.status === 'running'
      ? [/^\d{1,15}$/.test(after), 'a whole number']
      : o.status === 'waiting'
        ? // A waiting page's cursor may name the level of its last entry (`<entry id>@<level>`).
          [STREAM_ID.test(after.replace(/@\d$/, '')), 'an entry id such as 1700000000000-0@0']
        : [ENDED_CURSOR.test(after), 'the place of a task, such as 001700000000000:<task id>'];
  if (!ok) throw new ValidationError(`after must be a cursor a page printed (${shape}), got "${after}"`);
}

type Page = { ids: string[]; next: string | null };

/**
 * Ready entries of every priority level of the queue, in entry order (the order they were made; entries of
 * two levels made by one call share an id, and the higher level comes first); the cursor is the last entry
 * shown, `<entry id>@<level>`.
 */
async function waitingIds(ctx: ReadContext, o: TaskListOptions): Promise<Page> {
  const [afterId, afterLevel] = o.after ? [o.after.replace(/@\d$/, ''), Number(/@(\d)$/.exec(o.after)?.[1] ?? -1)] : [];
  const sign = o.oldest ? 1 : -1;
  // (id, level) in page order: entry ids first, then the higher level first among equal ids.
  const order = (a: [string, number], b: [string, number]) =>
    sign * compareStreamIds(a[0], b[0]) || (b[1] - a[1]) * sign;
  const start = afterId ?? (o.oldest ? '-' : '+');
  // One more than a page from each level (from the cursor's id on: an equal id of another level may follow).
  const perLevel = await Promise.all(
    (await readyStreams(ctx, [o.queue])).map(async ({ key, priority }) => {
      const entries = (
        o.oldest
          ? await ctx.redis.xrange(key, start, '+', 'COUNT', o.limit + 2)
          : await ctx.redis.xrevrange(key, start, '-', 'COUNT', o.limit + 2)
      ) as StreamEntry[];
      return entries.map((e) => ({ e, at: [e[0], priority] as [string, number] }));
    }),
  );
  const entries = perLevel
    .flat()
    .filter((x) => afterId === undefined || order(x.at, [afterId, afterLevel!]) > 0)
    .sort((a, b) => order(a.at, b.at));
  const shown = entries.slice(0, o.limit);
  const last = shown[shown.length - 1];
  return {
    ids: shown.map(({ e }) => e[1][1]!),
    next: entries.length > o.limit && last ? `${last.at[0]}@${last.at[1]}` : null,
  };
}

/** Delayed or running tasks from their sorted set; the cursor is an offset. */
async function indexedIds(ctx: ReadContext, o: TaskListOptions): Promise<Page> {
  const offset = Number(o.after ?? 0);
  if (o.status === 'delayed') {
    // The queue's own set: one page (and one more entry, to know whether another page follows).
    const key = ctx.keys.delayed(o.queue);
    const end = offset + o.limit;
    const ids = o.oldest ? await ctx.redis.zrange(key, offset, end) : await ctx.redis.zrevrange(key, offset, end);
    return { ids: ids.slice(0, o.limit), next: ids.length > o.limit ? String(end) : null };
  }
  // The running set holds every queue's tasks (as many as the workers run at once): read whole, filtered.
  const key = ctx.keys.running;
  const all = o.oldest ? await ctx.redis.zrange(key, 0, -1) : await ctx.redis.zrevrange(key, 0, -1);
  const mine = await ofQueue(ctx, all, o.queue);
  return {
    ids: mine.slice(offset, offset + o.limit),
    next: offset + o.limit < mine.length ? String(offset + o.limit) : null,
  };
}

async function ofQueue(ctx: ReadContext, ids: string[], queue: string): Promise<string[]> {
  const p = ctx.redis.pipeline();
  for (const id of ids) p.hget(ctx.keys.task(id), 'queue');
  const res = (await p.exec()) ?? [];
  return ids.filter((_, i) => res[i]?.[1] === queue);
}

/**
 * Ended tasks, from the ended index: one ZRANGEBYLEX of the queue's members of the status, from the
 * cursor, one more than a page (to know whether another follows). The cursor is the last task's place,
 * `<ended ms, 15 digits>:<task id>`.
 */
async function endedIds(ctx: ReadContext, o: TaskListOptions): Promise<Page> {
  const prefix = endedPrefix(o.status as EndedStatus, o.queue);
  // Every member of the queue lies between `prefix` and `prefix` with its ':' made ';' (the next byte).
  const low = o.oldest && o.after ? `(${prefix}${o.after}` : `[${prefix}`;
  const high = !o.oldest && o.after ? `(${prefix}${o.after}` : `(${prefix.slice(0, -1)};`;
  const members = o.oldest
    ? await ctx.redis.zrangebylex(ctx.keys.endedIndex, low, high, 'LIMIT', 0, o.limit + 1)
    : await ctx.redis.zrevrangebylex(ctx.keys.endedIndex, high, low, 'LIMIT', 0, o.limit + 1);
  const shown = members.slice(0, o.limit).map((m) => m.slice(prefix.length));
  return {
    ids: shown.map((place) => place.slice(place.indexOf(':') + 1)),
    next: members.length > o.limit ? shown[shown.length - 1]! : null,
  };
}
