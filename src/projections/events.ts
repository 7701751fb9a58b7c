import type { ReadContext } from '../context/read-context.js';
import { ValidationError } from '../errors.js';
import type { TaskEvent } from '../types.js';
import { entryToRawEvent, rawEventToTaskEvent, type StreamEntry } from '../events/codec.js';
import { readLog } from './log-reader.js';
import { compareStreamIds, previousStreamId, STREAM_ID } from '../events/stream-id.js';
import { ReplyError } from 'ioredis';
import { sleep } from '../util/sleep.js';

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
/** Pauses between reads after a dropped connection: from the first to the longest, doubling. */
const RETRY_FIRST_MS = 50;
const RETRY_MAX_MS = 1000;
/** Error replies of a server that is loading its data, busy with a script, or failing over: read again. */
const TRANSIENT_REPLY = /^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN)\b/;

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
  await archive?.open(ctx.keys.tag);
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
  let retryMs = RETRY_FIRST_MS;
  while (!signal?.aborted && !ctx.life.closed) {
    const conn = ctx.blocking.acquire();
    // The read is raced with the signal and close(), not only ended by dropping its connection: a
    // connection waiting to reconnect (just killed) never settles its read once disconnected.
    const stop = whenStopped(signal, ctx.life.stopSignal);
    let reply: [string, StreamEntry[]][] | null | typeof STOPPED;
    try {
      const read: Promise<[string, StreamEntry[]][] | null> = conn.xread(
        'COUNT',
        1000,
        'BLOCK',
        FOLLOW_BLOCK_MS,
        'STREAMS',
        ctx.keys.events,
        last,
      );
      read.catch(() => {}); // its failure after a stop is nobody's concern
      reply = await Promise.race([read, stop.promise]);
    } catch (err) {
      ctx.blocking.discard(conn);
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the signal can abort and close() can run while the read blocks
      if (signal?.aborted || ctx.life.closed) return;
      // Redis answered with an error: reading again would only get it again, unless it is one a server
      // gives while it starts or fails over.
      if (err instanceof ReplyError && !TRANSIENT_REPLY.test((err as Error).message)) throw err;
      // The connection dropped (killed, Redis restarting, a failover): read again from the last event given,
      // on a new connection, so nothing is lost or given twice. A follow ends only by its signal or close().
      await sleep(retryMs, signal, ctx.life.stopSignal);
      retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
      continue;
    } finally {
      stop.dispose();
    }
    if (reply === STOPPED) {
      ctx.blocking.discard(conn);
      return;
    }
    ctx.blocking.release(conn);
    retryMs = RETRY_FIRST_MS;
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

const STOPPED = Symbol('stopped');

/** A promise of STOPPED once any of the signals aborts; dispose() removes its listeners. */
function whenStopped(...signals: (AbortSignal | undefined)[]): { promise: Promise<typeof STOPPED>; dispose(): void } {
  let dispose = () => {};
  const promise = new Promise<typeof STOPPED>((resolve) => {
    const done = () => resolve(STOPPED);
    for (const s of signals) {
      if (s?.aborted) done();
      s?.addEventListener('abort', done, { once: true });
    }
    dispose = () => {
      for (const s of signals) s?.removeEventListener('abort', done);
    };
  });
  return { promise, dispose };
}
