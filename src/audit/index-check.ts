import type { ReadContext } from '../context/read-context.js';
import { ENDED_STATUSES, type EndedStatus } from '../redis/keys.js';
import type { ProjectionHash } from '../events/fold.js';
import { ENDED_EVENTS } from '../events/fold-rules.js';
import { entryToRawEvent, type StreamEntry } from '../events/codec.js';
import { scanKeys, prefixPattern } from '../redis/scan.js';
import { isProjectedControl } from '../projections/queue-options.js';
import { lostReadyEntries } from '../projections/ready-entries.js';
import { referenceKeys } from './repair.js';
import { endedMember, parseEndedMember } from '../projections/ended-index.js';

/** An index that verify checks against the fold of the log. */
export type IndexName = 'ready' | 'delayed' | 'running' | 'ended' | 'reference' | 'counts' | 'controls';

/** One index entry out of step with the log. */
export interface IndexMismatch {
  index: IndexName;
  /** The task concerned; '' for `counts`. */
  taskId: string;
  /**
   * `missing`: the index lacks an entry the task needs. `stray`: it has one the task should not have.
   * `wrong`: the entry is there but wrong (a score, a count, or a ready entry delivered and no longer pending).
   */
  problem: 'missing' | 'stray' | 'wrong';
  /** The key of the index (for `counts`, the field `<status>:<queue>`). */
  key: string;
  /** What is wrong, in words (the same line is in `mismatches`). */
  detail: string;
}

/** What verify read of the indexes; read after the hashes, before the log's tail. */
export interface IndexState {
  running: Map<string, string>;
  /** id -> [queue, score] of each delayed set holding it. */
  delayed: Map<string, [string, string][]>;
  /** task id -> its members in the ended index (one, for an ended task). */
  endedIndex: Map<string, string[]>;
  /** task id -> the reference sets holding it. */
  references: Map<string, Set<string>>;
  /** Waiting, due tasks (by the fold) whose ready entry no reader will get. */
  lostReady: Map<string, 'missing' | 'delivered'>;
  /** `{ns}:counts` less the ended events after the fold's end, read with it in one transaction. */
  counts: Map<string, number>;
  /** `{ns}:counts` as read, and the ended events after the fold's end by field (for the repair). */
  countsRead: { live: Record<string, string>; tail: Map<string, number> };
}

export async function readIndexes(
  ctx: ReadContext,
  folded: Map<string, ProjectionHash>,
  end: string,
): Promise<IndexState> {
  const k = ctx.keys;
  const running = new Map<string, string>();
  const flatRunning = await ctx.redis.zrange(k.running, 0, -1, 'WITHSCORES');
  for (let i = 0; i < flatRunning.length; i += 2) running.set(flatRunning[i]!, flatRunning[i + 1]!);
  const delayed = new Map<string, [string, string][]>();
  for (const queue of await ctx.redis.smembers(k.queues)) {
    const flat = await ctx.redis.zrange(k.delayed(queue), 0, -1, 'WITHSCORES');
    for (let i = 0; i < flat.length; i += 2) {
      const id = flat[i]!;
      delayed.set(id, [...(delayed.get(id) ?? []), [queue, flat[i + 1]!]]);
    }
  }
  const endedIndex = new Map<string, string[]>();
  for (const member of await ctx.redis.zrange(k.endedIndex, 0, -1)) {
    const id = parseEndedMember(member)?.taskId ?? member;
    endedIndex.set(id, [...(endedIndex.get(id) ?? []), member]);
  }
  const references = new Map<string, Set<string>>();
  for await (const keys of scanKeys(ctx.redis, prefixPattern(k.referencePrefix))) {
    const p = ctx.redis.pipeline();
    for (const key of keys) p.smembers(key);
    ((await p.exec()) ?? []).forEach(([err, members], i) => {
      if (err) throw err;
      for (const id of members as string[]) references.set(id, (references.get(id) ?? new Set()).add(keys[i]!));
    });
  }
  const due = [...folded]
    .filter(([, f]) => f.status === 'waiting' && f.runAt === undefined)
    .map(([id, f]) => ({ id, queue: f.queue ?? '', priority: Number(f.priority ?? 0), readyId: f.readyId }));
  const lostReady = await lostReadyEntries(ctx, due);
  const countsRead = await readCounts(ctx, end);
  const counts = new Map(Object.entries(countsRead.live).map(([f, v]) => [f, Number(v)]));
  for (const [field, n] of countsRead.tail) counts.set(field, (counts.get(field) ?? 0) - n);
  return { running, delayed, endedIndex, references, lostReady, counts, countsRead };
}

/** `{ns}:counts` with the ended events after the fold's end, read in one transaction so they agree. */
async function readCounts(ctx: ReadContext, end: string): Promise<IndexState['countsRead']> {
  const [[, live], [, tail]] = (await ctx.redis
    .multi()
    .hgetall(ctx.keys.counts)
    .xrange(ctx.keys.events, end === '0-0' ? '-' : `(${end}`, '+')
    .exec()) as [[null, Record<string, string>], [null, StreamEntry[]]];
  const ended = new Map<string, number>();
  for (const entry of tail) {
    const e = entryToRawEvent(entry);
    const queue = e.fields.queue;
    if (!ENDED_EVENTS.has(e.type) || queue === undefined) continue;
    const field = `${e.type}:${queue}`;
    ended.set(field, (ended.get(field) ?? 0) + 1);
  }
  return { live, tail: ended };
}

/** Every index entry of one task checked against its folded hash (null: the log has no such task). */
export function checkTaskIndexes(
  ctx: ReadContext,
  id: string,
  f: ProjectionHash | null,
  state: IndexState,
): IndexMismatch[] {
  const k = ctx.keys;
  const out: IndexMismatch[] = [];
  const add = (index: IndexName, problem: IndexMismatch['problem'], key: string, detail: string) =>
    out.push({ index, taskId: id, problem, key, detail: `${id}: ${detail}` });

  const isRunning = f?.status === 'running';
  if (isRunning !== state.running.has(id))
    add(
      'running',
      isRunning ? 'missing' : 'stray',
      k.running,
      `running index ${state.running.has(id) ? 'has' : 'lacks'} a ${f?.status ?? 'missing'} task`,
    );

  const due = f?.status === 'waiting' && f.runAt !== undefined ? f.runAt : undefined;
  const queue = f?.queue ?? '';
  for (const [q, score] of state.delayed.get(id) ?? []) {
    if (due === undefined || q !== queue) add('delayed', 'stray', k.delayed(q), `delayed index has the task`);
    else if (score !== due)
      add('delayed', 'wrong', k.delayed(q), `delayed index has the task at ${score}, due at ${due}`);
  }
  if (due !== undefined && !(state.delayed.get(id) ?? []).some(([q]) => q === queue))
    add('delayed', 'missing', k.delayed(queue), `delayed index lacks the task`);

  const endedAs = f && ENDED_STATUSES.includes(f.status as EndedStatus) ? f.status : undefined;
  const members = state.endedIndex.get(id) ?? [];
  const member =
    endedAs && f?.queue !== undefined && f.finishedAt
      ? endedMember(endedAs as EndedStatus, f.queue, f.finishedAt, id)
      : undefined;
  if (member !== undefined && !members.includes(member))
    add('ended', 'missing', k.endedIndex, `ended index lacks ${member}`);
  for (const m of members)
    if (m !== member) add('ended', 'stray', k.endedIndex, `ended index has ${m} for a ${f?.status ?? 'missing'} task`);

  const lost = state.lostReady.get(id);
  if (f && lost)
    add(
      'ready',
      lost === 'missing' ? 'missing' : 'wrong',
      k.ready(queue, Number(f.priority ?? 0)),
      lost === 'missing'
        ? `ready index lacks the waiting task's entry ${f.readyId ?? '(none named)'}`
        : `ready entry ${f.readyId ?? ''} was delivered and is not pending: no reader will get it`,
    );

  const own = f ? referenceKeys(ctx, f) : [];
  const holding = state.references.get(id);
  for (const key of own)
    if (!holding?.has(key)) add('reference', 'missing', key, `reference set ${key} lacks the task`);
  for (const key of holding ?? [])
    if (!own.includes(key))
      add(
        'reference',
        'stray',
        key,
        `reference set ${key} has a task that ${f ? 'does not carry it' : 'is not in the log'}`,
      );
  return out;
}

/** `{ns}:counts` (as at the fold's end) against the log's counts. */
export function checkCounts(expected: Map<string, number>, live: Map<string, number>): IndexMismatch[] {
  const out: IndexMismatch[] = [];
  for (const field of new Set([...expected.keys(), ...live.keys()])) {
    const want = expected.get(field) ?? 0;
    const have = live.get(field) ?? 0;
    if (want !== have)
      out.push({
        index: 'counts',
        taskId: '',
        problem: 'wrong',
        key: field,
        detail: `counts ${field} is ${have} live but ${want} in the log`,
      });
  }
  return out;
}

/**
 * The controls hash against the log: each queue's running count (0 and absent alike) and options. A
 * RateLimitedError's hold is not a projection and is not compared.
 */
export function checkControls(live: Record<string, string>, expected: ReadonlyMap<string, string>): IndexMismatch[] {
  const out: IndexMismatch[] = [];
  const norm = (field: string, v: string | undefined) => (field.startsWith('active:') && v === '0' ? undefined : v);
  const fields = new Set([...Object.keys(live).filter(isProjectedControl), ...expected.keys()]);
  for (const field of [...fields].sort()) {
    const have = norm(field, live[field]);
    const want = norm(field, expected.get(field));
    if (have !== want)
      out.push({
        index: 'controls',
        taskId: '',
        problem: have === undefined ? 'missing' : want === undefined ? 'stray' : 'wrong',
        key: field,
        detail: `controls ${field} is ${have ?? '(none)'} live but ${want ?? '(none)'} in the log`,
      });
  }
  return out;
}

/** Ids any index names (verify checks them too: an entry of a task nobody knows is stray). */
export function indexedIds(state: IndexState): Set<string> {
  return new Set([
    ...state.running.keys(),
    ...state.delayed.keys(),
    ...state.endedIndex.keys(),
    ...state.references.keys(),
  ]);
}
