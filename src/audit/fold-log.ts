import type { ReadContext } from '../context/read-context.js';
import { foldAll, type ProjectionHash } from '../events/fold.js';
import { lastEventId, readLog } from '../projections/log-reader.js';
import { COMPACTED_EVENT, ENDED_EVENTS, QUEUE_OPTIONS_EVENT } from '../events/fold-rules.js';
import { compareStreamIds } from '../events/stream-id.js';
import { recordOf, type CompactionRecord } from '../retention/compaction-record.js';

export interface FoldProgressOptions {
  /** Called as the log is read: events folded so far, and the log's length when the read began. */
  onProgress?: (events: number, total: number) => void;
}

/**
 * Folds the log up to its newest event now (`end`): every task's projection, and the all-time counts of
 * ended tasks by `<status>:<queue>`, as the log tells them.
 */
export async function foldLog(
  ctx: ReadContext,
  onProgress?: (events: number, total: number) => void,
): Promise<{
  folded: Map<string, ProjectionHash>;
  end: string;
  events: number;
  counts: Map<string, number>;
  /** The id of the newest `compacted` record folded, if any. */
  compacted: string | null;
  /** Each queue's options as its newest `queue-options` event gives them (JSON of QueueOptions). */
  queueOptions: Map<string, string>;
}> {
  const end = await lastEventId(ctx);
  const total = onProgress ? await ctx.redis.xlen(ctx.keys.events) : 0;
  const folded = new Map<string, ProjectionHash>();
  // The all-time counts of ended tasks ({ns}:counts), as the log tells them: those the newest `compacted`
  // record carries (ended events trimmed below its point), plus the ended events at or after that point.
  let baseline: CompactionRecord = { trimmedTo: '0-0', counts: {} };
  let compacted: string | null = null;
  let ended: { id: string; key: string }[] = [];
  let events = 0;
  const queueOptions = new Map<string, string>();
  if (end !== '0-0') {
    for await (const page of readLog(ctx, '-', end)) {
      for (const e of page) {
        if (e.type === COMPACTED_EVENT) {
          baseline = recordOf(e.fields);
          compacted = e.id;
          ended = ended.filter((x) => compareStreamIds(x.id, baseline.trimmedTo) >= 0);
        }
        if (ENDED_EVENTS.has(e.type) && compareStreamIds(e.id, baseline.trimmedTo) >= 0) {
          // Logs written before ended events carried their queue: the task's, as folded up to this event
          // (folded one event at a time, so a task enqueued on the same page is known).
          const queue = e.fields.queue ?? folded.get(e.taskId)?.queue;
          if (queue !== undefined) ended.push({ id: e.id, key: `${e.type}:${queue}` });
        }
        if (e.type === QUEUE_OPTIONS_EVENT && e.fields.queue !== undefined && e.fields.options !== undefined)
          queueOptions.set(e.fields.queue, e.fields.options);
        foldAll([e], folded);
      }
      events += page.length;
      onProgress?.(events, total);
    }
  }
  const counts = new Map(Object.entries(baseline.counts));
  for (const { key } of ended) counts.set(key, (counts.get(key) ?? 0) + 1);
  return { folded, end, events, counts, compacted, queueOptions };
}
