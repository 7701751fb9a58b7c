import { Cluster } from 'ioredis';
import type { ReadContext } from '../context/read-context.js';
import type { ProjectionHash } from '../events/fold.js';
import { prefixPattern } from '../redis/scan.js';
import { lostReadyEntries } from '../projections/ready-entries.js';
import { repairTasks, type TaskRepair } from '../audit/repair.js';

/** Task hashes a recovery pass looks at (SCAN COUNT): the sweep's bound per pass. */
export const SWEEP_KEYS = 500;

const FIELDS = ['status', 'queue', 'runAt', 'readyId', 'events', 'references', 'priority'] as const;

/** Where each context's sweep is: the primary (on a cluster) and its SCAN cursor. */
const cursors = new WeakMap<ReadContext, { node: number; cursor: string }>();

/**
 * One step of the sweep for tasks no transition would ever reach: a waiting task whose ready entry is gone
 * (or delivered and not pending), a delayed one missing from its delayed set, a running one missing from the
 * running set. Each step SCANs on from where the last stopped, up to SWEEP_KEYS task hashes, so a namespace
 * of N tasks is covered every N / SWEEP_KEYS passes. It trusts the hash (verify compares it with the log)
 * and fixes through repair-task.lua, which re-checks each task. Returns the tasks repaired.
 */
export async function sweepIndexes(ctx: ReadContext): Promise<number> {
  const k = ctx.keys;
  const nodes = ctx.redis instanceof Cluster ? ctx.redis.nodes('master') : [ctx.redis];
  const at = cursors.get(ctx) ?? { node: 0, cursor: '0' };
  const node = nodes[at.node % nodes.length]!;
  const [next, keys] = await node.scan(at.cursor, 'MATCH', prefixPattern(k.taskPrefix), 'COUNT', SWEEP_KEYS);
  cursors.set(
    ctx,
    next === '0' ? { node: (at.node + 1) % nodes.length, cursor: '0' } : { node: at.node, cursor: next },
  );
  if (keys.length === 0) return 0;

  const ids = keys.map((key) => key.slice(k.taskPrefix.length));
  const read = ctx.redis.pipeline();
  for (const id of ids) read.hmget(k.task(id), ...FIELDS);
  const hashes = new Map<string, ProjectionHash>();
  ((await read.exec()) ?? []).forEach(([err, values], i) => {
    if (err) return;
    const hash: ProjectionHash = {};
    (values as (string | null)[]).forEach((v, j) => v !== null && (hash[FIELDS[j]!] = v));
    if (hash.status) hashes.set(ids[i]!, hash);
  });

  // Scores of the running and delayed tasks in their sets, in one pipeline.
  const scored = [...hashes].filter(([, h]) => h.status === 'running' || (h.status === 'waiting' && h.runAt));
  const scores = ctx.redis.pipeline();
  for (const [id, h] of scored) scores.zscore(h.status === 'running' ? k.running : k.delayed(h.queue ?? ''), id);
  const found = new Set<string>();
  ((await scores.exec()) ?? []).forEach(([err, score], i) => {
    const [id, h] = scored[i]!;
    if (!err && (h.status === 'running' ? score === null : score !== h.runAt)) found.add(id);
  });
  const due = [...hashes]
    .filter(([, h]) => h.status === 'waiting' && !h.runAt)
    .map(([id, h]) => ({ id, queue: h.queue ?? '', priority: Number(h.priority ?? 0), readyId: h.readyId }));
  for (const id of (await lostReadyEntries(ctx, due)).keys()) found.add(id);
  if (found.size === 0) return 0;

  const repairs: TaskRepair[] = [...found].map((id) => {
    const hash = hashes.get(id)!;
    return { id, hash, queue: hash.queue ?? '' };
  });
  return (await repairTasks(ctx, repairs)).fixed.size;
}
