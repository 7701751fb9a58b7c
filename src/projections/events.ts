import type { ReadContext } from '../context/read-context.js';
import { ValidationError } from '../errors.js';
import type { TaskEvent } from '../types.js';
import { entryToRawEvent, rawEventToTaskEvent, type StreamEntry } from '../events/codec.js';
import { readLog } from './log-reader.js';
import { previousStreamId, STREAM_ID } from '../events/stream-id.js';

export interface EventsOptions {
  /** First event id to return (inclusive). Default: the start of the log. */
  from?: string;
  /** Return only events after this id (exclusive): where a consumer that saw `after` resumes. */
  after?: string;
  /** After replaying the log, keep streaming new events until the signal aborts. */
  follow?: boolean;
  /** Ends the iteration (quietly: a for-await loop just stops). */
  signal?: AbortSignal;
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
  await ctx.life.whenOpen();
  let last = after ?? null;
  for await (const page of readLog(ctx, after !== undefined ? `(${after}` : (from ?? '-'))) {
    for (const raw of page) {
      if (signal?.aborted) return;
      last = raw.id;
      yield rawEventToTaskEvent(raw);
    }
  }
  if (!follow) return;
  // Follow from the last event seen (or from now, for a log that was empty at the start).
  if (last === null) last = from !== undefined ? previousStreamId(from) : '$';
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
    for (const entry of reply?.[0]?.[1] ?? []) {
      if (signal?.aborted) return;
      last = entry[0];
      yield rawEventToTaskEvent(entryToRawEvent(entry));
    }
  }
}
