import type { EndedStatus } from '../redis/keys.js';

/**
 * The ended index's members (`{ns}:ended-by-queue`, includes/ended-member.lua, which writes them): every
 * ended task as `<status>:<queue bytes>:<queue>:<ended ms, 15 digits>:<task id>`, all scored 0, so that one
 * queue's tasks of one status page by end time with ZRANGEBYLEX. Built here exactly as the Lua builds them.
 */

/** What every member of one queue's tasks of one status starts with. */
export const endedPrefix = (status: EndedStatus, queue: string): string =>
  `${status}:${Buffer.byteLength(queue)}:${queue}:`;

/**
 * The first string past every member of one queue's tasks of one status (its prefix, with the last ':' made
 * ';', the next byte), or, without a queue, past every member of the status: a ZRANGEBYLEX bound.
 */
export const endedPast = (status: EndedStatus, queue?: string): string =>
  queue === undefined ? `${status};` : `${endedPrefix(status, queue).slice(0, -1)};`;

/** Where a task sits in its queue's part of the index: `<ended ms, 15 digits>:<task id>` (a list's cursor). */
export const endedPlace = (at: string | number, taskId: string): string => `${String(at).padStart(15, '0')}:${taskId}`;

/** The member of a task that ended as `status` at `at` (ms, its finishedAt). */
export const endedMember = (status: EndedStatus, queue: string, at: string | number, taskId: string): string =>
  endedPrefix(status, queue) + endedPlace(at, taskId);

/** A member read back; null for one not of this shape. */
export function parseEndedMember(member: string): { status: string; queue: string; at: string; taskId: string } | null {
  const head = /^([a-z]+):(\d+):/.exec(member);
  if (!head) return null;
  // The queue is counted in bytes: read it from the bytes, not the characters.
  const rest = Buffer.from(member.slice(head[0].length));
  const bytes = Number(head[2]);
  const tail = /^:(\d{15}):([^]*)$/.exec(rest.subarray(bytes).toString());
  if (!tail) return null;
  return { status: head[1]!, queue: rest.subarray(0, bytes).toString(), at: String(Number(tail[1])), taskId: tail[2]! };
}

/** A list cursor (endedPlace's form), checked. */
export const ENDED_CURSOR = /^\d{15}:[^]+$/;
