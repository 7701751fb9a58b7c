import { prefixPattern, scanKeys } from '../redis/scan.js';
import type { ReadContext } from '../context/read-context.js';
import { entryToRawEvent, pairsToObject, type StreamEntry } from '../events/codec.js';
import { expiredTaskIds, type ProjectionHash, type RawEvent } from '../events/fold.js';
import { EXPIRED_EVENT } from '../events/fold-rules.js';

const PAGE = 1000;

/** Reads the log in order, page by page, from `start` (inclusive, or '(id' exclusive) up to `end`. */
export async function* readLog(ctx: ReadContext, start = '-', end = '+'): AsyncGenerator<RawEvent[]> {
  let from = start;
  for (;;) {
    const page = (await ctx.redis.xrange(ctx.keys.events, from, end, 'COUNT', PAGE)) as StreamEntry[];
    if (page.length === 0) return;
    yield page.map(entryToRawEvent);
    if (page.length < PAGE) return;
    from = `(${page[page.length - 1]![0]}`;
  }
}

/** The id of the newest event, or '0-0' for an empty log: a fixed end for a consistent read. */
export async function lastEventId(ctx: ReadContext): Promise<string> {
  const [last] = (await ctx.redis.xrevrange(ctx.keys.events, '+', '-', 'COUNT', 1)) as StreamEntry[];
  return last ? last[0] : '0-0';
}

/** Ids of every task hash in the namespace (SCAN; on a cluster, on every master). */
export async function scanTaskIds(ctx: ReadContext): Promise<string[]> {
  const prefix = ctx.keys.taskPrefix;
  const ids: string[] = [];
  for await (const keys of scanKeys(ctx.redis, prefixPattern(prefix)))
    for (const key of keys) ids.push(key.slice(prefix.length));
  return ids;
}

/** HGETALL of many tasks, pipelined in batches. Missing tasks map to null. */
export async function readHashes(
  ctx: ReadContext,
  ids: readonly string[],
): Promise<Map<string, ProjectionHash | null>> {
  const out = new Map<string, ProjectionHash | null>();
  for (let i = 0; i < ids.length; i += PAGE) {
    const batch = ids.slice(i, i + PAGE);
    const pipeline = ctx.redis.pipeline();
    for (const id of batch) pipeline.call('HGETALL', ctx.keys.task(id));
    const results = (await pipeline.exec()) ?? [];
    batch.forEach((id, j) => {
      const [err, pairs] = results[j]!;
      if (err) throw err;
      const list = pairs as string[];
      out.set(id, list.length ? pairsToObject(list) : null);
    });
  }
  return out;
}

/** The last event id a projection records, or null. */
export function lastFoldedId(hash: ProjectionHash | null | undefined): string | null {
  const ids = hash?.events;
  if (!ids) return null;
  const i = ids.lastIndexOf(' ');
  return i < 0 ? ids : ids.slice(i + 1);
}

/** Ids of tasks with events after `end`: they moved on while a verify or rebuild was reading. */
export async function touchedSince(ctx: ReadContext, end: string): Promise<Set<string>> {
  const touched = new Set<string>();
  for await (const page of readLog(ctx, end === '0-0' ? '-' : `(${end}`)) {
    for (const e of page) {
      touched.add(e.taskId);
      if (e.type === EXPIRED_EVENT) for (const id of expiredTaskIds(e)) touched.add(id);
    }
  }
  return touched;
}

/** Entries in the log. */
export function logLength(ctx: ReadContext): Promise<number> {
  return ctx.redis.xlen(ctx.keys.events);
}

/** The events with these ids, in the order given (undefined where the log has no such event). */
export async function readEventsByIds(ctx: ReadContext, ids: readonly string[]): Promise<(RawEvent | undefined)[]> {
  const p = ctx.redis.pipeline();
  for (const id of ids) p.xrange(ctx.keys.events, id, id);
  const res = (await p.exec()) ?? [];
  return ids.map((_, i) => {
    const [entry] = (res[i]?.[1] ?? []) as StreamEntry[];
    return entry && entryToRawEvent(entry);
  });
}

/** One field of many task hashes, in one pipeline (null where absent). */
export async function taskField(ctx: ReadContext, ids: readonly string[], field: string): Promise<(string | null)[]> {
  if (ids.length === 0) return [];
  const p = ctx.redis.pipeline();
  for (const id of ids) p.hget(ctx.keys.task(id), field);
  return ((await p.exec()) ?? []).map(([, value]) => value as string | null);
}
