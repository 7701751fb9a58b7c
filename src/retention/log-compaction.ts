import type { ReadContext } from '../context/read-context.js';
import type { Archive } from '../archive/archive.js';
import { rawEventToTaskEvent, entryToRawEvent, type StreamEntry } from '../events/codec.js';
import type { RawEvent } from '../events/fold.js';
import { ENDED_EVENTS, NAMESPACE_EVENTS, QUEUE_OPTIONS_EVENT } from '../events/fold-rules.js';
import { compareStreamIds, nextStreamId } from '../events/stream-id.js';
import { lastCompaction, type CompactionRecord } from './compaction-record.js';
import { taskField } from '../projections/log-reader.js';
import { hostname } from 'node:os';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { TaskEvent } from '../types.js';
import { ArchiveCorruptError, CompactionLockLostError, ValidationError } from '../errors.js';

/** Events per step: one archive segment, its snapshots, one `compacted` record and its trim. */
export const CHUNK_EVENTS = 20_000;
/** Tasks per snapshot.lua call, and entries per XTRIM: bounded steps, so that Redis is never held long. */
const SNAPSHOT_BATCH = 100;
const TRIM_STEP = 2_000;
const PAGE = 1_000;

export interface LogCompaction {
  archivedEvents: number;
  trimmedEvents: number;
  snapshots: number;
  /** Entries before this id are gone (null when nothing was trimmed). */
  trimmedTo: string | null;
}

export interface LogCompactionInput {
  /** Entries before this id go. */
  point: string;
  archive: Archive | null;
  dryRun: boolean;
  /** Recorded in each `compacted` event. */
  retention: object;
  /** Runs between steps: throws to stop the pass (the queue closing, the lock lost). */
  between: () => Promise<void>;
  /** The compaction lock's token: the scripts that record and trim refuse any other. */
  token: string;
  /** Told after each step: what it did, and how many events or tasks. */
  onStep?: (step: CompactionStep) => void;
}

/** A step of a pass, as `compact({ onStep })` reports it. */
export interface CompactionStep {
  step: 'expired' | 'archived' | 'snapshotted' | 'recorded' | 'trimmed';
  /** Tasks expired or snapshotted, or events archived or trimmed, in this step. */
  count: number;
}

/**
 * Trims the log below `point`, a chunk at a time, oldest first. For each chunk, in this order, so that a
 * crash at any step loses nothing and duplicates nothing:
 * 1. its events not yet archived go to the archive, durably (the archive's last id says which);
 * 2. each live task it names gets a `snapshot` (snapshot.lua), so the log after the trim folds to it;
 * 3. a `compacted` event records the trim point and the all-time counts of the ended events below it;
 * 4. XTRIM MINID removes the chunk, in steps.
 * A crash before 4 leaves the chunk in the log: the next pass archives only what the archive lacks, and
 * counts only what the last record did not.
 */
export async function compactLog(ctx: ReadContext, input: LogCompactionInput): Promise<LogCompaction> {
  const out: LogCompaction = { archivedEvents: 0, trimmedEvents: 0, snapshots: 0, trimmedTo: null };
  const { archive, point, dryRun } = input;
  const step = input.onStep ?? (() => undefined);
  let archived = archive ? await archive.lastId() : null;
  if (archive) await checkArchiveHolds(ctx, archive, archived, dryRun);
  else await checkNoArchiveKept(ctx);
  const record = await lastCompaction(ctx);
  const counts = new Map(Object.entries(record?.counts ?? {}));
  const countedTo = record?.trimmedTo ?? '0-0';
  let from = '-';
  for (;;) {
    const chunk = await readChunk(ctx, from, point);
    if (chunk.length === 0) return out;
    const last = chunk[chunk.length - 1]!.id;
    // Entries before this id go with the chunk; never below what the last record says is trimmed (a pass
    // with a longer logMs after one that stopped after its record), or that record's counts would count twice.
    const trimmedTo = maxId(nextStreamId(last), countedTo);
    if (archive) {
      const fresh = archived === null ? chunk : chunk.filter((e) => compareStreamIds(e.id, archived!) > 0);
      if (fresh.length && !dryRun) {
        await input.between();
        await archive.append(await toTaskEvents(fresh));
        archived = last;
        await ctx.redis.hset(ctx.keys.meta, 'archivedTo', last);
        step({ step: 'archived', count: fresh.length });
      }
      out.archivedEvents += fresh.length;
    }
    const snapshots = await snapshotTasks(ctx, chunk, trimmedTo, dryRun, input.between);
    if (!dryRun) await snapshotQueueOptions(ctx, chunk);
    out.snapshots += snapshots;
    if (!dryRun) step({ step: 'snapshotted', count: snapshots });
    await countEnded(ctx, chunk, countedTo, counts);
    out.trimmedEvents += chunk.length;
    out.trimmedTo = trimmedTo;
    if (dryRun) {
      // Nothing is trimmed: read on past the chunk.
      from = `(${last}`;
      continue;
    }
    const record: CompactionRecord = { trimmedTo, counts: Object.fromEntries(counts) };
    const recorded = await ctx.scripts.compacted(
      ctx.keys.events,
      ctx.keys.meta,
      ctx.keys.compactionLock,
      input.token,
      'trimmedTo',
      record.trimmedTo,
      'archivedTo',
      archived ?? '',
      'counts',
      JSON.stringify(record.counts),
      'retention',
      JSON.stringify(input.retention),
      'trimmedEvents',
      chunk.length,
      'by',
      instance(),
    );
    if (!recorded) throw lockLost();
    step({ step: 'recorded', count: chunk.length });
    await trim(ctx, chunk, trimmedTo, input, step);
  }
}

/**
 * Refuses to trim when the archive holds less than the namespace recorded it holding (newest segments
 * removed with their manifest entries, or the wrong directory): the events trimmed since are nowhere else.
 */
async function checkArchiveHolds(
  ctx: ReadContext,
  archive: Archive,
  lastId: string | null,
  dryRun: boolean,
): Promise<void> {
  const recorded = await ctx.redis.hget(ctx.keys.meta, 'archivedTo');
  if (recorded && (lastId === null || compareStreamIds(lastId, recorded) < 0))
    throw new ArchiveCorruptError(
      `the archive at ${archive.location} ends at ${lastId ?? 'nothing'}, but this namespace archived up to ` +
        `${recorded}: segments are missing (or it is another archive); nothing was trimmed`,
    );
  // A pass that died between its append and this note left it behind: the archive's own id is the truth.
  if (!dryRun && lastId !== null && (!recorded || compareStreamIds(lastId, recorded) > 0))
    await ctx.redis.hset(ctx.keys.meta, 'archivedTo', lastId);
}

/** Up to CHUNK_EVENTS log entries from `from` and before `point`, in pages. */
async function readChunk(ctx: ReadContext, from: string, point: string): Promise<RawEvent[]> {
  const out: RawEvent[] = [];
  let start = from;
  while (out.length < CHUNK_EVENTS) {
    const page = (await ctx.redis.xrange(ctx.keys.events, start, `(${point}`, 'COUNT', PAGE)) as StreamEntry[];
    for (const entry of page) out.push(entryToRawEvent(entry));
    if (page.length < PAGE) break;
    start = `(${page[page.length - 1]![0]}`;
  }
  return out;
}

/**
 * snapshot.lua for the live tasks a chunk names (dry run: how many would get one), with the chunk's own trim
 * point: a snapshot keeps the ids of the task's events that stay in the log after this trim. A task with
 * events in several chunks gets a snapshot per chunk, each standing for what that trim removes.
 */
async function snapshotTasks(
  ctx: ReadContext,
  chunk: readonly RawEvent[],
  point: string,
  dryRun: boolean,
  between: () => Promise<void>,
) {
  const ids = [...new Set(chunk.filter((e) => e.taskId && !NAMESPACE_EVENTS.has(e.type)).map((e) => e.taskId))];
  let written = 0;
  for (let i = 0; i < ids.length; i += SNAPSHOT_BATCH) {
    const batch = ids.slice(i, i + SNAPSHOT_BATCH);
    if (dryRun) {
      const lists = await taskField(ctx, batch, 'events');
      written += lists.filter((l) => l && compareStreamIds(l.split(' ', 1)[0]!, point) < 0).length;
      continue;
    }
    const keys = [ctx.keys.events, ...batch.map((id) => ctx.keys.task(id))];
    written += Number(await ctx.scripts.snapshot(keys.length, ...keys, point, ...batch));
    await between();
  }
  return written;
}

/**
 * A queue whose `queue-options` events this chunk trims gets a fresh one (action `snapshot`) with its
 * options as they stand, written after the chunk by queue-options-4.lua (reading and writing in one step, so
 * no change slips between): the log from the trim point on still folds to the controls.
 */
async function snapshotQueueOptions(ctx: ReadContext, chunk: readonly RawEvent[]): Promise<void> {
  const queues = new Set(chunk.filter((e) => e.type === QUEUE_OPTIONS_EVENT).map((e) => e.fields.queue ?? ''));
  for (const queue of queues) {
    if (queue === '') continue;
    const k = ctx.keys;
    await ctx.scripts.queueOptions(
      k.events,
      k.controls,
      k.wake,
      k.rate(queue),
      queue,
      'snapshot',
      instance(),
      '',
      '',
      '',
    );
  }
}

/** Adds the chunk's ended events at or after `countedTo` (those the last record did not count). */
async function countEnded(
  ctx: ReadContext,
  chunk: readonly RawEvent[],
  countedTo: string,
  counts: Map<string, number>,
): Promise<void> {
  const ended = chunk.filter((e) => ENDED_EVENTS.has(e.type) && compareStreamIds(e.id, countedTo) >= 0);
  // Logs written before ended events carried their queue: the task's, while its hash lives (one pipeline
  // for a chunk's worth, not a round trip per event).
  const older = ended.filter((e) => e.fields.queue === undefined);
  const queues = await taskField(
    ctx,
    older.map((e) => e.taskId),
    'queue',
  );
  const queueOf = new Map(older.map((e, i) => [e, queues[i]]));
  for (const e of ended) {
    const queue = e.fields.queue ?? queueOf.get(e);
    if (queue === null || queue === undefined) continue;
    const key = `${e.type}:${queue}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
}

/** trim-2.lua up to `trimmedTo`, TRIM_STEP entries at a time; refused when the lock was lost. */
async function trim(
  ctx: ReadContext,
  chunk: readonly RawEvent[],
  trimmedTo: string,
  input: LogCompactionInput,
  step: (s: CompactionStep) => void,
): Promise<void> {
  for (let i = TRIM_STEP - 1; ; i += TRIM_STEP) {
    const done = i >= chunk.length - 1;
    const to = done ? trimmedTo : nextStreamId(chunk[i]!.id);
    const trimmed = Number(await ctx.scripts.trim(ctx.keys.events, ctx.keys.compactionLock, input.token, to));
    if (trimmed < 0) throw lockLost();
    step({ step: 'trimmed', count: trimmed });
    await input.between();
    if (done) return;
  }
}

/** rawEventToTaskEvent over a chunk, in slices with the event loop let run between them. */
async function toTaskEvents(events: readonly RawEvent[]): Promise<TaskEvent[]> {
  const out: TaskEvent[] = [];
  for (let i = 0; i < events.length; i += 1000) {
    if (i > 0) await yieldToLoop();
    for (const e of events.slice(i, i + 1000)) out.push(rawEventToTaskEvent(e));
  }
  return out;
}

const lockLost = () => new CompactionLockLostError('a newer pass holds it');

const maxId = (a: string, b: string): string => (compareStreamIds(a, b) >= 0 ? a : b);

/**
 * Refuses to trim without an archive a namespace whose log goes to one (another instance has an archive,
 * this one `archive: false`): the trimmed events would be missing from that archive for good.
 */
async function checkNoArchiveKept(ctx: ReadContext): Promise<void> {
  const archivedTo = await ctx.redis.hget(ctx.keys.meta, 'archivedTo');
  if (archivedTo)
    throw new ValidationError(
      `namespace "${ctx.keys.namespace}" archives its log (up to ${archivedTo}): an instance with ` +
        'archive: false must not trim it, or those events would be missing from the archive',
    );
}

const instance = (): string => `${hostname()}:${process.pid}`;
