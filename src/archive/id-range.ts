import { ValidationError } from '../errors.js';
import { STREAM_ID, compareStreamIds } from '../events/stream-id.js';

/** A range of event ids: `from` inclusive, `after` exclusive, `to` inclusive; each bound optional. */
export interface IdRange {
  from?: string;
  after?: string;
  to?: string;
}

/** ValidationError for a bound that is not a stream id. */
export function checkRange(range: IdRange): void {
  for (const [bound, id] of Object.entries(range))
    if (id !== undefined && (typeof id !== 'string' || !STREAM_ID.test(id)))
      throw new ValidationError(`read: ${bound} must be a stream id (<ms>-<seq>)`);
}

export function inRange(id: string, r: IdRange): boolean {
  if (r.from !== undefined && compareStreamIds(id, r.from) < 0) return false;
  if (r.after !== undefined && compareStreamIds(id, r.after) <= 0) return false;
  return r.to === undefined || compareStreamIds(id, r.to) <= 0;
}

/** Whether a segment holding ids first..last may hold an id of the range: the others are not opened. */
export function overlaps(first: string, last: string, r: IdRange): boolean {
  if (r.to !== undefined && compareStreamIds(first, r.to) > 0) return false;
  if (r.from !== undefined && compareStreamIds(last, r.from) < 0) return false;
  return r.after === undefined || compareStreamIds(last, r.after) > 0;
}
