import { FOLD_RULES, SCHEDULE_EVENTS } from './fold-rules.js';
import { InternalError } from '../errors.js';

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

/** Milliseconds part of a stream id: the event time. */
export function streamIdMs(id: string): string {
  const dash = id.indexOf('-');
  return dash < 0 ? id : id.slice(0, dash);
}

/**
 * Applies one event to a projection, exactly as includes/fold.lua does in Redis. Returns the new hash, or
 * null when the event drops the projection. Does not mutate its input.
 */
export function foldEvent(current: ProjectionHash | null, event: RawEvent): ProjectionHash | null {
  const rule = FOLD_RULES[event.type as keyof typeof FOLD_RULES];
  if (!rule) throw new InternalError(`unknown event type "${event.type}" in event ${event.id}: written by a newer taskledger?`);
  if (rule.drop) return null;
  const at = streamIdMs(event.id);
  const next: ProjectionHash = { ...(current ?? {}) };
  for (const [field, src] of rule.set) {
    let value: string | undefined;
    if (src === '@at') value = at;
    else if (src === '@id') value = event.id;
    else if (src.startsWith('$')) value = event.fields[src.slice(1)];
    else value = src;
    if (value !== undefined) next[field] = value;
  }
  next.updatedAt = at;
  next.events = current?.events ? `${current.events} ${event.id}` : event.id;
  for (const field of rule.del) delete next[field];
  return next;
}

/** Folds a sequence of events (oldest first) into projections by task id. Dropped tasks are absent. */
export function foldAll(events: Iterable<RawEvent>, into = new Map<string, ProjectionHash>()): Map<string, ProjectionHash> {
  for (const event of events) {
    if (SCHEDULE_EVENTS.has(event.type)) continue;
    const next = foldEvent(into.get(event.taskId) ?? null, event);
    if (next) into.set(event.taskId, next);
    else into.delete(event.taskId);
  }
  return into;
}
