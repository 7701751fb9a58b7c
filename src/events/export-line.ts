import { ValidationError } from '../errors.js';
import type { JsonValue, TaskEvent, TaskEventType } from '../types.js';
import { STREAM_ID } from './stream-id.js';

/**
 * One event as one line of the export format (docs/export.md): the TaskEvent with `at` as an ISO time, and
 * its partition when it comes from a namespace of several (§20). The CLI's export and the archive's
 * segments both write this, so the two stay the same format.
 */
export function toExportLine(e: TaskEvent): string {
  return JSON.stringify({
    id: e.id,
    at: e.at.toISOString(),
    type: e.type,
    taskId: e.taskId,
    ...(e.scheduleId ? { scheduleId: e.scheduleId } : {}),
    ...(e.partition !== undefined ? { partition: e.partition } : {}),
    data: e.data,
  });
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The event a parsed export line holds, checked field by field (ValidationError naming the field).
 * `type` is kept as it is: newer versions add event types, and a reader must carry them through.
 */
export function fromExportLine(obj: unknown): TaskEvent {
  if (!isObject(obj)) throw new ValidationError('an exported event is a JSON object');
  const { id, at, type, taskId, scheduleId, partition, data } = obj;
  if (typeof id !== 'string' || !STREAM_ID.test(id)) throw new ValidationError('id must be a stream id (<ms>-<seq>)');
  const time = typeof at === 'string' ? new Date(at) : null;
  if (!time || Number.isNaN(time.getTime())) throw new ValidationError(`event ${id}: at must be an ISO time`);
  if (typeof type !== 'string' || type === '')
    throw new ValidationError(`event ${id}: type must be a non-empty string`);
  if (typeof taskId !== 'string') throw new ValidationError(`event ${id}: taskId must be a string`);
  if (scheduleId !== undefined && typeof scheduleId !== 'string')
    throw new ValidationError(`event ${id}: scheduleId must be a string`);
  if (partition !== undefined && (typeof partition !== 'number' || !Number.isInteger(partition) || partition < 0))
    throw new ValidationError(`event ${id}: partition must be a whole number from 0`);
  if (!isObject(data)) throw new ValidationError(`event ${id}: data must be an object`);
  const event: TaskEvent = {
    id,
    at: time,
    type: type as TaskEventType,
    taskId,
    data: data as Record<string, JsonValue>,
  };
  if (scheduleId !== undefined) event.scheduleId = scheduleId;
  if (partition !== undefined) event.partition = partition;
  return event;
}
