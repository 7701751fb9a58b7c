import { EXPIRED_EVENT, FOLD_RULES, NAMESPACE_EVENTS, type FoldRule } from './fold-rules.js';
import { InternalError, ValidationError } from '../errors.js';
import { streamIdMs } from './stream-id.js';

/** A task's hash as Redis stores it: field -> string. */
export type ProjectionHash = Record<string, string>;

export interface RawEvent {
  id: string;
  type: string;
  taskId: string;
  /** Set for schedule events, which name a schedule instead of a task. */
  scheduleId?: string;
  /** The event's own fields (without `event`, `task` and `schedule`), as stored. */
  fields: Record<string, string>;
}

type Setter = (hash: ProjectionHash, event: RawEvent, at: string) => void;

/** The rules as one setter per field, read once: the fold runs for every task a worker starts. */
interface Compiled {
  set: Setter[];
  del: readonly string[];
  delWhen: FoldRule['delWhen'];
  drop: boolean;
  replace: boolean;
}

const COMPILED = new Map<string, Compiled>(
  Object.entries(FOLD_RULES).map(([type, rule]: [string, FoldRule]) => {
    const set = rule.set.map(([field, src]): Setter => {
      if (src === '@at') return (h, _e, at) => void (h[field] = at);
      if (src === '@id') return (h, e) => void (h[field] = e.id);
      if (src.startsWith('$')) {
        const name = src.slice(1);
        return (h, e) => {
          const value = e.fields[name];
          if (value !== undefined) h[field] = value;
        };
      }
      return (h) => void (h[field] = src);
    });
    return [type, { set, del: rule.del, delWhen: rule.delWhen, drop: !!rule.drop, replace: !!rule.replace }];
  }),
);

/**
 * Applies one event to a projection, exactly as includes/fold-apply.lua does in Redis. Returns the new hash, or
 * null when the event drops the projection. Does not mutate its input.
 */
export function foldEvent(current: ProjectionHash | null, event: RawEvent): ProjectionHash | null {
  // Public: a JavaScript caller can pass anything.
  const given: unknown = current;
  if (given !== null && typeof given !== 'object')
    throw new ValidationError('foldEvent: the hash must be an object or null');
  checkEvent(event);
  return foldInto(current ? { ...current } : {}, event);
}

/** foldEvent, changing `hash` in place (it is returned, or null when the event drops the projection). */
export function foldInto(hash: ProjectionHash, event: RawEvent): ProjectionHash | null {
  const rule = COMPILED.get(event.type);
  if (!rule)
    throw new InternalError(`unknown event type "${event.type}" in event ${event.id}: written by a newer taskledger?`);
  if (rule.drop) return null;
  if (rule.replace) return replaceWith(hash, event);
  const at = streamIdMs(event.id);
  const previous = hash.events;
  for (const set of rule.set) set(hash, event, at);
  hash.updatedAt = at;
  hash.events = previous ? `${previous} ${event.id}` : event.id;
  // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- the hash mirrors a Redis hash (a public Record type): this is fold.lua's HDEL, on the hot path
  for (const field of rule.del) delete hash[field];
  const when = rule.delWhen;
  // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- as above: the Lua fold's conditional HDEL
  if (when && event.fields[when.field] === when.equals) for (const field of when.del) delete hash[field];
  return hash;
}

/** A snapshot: its fields become the hash, and its id follows the ids it carries in `events`. */
function replaceWith(hash: ProjectionHash, event: RawEvent): ProjectionHash {
  // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- the hash mirrors a Redis hash: this is the Lua fold's DEL
  for (const field of Object.keys(hash)) delete hash[field];
  Object.assign(hash, event.fields);
  hash.events = event.fields.events ? `${event.fields.events} ${event.id}` : event.id;
  return hash;
}

/** The ids an `expired` event removed. */
export const expiredTaskIds = (event: RawEvent): string[] => (event.fields.tasks ?? '').split(' ').filter(Boolean);

/**
 * Folds a sequence of events (oldest first) into projections by task id. Dropped tasks are absent: deleted
 * ones, and those an `expired` event lists.
 */
export function foldAll(
  events: Iterable<RawEvent>,
  into = new Map<string, ProjectionHash>(),
): Map<string, ProjectionHash> {
  const given: unknown = events;
  if (typeof given !== 'object' || given === null || !(Symbol.iterator in given))
    throw new ValidationError('foldAll takes an iterable of events');
  if (!(into instanceof Map)) throw new ValidationError('foldAll: into must be a Map');
  for (const event of events) {
    checkEvent(event);
    if (NAMESPACE_EVENTS.has(event.type)) {
      if (event.type === EXPIRED_EVENT) for (const id of expiredTaskIds(event)) into.delete(id);
      continue;
    }
    const next = foldEvent(into.get(event.taskId) ?? null, event);
    if (next) into.set(event.taskId, next);
    else into.delete(event.taskId);
  }
  return into;
}

function checkEvent(event: unknown): void {
  if (
    typeof event !== 'object' ||
    event === null ||
    typeof (event as RawEvent).type !== 'string' ||
    typeof (event as RawEvent).id !== 'string'
  )
    throw new ValidationError('an event must be an object with a string id and type (a RawEvent)');
}
