import { ValidationError } from '../errors.js';
import { STREAM_ID, compareStreamIds } from '../events/stream-id.js';
import type { TaskEvent } from '../types.js';
import { sha256Hex } from './digest.js';
import { encodeSegment } from './segment-codec.js';
import { filterName, segmentName } from './segment-names.js';
import { TaskFilter, taskIdsOf } from './task-filter.js';

/** A segment ready to store: its bytes and its task filter's, with what the manifest entry records. */
export interface BuiltSegment {
  name: string;
  first: string;
  last: string;
  count: number;
  bytes: Uint8Array;
  sha256: string;
  filter: string;
  filterBytes: Uint8Array;
  filterSha256: string;
}

/**
 * ValidationError unless the events can follow `lastId` in the archive: at least one, each a stream id,
 * strictly increasing, the first after lastId. An archive in log order is what makes ranges cheap.
 */
export function checkOrder(events: readonly TaskEvent[], lastId: string | null): void {
  if (events.length === 0) throw new ValidationError('an archive segment holds at least one event');
  let prev = lastId;
  for (const [i, e] of events.entries()) {
    // Typed a string, but events may come from JSON: the id is what orders the archive, so check it.
    if (typeof (e.id as unknown) !== 'string' || !STREAM_ID.test(e.id))
      throw new ValidationError(`event ${i}: id ${JSON.stringify(e.id)} is not a stream id`);
    if (prev !== null && compareStreamIds(e.id, prev) <= 0)
      throw new ValidationError(
        i === 0
          ? `event ${e.id} is not after the archive's last id ${prev}: archive events in log order, once`
          : `event ${e.id} does not come after ${prev}: a segment's ids are strictly increasing`,
      );
    prev = e.id;
  }
}

export async function buildSegment(events: readonly TaskEvent[]): Promise<BuiltSegment> {
  const first = events[0]!.id;
  const last = events[events.length - 1]!.id;
  const name = segmentName(first, last);
  const bytes = await encodeSegment(events);
  const filterBytes = TaskFilter.of(new Set(events.flatMap(taskIdsOf))).toBytes();
  return {
    name,
    first,
    last,
    count: events.length,
    bytes,
    sha256: sha256Hex(bytes),
    filter: filterName(name),
    filterBytes,
    filterSha256: sha256Hex(filterBytes),
  };
}
