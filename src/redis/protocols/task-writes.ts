import type { Keys } from '../keys.js';
import { fixed, fixedKeys, pushHeader, readNamed, record, type LuaConstant } from './lua.js';

/** A finish, fail or heartbeat of one task: its id, the lease sent, the progress JSON if any, and its outcome. */
export interface TaskWrite {
  taskId: string;
  lease: string;
  progress: string | undefined;
  /** A finish's result or a fail's error (JSON), if any; a heartbeat has none. */
  outcome?: string | undefined;
}

/**
 * The protocol of finish.lua, fail.lua and heartbeat.lua: the fixed KEYS, then one task hash per task; the
 * fixed ARGV values (the header), then one record per task, in the order of the hashes. Each script
 * returns a status code per task (includes/codes.lua). start.lua takes finishes along as the same records
 * (protocols/start.ts). The Lua reads the positions from includes/task-writes-protocol.lua, generated from
 * this object.
 */
export const TASK_WRITES = {
  /**
   * One task's values: its id, the lease held (or ''), '1' when progress follows (else '0'), the progress
   * JSON (or ''), the outcome JSON (a finish's result, a fail's error) or '' for none (no JSON text is empty).
   */
  record: ['taskId', 'lease', 'hasProgress', 'progress', 'outcome'],
  /** finish.lua and fail.lua. */
  finish: {
    keys: ['events', 'running', 'counts', 'endedIndex', 'throughput', 'controls', 'wake'],
    header: [],
  },
  heartbeat: { keys: ['events', 'running'], header: ['ttlMs'] },
} as const;

type WriteKeys = Pick<
  Keys,
  'events' | 'running' | 'counts' | 'throughput' | 'task' | 'endedIndex' | 'controls' | 'wake'
>;

/** A script call's KEYS and ARGV. */
export interface ScriptArgs {
  keys: string[];
  args: (string | number)[];
}

/** Appends one task's record (TASK_WRITES.record, in its order) to `args`. */
export function pushWriteArgs(args: (string | number)[], w: TaskWrite): void {
  args.push(w.taskId, w.lease, w.progress === undefined ? '0' : '1', w.progress ?? '', w.outcome ?? '');
}

/** finish.lua's (status 'finished') or fail.lua's ('failed') KEYS and ARGV. */
export function encodeFinish(k: WriteKeys, status: 'finished' | 'failed', writes: readonly TaskWrite[]): ScriptArgs {
  const keys = fixedKeys(k, TASK_WRITES.finish.keys);
  const args: (string | number)[] = [];
  for (const w of writes) {
    keys.push(k.task(w.taskId));
    pushWriteArgs(args, w);
  }
  return { keys, args };
}

/** heartbeat.lua's KEYS and ARGV. */
export function encodeHeartbeat(k: WriteKeys, ttlMs: number, writes: readonly TaskWrite[]): ScriptArgs {
  const keys = fixedKeys(k, TASK_WRITES.heartbeat.keys);
  const args: (string | number)[] = [];
  pushHeader(args, TASK_WRITES.heartbeat.header, { ttlMs });
  for (const w of writes) {
    keys.push(k.task(w.taskId));
    pushWriteArgs(args, w);
  }
  return { keys, args };
}

/** The reply of each of these scripts: a status code per task. */
export const decodeCodes = (reply: unknown): number[] => (reply as (number | string)[]).map(Number);

const FIELD = Object.fromEntries(TASK_WRITES.record.map((f, i) => [f, i])) as Record<
  (typeof TASK_WRITES.record)[number],
  number
>;

/** A write read back from its record at args[at] (round-trip tests, and start.ts' decoder of its arguments). */
export function readWrite(args: readonly (string | number)[], at: number): TaskWrite {
  const hasProgress = String(args[at + FIELD.hasProgress]) === '1';
  const outcome = String(args[at + FIELD.outcome]);
  return {
    taskId: String(args[at + FIELD.taskId]),
    lease: String(args[at + FIELD.lease]),
    progress: hasProgress ? String(args[at + FIELD.progress]) : undefined,
    outcome: outcome === '' ? undefined : outcome,
  };
}

/** The writes of `count` records from args[argFrom], each with its task hash from keys[keyFrom]. */
export function readWrites(
  keys: readonly string[],
  args: readonly (string | number)[],
  keyFrom: number,
  argFrom: number,
  count: number,
) {
  const out: { key: string; write: TaskWrite }[] = [];
  for (let i = 0; i < count; i++)
    out.push({ key: keys[keyFrom + i]!, write: readWrite(args, argFrom + i * TASK_WRITES.record.length) });
  return out;
}

/** encodeFinish's arguments read back (round-trip tests). */
export function decodeFinishArgs({ keys, args }: ScriptArgs) {
  const { finish } = TASK_WRITES;
  const count = keys.length - finish.keys.length;
  return {
    keys: readNamed(keys, finish.keys),
    writes: readWrites(keys, args, finish.keys.length, finish.header.length, count),
  };
}

/** encodeHeartbeat's arguments read back (round-trip tests). */
export function decodeHeartbeatArgs({ keys, args }: ScriptArgs) {
  const { heartbeat } = TASK_WRITES;
  const count = keys.length - heartbeat.keys.length;
  const header = readNamed(args, heartbeat.header);
  return {
    keys: readNamed(keys, heartbeat.keys),
    ttlMs: Number(header.ttlMs),
    writes: readWrites(keys, args, heartbeat.keys.length, heartbeat.header.length, count),
  };
}

/** The constants of includes/task-writes-protocol.lua: WRITE_WIDTH, WRITE_<field>, FINISH_*, HEARTBEAT_*. */
export function taskWritesConstants(): Record<string, LuaConstant> {
  return {
    ...record('WRITE', 'WIDTH', TASK_WRITES.record),
    ...fixed('FINISH', TASK_WRITES.finish),
    ...fixed('HEARTBEAT', TASK_WRITES.heartbeat),
  };
}
