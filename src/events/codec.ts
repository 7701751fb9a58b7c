import { EVENT_FIELD, INT_FIELDS, JSON_FIELDS, SCHEDULE_FIELD, TASK_FIELD } from './fold-rules.js';
import type { ProjectionHash, RawEvent } from './fold.js';
import { streamIdMs } from './stream-id.js';
import type {
  BackoffOptions,
  JsonValue,
  References,
  Task,
  TaskError,
  TaskEvent,
  TaskEventType,
  TaskStatus,
} from '../types.js';

/** A stream entry as ioredis returns it: [id, [field, value, ...]]. */
export type StreamEntry = [id: string, fields: string[]];

export function pairsToObject(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < pairs.length; i += 2) out[pairs[i]!] = pairs[i + 1]!;
  return out;
}

export function entryToRawEvent([id, pairs]: StreamEntry): RawEvent {
  // As pairsToObject (the last value of a field wins), with event, task and schedule taken out as read.
  const fields: Record<string, string> = {};
  let type = '';
  let taskId = '';
  let scheduleId: string | undefined;
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    const name = pairs[i]!;
    const value = pairs[i + 1]!;
    if (name === EVENT_FIELD) type = value;
    else if (name === TASK_FIELD) taskId = value;
    else if (name === SCHEDULE_FIELD) scheduleId = value;
    else fields[name] = value;
  }
  return scheduleId === undefined ? { id, type, taskId, fields } : { id, type, taskId, scheduleId, fields };
}

export function rawEventToTaskEvent(raw: RawEvent): TaskEvent {
  const data: Record<string, JsonValue> = {};
  for (const [k, v] of Object.entries(raw.fields)) {
    data[k] = JSON_FIELDS.has(k) ? (JSON.parse(v) as JsonValue) : INT_FIELDS.has(k) ? Number(v) : v;
  }
  const event: TaskEvent = {
    id: raw.id,
    taskId: raw.taskId,
    type: raw.type as TaskEventType,
    at: new Date(Number(streamIdMs(raw.id))),
    data,
  };
  if (raw.scheduleId !== undefined) event.scheduleId = raw.scheduleId;
  return event;
}

const date = (ms: string | undefined) => (ms === undefined ? null : new Date(Number(ms)));

export function hashToTask(id: string, h: ProjectionHash): Task {
  return {
    id,
    queue: h.queue ?? '',
    type: h.type ?? '',
    spec: JSON.parse(h.spec ?? 'null') as JsonValue,
    status: h.status as TaskStatus,
    progress: h.progress === undefined ? null : (JSON.parse(h.progress) as JsonValue),
    result: h.result === undefined ? null : (JSON.parse(h.result) as JsonValue),
    error: h.error === undefined ? null : (JSON.parse(h.error) as TaskError),
    references: JSON.parse(h.references ?? '{}') as References,
    attempt: Number(h.attempt ?? 0),
    maxAttempts: Number(h.maxAttempts ?? 0),
    priority: Number(h.priority ?? 0),
    dedupKey: h.dedupKey ?? null,
    // '' is an end no holder made (recovery, an unfenced call): nobody holds the task.
    lease: h.lease || null,
    runAt: date(h.runAt),
    backoff: h.backoff === undefined ? null : (JSON.parse(h.backoff) as BackoffOptions),
    timeoutMs: h.timeoutMs === undefined ? null : Number(h.timeoutMs),
    scheduledAt: date(h.scheduledAt),
    createdAt: new Date(Number(h.createdAt)),
    updatedAt: new Date(Number(h.updatedAt)),
    startedAt: date(h.startedAt),
    finishedAt: date(h.finishedAt),
    lastHeartbeatAt: date(h.heartbeatAt),
  };
}

/** The stream fields of an event, from its decoded form: the inverse of entryToRawEvent + rawEventToTaskEvent. */
export function taskEventToFields(event: Pick<TaskEvent, 'type' | 'taskId' | 'scheduleId' | 'data'>): string[] {
  const fields = [EVENT_FIELD, event.type];
  if (event.scheduleId !== undefined) fields.push(SCHEDULE_FIELD, event.scheduleId);
  else fields.push(TASK_FIELD, event.taskId);
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- outside JSON_FIELDS the values are strings and integers, as rawEventToTaskEvent decodes them
  for (const [k, v] of Object.entries(event.data)) fields.push(k, JSON_FIELDS.has(k) ? JSON.stringify(v) : String(v));
  return fields;
}
