import { ValidationError } from '../errors.js';
import { FOLD_RULES, INT_FIELDS, JSON_FIELDS, NAMESPACE_EVENTS, SCHEDULE_EVENTS } from '../events/fold-rules.js';
import { compareStreamIds, streamIdMs } from '../events/stream-id.js';
import { TASK_STATUSES, type TaskEvent } from '../types.js';
import { toJsonText, validateRequest, validateTaskId } from '../validation.js';

/** Every event type this version writes; an import of any other would leave a log no fold can read. */
export const KNOWN_EVENT_TYPES: ReadonlySet<string> = new Set([...Object.keys(FOLD_RULES), ...NAMESPACE_EVENTS]);

/** The data fields each event type is written with by the live scripts (others are optional). */
const NEEDS: Readonly<Record<string, readonly string[]>> = {
  enqueued: ['queue', 'type', 'spec', 'maxAttempts'],
  started: ['attempt'],
  progress: ['progress'],
  requeued: ['readyId', 'reason'],
  // and its error: `failure` (format 3) or `error` (formats 1 and 2), checked below.
  retrying: ['runAt'],
  promoted: ['readyId'],
  snapshot: ['status', 'queue', 'type', 'createdAt', 'updatedAt'],
  expired: ['tasks'],
  reprioritized: ['priority'],
  replaced: ['spec'],
  'queue-options': ['queue', 'action', 'options'],
  partitioned: ['partitions', 'from'],
};

/** Names the stream keeps for itself: a data field of that name would overwrite the event's own. */
const RESERVED = new Set(['event', 'task', 'schedule']);

const MAX_ID_PART = 18446744073709551615n;

/**
 * Checks an export, event by event in log order, with the rules live writes follow: ids strictly
 * increasing (as XADD requires; within each partition, for an export that names them) and matching their time, known event types, valid names, JSON and the
 * fields each type needs, and a task's first event an `enqueued` (or a compaction's `snapshot`).
 * Throws a ValidationError saying what is wrong with the event given.
 */
export class ImportChecker {
  /** The last id of each partition's log (§20: an export of several partitions merges their orders); -1 without. */
  private readonly last = new Map<number, string>();
  private readonly tasks = new Set<string>();

  check(e: TaskEvent): void {
    const [ms = '', seq = '0'] = e.id.split('-');
    if (BigInt(ms) > MAX_ID_PART || BigInt(seq) > MAX_ID_PART)
      throw new ValidationError(`id ${e.id} is beyond what a stream id holds`);
    const partition = e.partition ?? -1;
    const last = this.last.get(partition) ?? '0-0';
    if (compareStreamIds(e.id, last) <= 0)
      throw new ValidationError(
        last === '0-0'
          ? `id ${e.id} must be greater than 0-0`
          : `id ${e.id} is not after the previous id ${last}${partition < 0 ? '' : ` of partition ${partition}`} (ids must strictly increase)`,
      );
    this.last.set(partition, e.id);
    if (e.at.getTime() !== Number(streamIdMs(e.id)))
      throw new ValidationError(`event ${e.id}: at ${e.at.toISOString()} is not the time of its id`);
    if (!KNOWN_EVENT_TYPES.has(e.type)) throw new ValidationError(`event ${e.id}: unknown event type "${e.type}"`);
    this.checkData(e);
    for (const field of NEEDS[e.type] ?? [])
      if (e.data[field] === undefined) throw new ValidationError(`event ${e.id}: ${e.type} events need ${field}`);
    if (e.type === 'retrying' && e.data.failure === undefined && e.data.error === undefined)
      throw new ValidationError(`event ${e.id}: retrying events need failure (or error, before format 3)`);
    if (SCHEDULE_EVENTS.has(e.type)) {
      if (!e.scheduleId) throw new ValidationError(`event ${e.id}: ${e.type} events need a scheduleId`);
      validateTaskId(e.scheduleId);
      return;
    }
    if (NAMESPACE_EVENTS.has(e.type)) return;
    try {
      validateTaskId(e.taskId);
    } catch (err) {
      throw new ValidationError(`event ${e.id}: ${(err as Error).message}`);
    }
    if (e.type === 'enqueued') this.checkEnqueued(e);
    else if (e.type === 'snapshot') {
      if (!(TASK_STATUSES as readonly unknown[]).includes(e.data.status))
        throw new ValidationError(`event ${e.id}: snapshot status ${JSON.stringify(e.data.status)} is not a status`);
    } else if (!this.tasks.has(e.taskId))
      throw new ValidationError(`event ${e.id}: ${e.type} for task ${e.taskId}, which no earlier event enqueued`);
    if (e.type === 'deleted') this.tasks.delete(e.taskId);
    else this.tasks.add(e.taskId);
  }

  private checkData(e: TaskEvent): void {
    for (const [field, value] of Object.entries(e.data)) {
      if (RESERVED.has(field)) throw new ValidationError(`event ${e.id}: data field "${field}" is reserved`);
      if (JSON_FIELDS.has(field)) toJsonText(value, `event ${e.id}: ${field}`);
      else if (INT_FIELDS.has(field) ? !Number.isSafeInteger(value) : typeof value !== 'string')
        throw new ValidationError(
          `event ${e.id}: ${field} must be ${INT_FIELDS.has(field) ? 'an integer' : 'a string'}, got ${JSON.stringify(value)}`,
        );
    }
  }

  private checkEnqueued(e: TaskEvent): void {
    const d = e.data;
    try {
      validateRequest({
        id: e.taskId,
        queue: d.queue as string,
        type: d.type as string,
        spec: d.spec,
        ...(d.references !== undefined ? { references: d.references as never } : {}),
        maxAttempts: d.maxAttempts as number,
        ...(d.backoff !== undefined ? { backoff: d.backoff as never } : {}),
        ...(d.timeoutMs !== undefined ? { timeoutMs: d.timeoutMs as number } : {}),
      });
    } catch (err) {
      throw new ValidationError(`event ${e.id}: ${(err as Error).message}`);
    }
  }
}
