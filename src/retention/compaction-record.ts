import type { ReadContext } from '../context/read-context.js';
import { entryToRawEvent, type StreamEntry } from '../events/codec.js';

/** What a `compacted` event carries that a later step needs. */
export interface CompactionRecord {
  /** Log entries before this id were trimmed (or are about to be, when the step stopped short). */
  trimmedTo: string;
  /** All-time counts of the ended events before `trimmedTo`, by `<status>:<queue>`. */
  counts: Record<string, number>;
}

/** Reads a `compacted` event's record from its fields. */
export function recordOf(fields: Record<string, string>): CompactionRecord {
  return { trimmedTo: fields.trimmedTo ?? '0-0', counts: JSON.parse(fields.counts ?? '{}') as Record<string, number> };
}

/** The newest compaction record, through the id the metadata keeps; null when there is none. */
export async function lastCompaction(ctx: ReadContext): Promise<CompactionRecord | null> {
  const id = await ctx.redis.hget(ctx.keys.meta, 'compacted');
  if (!id) return null;
  const [entry] = (await ctx.redis.xrange(ctx.keys.events, id, id)) as StreamEntry[];
  return entry ? recordOf(entryToRawEvent(entry).fields) : null;
}
