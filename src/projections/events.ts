import type { ReadContext } from '../context/read-context.js';
import { ValidationError } from '../errors.js';
import type { TaskEvent } from '../types.js';
import { entryToRawEvent, rawEventToTaskEvent, type StreamEntry } from '../events/codec.js';
import { readLog } from './log-reader.js';
import { compareStreamIds, previousStreamId, STREAM_ID } from '../events/stream-id.js';

export interface EventsOptions {
  /** First event id to return (inclusive). Default: the start of the log. */
  from?: string;
  /** Return only events after this id (exclusive): where a consumer that saw `after` resumes. */
  after?: string;
  /** After replaying the log, keep streaming new events until the signal aborts. */
  follow?: boolean;
  /** Ends the iteration (quietly: a for-await loop just stops). */
  signal?: AbortSignal;
  /**
   * Replay the queue's archive first, then the log, as one sequence with no gap or duplicate at the seam
   * (also when compaction trims while the replay runs). Needs a TaskQueue with an `archive`.
   */
  archive?: boolean;
}

const FOLLOW_BLOCK_MS = 1000;

/** Replays the log in order, optionally following it live. */
export async function* events(ctx: ReadContext, options: EventsOptions = {}): AsyncGenerator<TaskEvent> {
  const { from, after, follow = false, signal } = options;
  for (const [name, id] of [
    ['from', from],
    ['after', after],
  ] as const) {
    if (id !== undefined && !STREAM_ID.test(id))
      throw new ValidationError(`${name} must be an event id such as 1700000000000-0, got "${id}"`);
  }
  if (from !== undefined && after !== undefined) throw new ValidationError('give either from or after, not both');
  const archive = options.archive ? ctx.archive : null;
  if (options.archive && !archive)
    throw new ValidationError('events({ archive: true }) needs a TaskQueue with an archive');
  await ctx.life.whenOpen();
  await archive?.open(ctx.keys.namespace);
  // The id of the last event given, or of the bound before the first one wanted.
  let last = after ?? (from !== undefined ? previousStreamId(from) : null);
  const archived = async function* (first = false): AsyncGenerator<TaskEvent> {
    // Whatever the archive holds after `last`: before the log, and whenever a trim may have passed `last`.
    // After the first look, the namespace's note of the newest archived id says whether to look again (a
    // trim comes after that note), so a follower does not read the archive's manifest every second.
    if (!archive) return;
    const newest = first ? await archive.lastId() : await ctx.redis.hget(ctx.keys.meta, 'archivedTo');
    if (newest === null || (last !== null && compareStreamIds(newest, last) <= 0)) return;
    for await (const e of archive.read(last === null ? {} : { after: last })) {
      last = e.id;
      yield e;
    }
  };
  for await (const e of archived(true)) {
    if (signal?.aborted) return;
    yield e;
  }
  for await (const page of readLog(ctx, last !== null ? `(${last}` : (from ?? '-'))) {
    // A trim between our reads moves entries to the archive first: take them from there.
    for await (const e of archived()) {
      if (signal?.aborted) return;
      yield e;
    }
    for (const raw of page) {
      if (signal?.aborted) return;
      if (last !== null && compareStreamIds(raw.id, last) <= 0) continue;
      last = raw.id;
      yield rawEventToTaskEvent(raw);
    }
  }
  if (!follow) return;
  // Follow from the last event seen; after an empty replay, from the log's start: '$' would mean "the
  // newest entry when each read begins", and an event added between two reads would never be seen.
  last ??= '0-0';
  while (!signal?.aborted && !ctx.life.closed) {
    const conn = ctx.blocking.acquire();
    const onAbort = () => ctx.blocking.discard(conn);
    signal?.addEventListener('abort', onAbort, { once: true });
    let reply: [string, StreamEntry[]][] | null;
    try {
      reply = await conn.xread('COUNT', 1000, 'BLOCK', FOLLOW_BLOCK_MS, 'STREAMS', ctx.keys.events, last);
      ctx.blocking.release(conn);
    } catch (err) {
      ctx.blocking.discard(conn);
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the signal can abort and close() can run while the read blocks
      if (signal?.aborted || ctx.life.closed) return;
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    // A follower that fell behind a trim: the entries it missed are in the archive.
    for await (const e of archived()) {
      if (signal?.aborted) return;
      yield e;
    }
    for (const entry of reply?.[0]?.[1] ?? []) {
      if (signal?.aborted) return;
      if (compareStreamIds(entry[0], last) <= 0) continue;
      last = entry[0];
      yield rawEventToTaskEvent(entryToRawEvent(entry));
    }
  }
}
