import type { TaskEventType } from '../types.js';

/**
 * The fold: how each event changes a task's hash. This table is the single definition. The TypeScript fold
 * (fold.ts) interprets it, and the Lua scripts get it as generated Lua (scripts.ts, includes/fold-apply.lua),
 * so the live projection and a rebuild from the log cannot drift apart.
 *
 * A source is `$name` (the event's field `name`; when the event has no such field the hash field is left
 * as it is), `@at` (the event time in ms, from its stream id), `@id` (the event id itself), or a literal.
 * Every event also sets `updatedAt` to its time and appends its id to `events`.
 */
export interface FoldRule {
  set: ReadonlyArray<readonly [field: string, source: string]>;
  del: readonly string[];
  /** Fields removed only when the event's field `field` equals `equals` (a `requeued` event's reason). */
  delWhen?: { field: string; equals: string; del: readonly string[] };
  /** The event removes the projection (the log keeps the history). */
  drop?: true;
  /**
   * The event's fields become the whole hash (a snapshot: they carry `updatedAt` and, in `events`, the ids
   * of the task's events still in the log); only its own id is appended to `events`.
   */
  replace?: true;
}

/** Events about the namespace, not one task: schedules, compaction's records, and index repairs. */
export type NamespaceEventType =
  'scheduled' | 'unscheduled' | 'expired' | 'compacted' | 'repaired' | 'queue-options' | 'partitioned';

export const FOLD_RULES: Readonly<Record<Exclude<TaskEventType, NamespaceEventType>, FoldRule>> = {
  enqueued: {
    set: [
      ['status', 'waiting'],
      ['queue', '$queue'],
      ['type', '$type'],
      ['spec', '$spec'],
      ['references', '$references'],
      ['maxAttempts', '$maxAttempts'],
      ['attempt', '0'],
      ['readyId', '$readyId'],
      ['runAt', '$runAt'],
      ['backoff', '$backoff'],
      ['timeoutMs', '$timeoutMs'],
      ['scheduledAt', '$scheduledAt'],
      ['priority', '$priority'],
      ['dedupKey', '$dedupKey'],
      ['createdAt', '@at'],
    ],
    del: [],
  },
  started: {
    set: [
      ['status', 'running'],
      ['attempt', '$attempt'],
      ['startedAt', '@at'],
      ['heartbeatAt', '@at'],
      ['lease', '@id'],
    ],
    del: ['readyId'],
  },
  progress: {
    set: [
      ['progress', '$progress'],
      ['heartbeatAt', '@at'],
    ],
    del: [],
  },
  // Format 3: `result` (what the handler returned) and `failure` (the attempt's error, JSON) apart from
  // progress; `lease` = '' when no holder ended the task (recovery, an unfenced call), so a holder that
  // resends its own end can tell it from another's (also on `requeued` and `retrying`). Older events have
  // none of them.
  finished: {
    set: [
      ['status', 'finished'],
      ['progress', '$progress'],
      ['result', '$result'],
      ['lease', '$lease'],
      ['finishedAt', '@at'],
    ],
    del: [],
  },
  failed: {
    set: [
      ['status', 'failed'],
      ['progress', '$progress'],
      ['error', '$failure'],
      ['lease', '$lease'],
      ['finishedAt', '@at'],
    ],
    del: ['readyId'],
  },
  cancelled: {
    set: [
      ['status', 'cancelled'],
      ['finishedAt', '@at'],
    ],
    del: ['readyId', 'runAt'],
  },
  requeued: {
    set: [
      ['status', 'waiting'],
      ['readyId', '$readyId'],
      // '' when no holder put it back (a stall, a retry, an unfenced release): see `finished`.
      ['lease', '$lease'],
      // A release for a RateLimitedError (reason 'rate-limited') gives the start back: the attempt before it.
      ['attempt', '$attempt'],
    ],
    // A failed or cancelled task given another run (reason 'retry') is not finished any more, and its
    // error is the last run's (history() keeps it).
    del: ['finishedAt'],
    delWhen: { field: 'reason', equals: 'retry', del: ['error'] },
  },
  retrying: {
    set: [
      ['status', 'waiting'],
      ['progress', '$progress'],
      // Not `$error`: a format-1/2 retrying event's `error` is the bare message, kept in the log only.
      ['error', '$failure'],
      ['runAt', '$runAt'],
      ['lease', '$lease'],
    ],
    del: [],
  },
  promoted: {
    set: [['readyId', '$readyId']],
    del: ['runAt'],
  },
  // A waiting task's priority changed: it has a new ready entry in its new level's stream (when it was due).
  reprioritized: {
    set: [
      ['priority', '$priority'],
      ['readyId', '$readyId'],
    ],
    del: [],
  },
  // Debounce: a waiting task's spec replaced by a later enqueue with the same dedup key.
  replaced: {
    set: [['spec', '$spec']],
    del: [],
  },
  deleted: { set: [], del: [], drop: true },
  // Written by compaction before it trims a live task's earlier events from the log (src/retention/).
  snapshot: { set: [], del: [], replace: true },
};

/** A JSON string literal is a valid Lua string literal for these ASCII names. */
const luaString = (s: string): string => JSON.stringify(s);

/** Every field a task hash can hold: those the rules set, and the two every event sets. */
// A snapshot sets no field of its own: it carries fields the other rules set.
export const HASH_FIELDS: readonly string[] = [
  ...new Set([...Object.values(FOLD_RULES).flatMap((r) => r.set.map(([field]) => field)), 'updatedAt', 'events']),
];

/**
 * The hash fields a `started` event may leave as they were. start.lua returns only these for each task it
 * starts (the client folds the event into them and has the whole task); the fields the event always sets
 * (from its time, its id or a literal) or removes would only be converted into Lua and back out again,
 * which costs Redis more than the start itself. A field set from one of the event's own fields stays in:
 * an event without that field leaves it unchanged. `events` is left out too: the worker's task does not
 * carry it, and it grows with every event. protocols/start.ts' START_REPLY_FIELDS are these but `attempt`.
 */
export const KEPT_BY_START: readonly string[] = HASH_FIELDS.filter(
  (field) =>
    field !== 'updatedAt' &&
    field !== 'events' &&
    // Only a finished task has a result, and a finished task never waits again (retry refuses it).
    field !== 'result' &&
    !FOLD_RULES.started.set.some(([f, src]) => f === field && !src.startsWith('$')) &&
    !FOLD_RULES.started.del.includes(field),
);

/** Event fields that hold JSON text (decoded in TaskEvent.data); the rest are plain strings. */
export const JSON_FIELDS: ReadonlySet<string> = new Set([
  'spec',
  'progress',
  'references',
  'backoff',
  'counts',
  'retention',
  'result',
  'failure',
  'options',
  'controls',
]);

/** Event fields that hold integers. */
export const INT_FIELDS: ReadonlySet<string> = new Set([
  'attempt',
  'maxAttempts',
  'priority',
  'runAt',
  'timeoutMs',
  'scheduledAt',
  'cutoff',
  'archivedEvents',
  'trimmedEvents',
  'removedTasks',
  'snapshots',
]);
/** Stream fields every event has: the event type and the task id. */
export const EVENT_FIELD = 'event';
export const TASK_FIELD = 'task';
/** Schedule events (`scheduled`, `unscheduled`) name their schedule here instead of a task. */
export const SCHEDULE_FIELD = 'schedule';
/** Events about schedules, not tasks: the task fold passes over them. */
export const SCHEDULE_EVENTS: ReadonlySet<string> = new Set(['scheduled', 'unscheduled']);
/**
 * `expired`: retention removed the projections of the tasks listed in its field `tasks` (space-separated ids),
 * in one step, as `deleted` removes one. `compacted`: a compaction's record (what it trimmed, and the all-time
 * counts of the ended events it trimmed); no projection changes.
 */
export const EXPIRED_EVENT = 'expired';
export const COMPACTED_EVENT = 'compacted';
/**
 * `repaired`: verify's repair or a recovery pass put index entries back in step with a task's hash (field
 * `indexes`, the index names), or `{ns}:counts` with the log (field `counts`, JSON: the values set). The
 * hash itself is unchanged, so the fold passes over it, though it may name the task.
 */
export const REPAIRED_EVENT = 'repaired';
/**
 * `queue-options`: an operator changed a queue's controls (setQueueOptions, pause, resume). Fields: `queue`,
 * `action` (`set`, `pause`, `resume`), `options` (JSON: the queue's whole QueueOptions after the change),
 * `by` (host:pid). `{ns}:controls` holds their fold (src/projections/queue-options.ts).
 */
export const QUEUE_OPTIONS_EVENT = 'queue-options';
/**
 * `partitioned`: an operator moved a namespace of one partition to more (§20), in partition 0's log. Fields:
 * `partitions` (the new count), `from` (1), `by` (host:pid).
 */
export const PARTITIONED_EVENT = 'partitioned';
/** The events that end a task (counted in `{ns}:counts`). */
export const ENDED_EVENTS: ReadonlySet<string> = new Set(['finished', 'failed', 'cancelled']);
/** Events that change no task hash (their `task` field is absent or '', but for `repaired`): the fold passes over them. */
export const NAMESPACE_EVENTS: ReadonlySet<string> = new Set([
  ...SCHEDULE_EVENTS,
  EXPIRED_EVENT,
  COMPACTED_EVENT,
  REPAIRED_EVENT,
  QUEUE_OPTIONS_EVENT,
  PARTITIONED_EVENT,
]);

/**
 * Renders the rules as Lua for includes/fold-apply.lua: `fold_apply(taskKey, eventId, eventTime, eventType, fields, prevEvents)`
 * as straight-line code per event type, so Redis runs the fold without interpreting a table on every event.
 * fields is the event's flat list {name1, value1, ...}; prevEvents is the task's `events` field when the
 * caller read it already (false when absent), or nil.
 */
export function foldRulesAsLua(): string {
  const q = luaString;
  const entries = Object.entries(FOLD_RULES);
  const drops = entries.filter(([, r]) => r.drop).map(([t]) => `etype==${q(t)}`);
  const replaces = entries.filter(([, r]) => r.replace).map(([t]) => `etype==${q(t)}`);
  const branches = entries
    .filter(([, r]) => !r.drop && !r.replace)
    .map(([type, rule]) => {
      // Few fields are read by scanning the list; many through a table by name, made once.
      const byName = rule.set.filter(([, src]) => src.startsWith('$')).length >= 3;
      const body = rule.set.map(([field, src]) => {
        const get = byName ? `m[${q(src.slice(1))}]` : `fold_field(f,${q(src.slice(1))})`;
        if (src.startsWith('$')) return `v=${get} if v then a[n+1]=${q(field)} a[n+2]=v n=n+2 end`;
        const value = src === '@at' ? 'at' : src === '@id' ? 'id' : q(src);
        return `a[n+1]=${q(field)} a[n+2]=${value} n=n+2`;
      });
      // Made with a slot for each name it will hold, so filling it never rehashes (false: not in the event).
      const names = rule.set.filter(([, src]) => src.startsWith('$')).map(([, src]) => `[${q(src.slice(1))}]=false`);
      const map = byName ? `local m={${names.join(',')}} for i=1,#f,2 do m[f[i]]=f[i+1] end ` : '';
      return `if etype==${q(type)} then ${map}${body.join(' ')}`;
    });
  // Each event sets its fields, then updatedAt and events.
  const slots = Math.max(...entries.map(([, r]) => 2 * r.set.length + 4));
  const dels = entries
    .filter(([, r]) => !r.drop && !r.replace && (r.del.length || r.delWhen))
    .map(([type, rule]) => {
      const always = rule.del.length ? `redis.call('HDEL',k,${rule.del.map(q).join(',')}) ` : '';
      const when = rule.delWhen
        ? `if fold_field(f,${q(rule.delWhen.field)})==${q(rule.delWhen.equals)} then redis.call('HDEL',k,${rule.delWhen.del.map(q).join(',')}) end `
        : '';
      return `if etype==${q(type)} then ${always}${when}end`;
    });
  return [
    // The last value of a field wins, as in the TypeScript fold (pairsToObject).
    'local function fold_field(f,name) local v=nil for i=1,#f,2 do if f[i]==name then v=f[i+1] end end return v end',
    // One HSET list for every event of the call, made at the size the largest event needs (a table grown
    // one pair at a time is rehashed at each power of two, and one made per event is more for Lua's GC).
    // unpack() reads only the first n+4 slots, so what an earlier event left beyond them is never sent.
    `local FOLD_SCRATCH={${Array(slots).fill('0').join(',')}}`,
    'local function fold_apply(k,id,at,etype,f,prev)',
    `  if ${drops.join(' or ')} then redis.call('DEL',k) return end`,
    // A snapshot's fields are the whole hash; its own id goes after the ids it carries.
    `  if ${replaces.join(' or ')} then redis.call('DEL',k) redis.call('HSET',k,unpack(f)) ` +
      "local ev=fold_field(f,'events') redis.call('HSET',k,'events',ev and (ev..' '..id) or id) return end",
    "  if prev==nil then prev=redis.call('HGET',k,'events') end",
    '  local a,n,v=FOLD_SCRATCH,0,nil',
    `  ${branches.join('\n  else')}`,
    "  else error('unknown event type '..etype) end",
    "  a[n+1]='updatedAt' a[n+2]=at a[n+3]='events' a[n+4]=prev and (prev..' '..id) or id",
    "  redis.call('HSET',k,unpack(a,1,n+4))",
    ...dels.map((d) => `  ${d}`),
    'end',
    '',
  ].join('\n');
}
