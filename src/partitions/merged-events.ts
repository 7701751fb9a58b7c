import type { ReadContext } from '../context/read-context.js';
import type { Archive } from '../archive/archive.js';
import { UnknownPartitionError, ValidationError } from '../errors.js';
import type { TaskEvent } from '../types.js';
import { entryToRawEvent, rawEventToTaskEvent, type StreamEntry } from '../events/codec.js';
import { compareStreamIds, previousStreamId, STREAM_ID } from '../events/stream-id.js';
import type { EventsOptions } from '../projections/events.js';
import { sleep } from '../util/sleep.js';

const PAGE = 1000;
/** How often a follower with nothing new reads the partitions again. */
export const FOLLOW_POLL_MS = 100;

/** A place in the merged order: a stream id, then the partition (-1: before every partition's event at that id). */
interface Place {
  id: string;
  partition: number;
}

const before = (a: Place, b: Place) => {
  const c = compareStreamIds(a.id, b.id);
  return c < 0 || (c === 0 && a.partition < b.partition);
};

/** `<stream id>` or `<stream id>/<partition>` (an event's place in the merged replay); bare: partition null. */
function parsePlace(text: string, what: string, partitions: number): { id: string; partition: number | null } {
  const slash = text.indexOf('/');
  const id = slash < 0 ? text : text.slice(0, slash);
  if (!STREAM_ID.test(id))
    throw new ValidationError(
      `${what} must be an event id such as 1700000000000-0 or 1700000000000-0/2, got "${text}"`,
    );
  if (slash < 0) return { id, partition: null };
  const p = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(p) || Number(p) >= partitions) throw new UnknownPartitionError(p, partitions, what);
  return { id, partition: Number(p) };
}

/**
 * The logs of every partition as one sequence (§20), in one total order: stream id, then partition. A
 * partition's next page is read with its Redis time (log-page-1.lua), and an event is given only once every
 * partition's watermark has passed it, so a follower never gives one out of order or skips one, whatever
 * the skew between the primaries' clocks (a clock behind only delays). `after: '<id>/<p>'` resumes exactly
 * after an event given; a bare id means after (or, with `from`, at) that id in every partition.
 */
export async function* mergedEvents(
  parts: readonly ReadContext[],
  options: EventsOptions = {},
): AsyncGenerator<TaskEvent> {
  const { from, after, follow = false, signal } = options;
  if (from !== undefined && after !== undefined) throw new ValidationError('give either from or after, not both');
  if (options.archive && !parts[0]!.archive)
    throw new ValidationError('events({ archive: true }) needs a TaskQueue with an archive');
  const archives = parts.map((part) => (options.archive ? part.archive : null));
  const P = parts.length;
  // The last place given: each partition reads after it.
  let start: Place | null = null;
  if (after !== undefined) {
    const place = parsePlace(after, 'after', P);
    start = { id: place.id, partition: place.partition ?? P };
  } else if (from !== undefined) {
    const place = parsePlace(from, 'from', P);
    start =
      place.partition === null
        ? { id: previousStreamId(place.id), partition: P }
        : { id: place.id, partition: place.partition - 1 };
  }
  await parts[0]!.life.whenOpen();
  // Per partition: the last id read, the events read and not given, the watermark, whether it is drained.
  const lastRead = parts.map((_, p) =>
    start === null ? '0-0' : p > start.partition ? previousStreamId(start.id) : start.id,
  );
  const buffers: TaskEvent[][] = parts.map(() => []);
  const marks: Place[] = parts.map(() => ({ id: '0-0', partition: -1 }));
  const drained = parts.map(() => false);
  const archived = parts.map((part, p) => (archives[p] ? new ArchivedPart(part, archives[p]) : null));
  while (!signal?.aborted && !parts[0]!.life.closed) {
    await Promise.all(
      parts.map(async (part, p) => {
        if (buffers[p]!.length >= PAGE) return;
        // What the partition's archive holds after the last id read comes first (§18): before the log's
        // first page, and whenever a trim may have passed the last id read.
        const fromArchive = await archived[p]?.page(lastRead[p]!);
        if (fromArchive?.length) {
          for (const e of fromArchive) buffers[p]!.push({ ...e, partition: p });
          lastRead[p] = fromArchive[fromArchive.length - 1]!.id;
          drained[p] = false;
          marks[p] = { id: lastRead[p], partition: P };
          return;
        }
        const [now, entries] = (await part.scripts.logPage(part.keys.events, lastRead[p]!, PAGE)) as [
          number,
          StreamEntry[],
        ];
        // A trim since the archive was looked at: the entries it took are in the archive, read them first.
        if (await archived[p]?.movedPast(lastRead[p]!)) return;
        for (const entry of entries) buffers[p]!.push({ ...rawEventToTaskEvent(entryToRawEvent(entry)), partition: p });
        if (entries.length) lastRead[p] = entries[entries.length - 1]![0];
        drained[p] = entries.length < PAGE;
        // Its next entry comes after the last one read; and when drained, after its time too.
        const time = `${Math.max(0, now - 1)}-18446744073709551615`;
        marks[p] = {
          id: drained[p] && compareStreamIds(time, lastRead[p]!) > 0 ? time : lastRead[p]!,
          partition: P,
        };
      }),
    );
    const done = !follow && drained.every(Boolean);
    const watermark = marks.reduce((a, m) => (before(m, a) ? m : a));
    let given = 0;
    for (;;) {
      let pick = -1;
      for (let p = 0; p < P; p++) {
        const head = buffers[p]![0];
        if (!head) continue;
        if (pick < 0 || before({ id: head.id, partition: p }, { id: buffers[pick]![0]!.id, partition: pick })) pick = p;
      }
      if (pick < 0) break;
      const head = buffers[pick]![0]!;
      if (!done && before(watermark, { id: head.id, partition: pick })) break;
      buffers[pick]!.shift();
      if (start !== null && !before(start, { id: head.id, partition: pick })) continue;
      if (signal?.aborted) return;
      given++;
      yield head;
    }
    if (done) return;
    if (given === 0 && drained.every(Boolean))
      await sleep(FOLLOW_POLL_MS, signal, parts[0]!.life.stopSignal).catch(() => undefined);
  }
}

/**
 * One partition's archive as the merged replay reads it: pages of events after an id, from one reader kept
 * while it goes on where the last page ended, and the namespace's note of the newest archived id to tell
 * when to look again (the note is written before a trim), so a follower does not read the manifest often.
 */
class ArchivedPart {
  private reader: { after: string; events: AsyncGenerator<TaskEvent> } | undefined;
  private newest: string | null | undefined;

  constructor(
    private readonly part: ReadContext,
    private readonly archive: Archive,
  ) {}

  /** Up to PAGE archived events after `after`; [] when the archive holds none. */
  async page(after: string): Promise<TaskEvent[]> {
    if (this.newest === undefined) {
      await this.archive.open(this.part.keys.tag);
      this.newest = await this.archive.lastId();
    }
    if (this.newest === null || compareStreamIds(this.newest, after) <= 0) {
      this.reader = undefined;
      return [];
    }
    if (this.reader?.after !== after) this.reader = { after, events: this.archive.read({ after }) };
    const page: TaskEvent[] = [];
    for (;;) {
      const next = await this.reader.events.next();
      if (next.done) {
        this.reader = undefined;
        // Read to its end: only a later note sends the reader back.
        this.newest = page.at(-1)?.id ?? after;
        break;
      }
      page.push(next.value);
      if (page.length === PAGE) {
        this.reader.after = next.value.id;
        break;
      }
    }
    return page;
  }

  /** Whether the archive now holds events after `after` (a trim passed it since page() looked). */
  async movedPast(after: string): Promise<boolean> {
    const noted = await this.part.redis.hget(this.part.keys.meta, 'archivedTo');
    if (noted === null || compareStreamIds(noted, after) <= 0) return false;
    this.newest = noted;
    return true;
  }
}
