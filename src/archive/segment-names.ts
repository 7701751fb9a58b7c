/** File (or object) names inside an archive. */

export const MANIFEST_NAME = 'manifest.json';

const SEGMENT_SUFFIX = '.ndjson.gz';
const FILTER_SUFFIX = '.filter';

/** Stream ids are digits and a dash; anything else is escaped so a name is always a safe file name. */
const safe = (id: string) => id.replace(/[^0-9A-Za-z-]/g, (c) => `_${c.codePointAt(0)!.toString(16).padStart(2, '0')}`);

/** `seg-<first>-<last>.ndjson.gz`: the name says which ids the segment holds. */
export const segmentName = (first: string, last: string) => `seg-${safe(first)}-${safe(last)}${SEGMENT_SUFFIX}`;

/** The task filter beside its segment: `seg-<first>-<last>.filter`. */
export const filterName = (segment: string) => segment.slice(0, -SEGMENT_SUFFIX.length) + FILTER_SUFFIX;

/** A segment or a filter: what an append writes before the manifest names it. */
export const isSegmentFile = (name: string) =>
  name.startsWith('seg-') && (name.endsWith(SEGMENT_SUFFIX) || name.endsWith(FILTER_SUFFIX));

export const isSegment = (name: string) => name.startsWith('seg-') && name.endsWith(SEGMENT_SUFFIX);
