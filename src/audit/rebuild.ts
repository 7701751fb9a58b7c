import { GROUP, type EndedStatus } from '../redis/keys.js';
import { endedMember, parseEndedMember } from '../projections/ended-index.js';
import { scriptPipeline } from '../redis/pipeline.js';
import type { ReadContext } from '../context/read-context.js';
import type { References } from '../types.js';
import type { ProjectionHash } from '../events/fold.js';
import { lastFoldedId, readHashes, scanTaskIds, touchedSince } from '../projections/log-reader.js';
import { foldLog, type FoldProgressOptions } from './fold-log.js';
import { expectedControls, isProjectedControl } from '../projections/queue-options.js';
import { CompactionLock } from '../retention/compaction-lock.js';

const BATCH = 200;

export interface RebuildReport {
  /** Task projections written from the log (and stray hashes removed). */
  tasks: number;
  /** Events folded. */
  events: number;
}

/**
 * Rewrites every task hash and its index entries from a fold of the log (restore.lua, one call per task).
 * A task whose live hash already names a newer event than the fold saw has moved on and is left alone, so
 * rebuild is safe while workers run. A stray hash the log does not know is removed.
 */
export async function rebuild(ctx: ReadContext, options: FoldProgressOptions = {}): Promise<RebuildReport> {
  await ctx.life.whenOpen();
  // No compaction pass trims the log while it is folded (the counts of what a pass trimmed would be lost).
  const lock = await CompactionLock.wait(ctx);
  try {
    return await rebuildLocked(ctx, options);
  } finally {
    await lock.release();
  }
}

async function rebuildLocked(ctx: ReadContext, options: FoldProgressOptions): Promise<RebuildReport> {
  const { folded, end, events, counts, compacted, queueOptions } = await foldLog(ctx, options.onProgress);
  const strays = (await scanTaskIds(ctx)).filter((id) => !folded.has(id));
  const strayHashes = await readHashes(ctx, strays);
  // Tasks with events after the fold's end moved on (a deleted one has no hash to say so): leave them be.
  const moved = await touchedSince(ctx, end);
  const calls: (string | number)[][] = [];
  for (const [id, hash] of folded) {
    if (moved.has(id)) continue;
    const keys = restoreKeys(ctx, id, hash);
    calls.push([
      keys.length,
      ...keys,
      id,
      GROUP,
      ctx.settings.heartbeatTtlMs,
      lastFoldedId(hash) ?? end,
      'put',
      ...Object.entries(hash).flat(),
    ]);
  }
  for (const [id, hash] of strayHashes) {
    if (!hash || moved.has(id)) continue;
    const keys = restoreKeys(ctx, id, hash);
    calls.push([keys.length, ...keys, id, GROUP, ctx.settings.heartbeatTtlMs, end, 'absent']);
  }
  let tasks = 0;
  for (let i = 0; i < calls.length; i += BATCH) {
    const pipeline = scriptPipeline(ctx.redis);
    for (const args of calls.slice(i, i + BATCH)) pipeline.script('restore', ...args);
    for (const [err, wrote] of await pipeline.exec()) {
      if (err) throw err;
      if (Number(wrote) === 1) tasks++;
    }
  }
  await dropStrayMembers(ctx, folded, end);
  // The counts index, recounted from the log (transitions made while rebuild ran are lost from it).
  const c = ctx.redis.multi();
  c.del(ctx.keys.counts);
  if (counts.size) c.hset(ctx.keys.counts, Object.fromEntries(counts));
  // The newest record, for the next pass's counts (an imported log has none noted yet).
  if (compacted) c.hset(ctx.keys.meta, 'compacted', compacted);
  // The queue controls too: running counts and options as the log has them; RateLimitedError holds stay.
  const controls = expectedControls(folded, queueOptions);
  const stale = Object.keys(await ctx.redis.hgetall(ctx.keys.controls)).filter(
    (f) => isProjectedControl(f) && !controls.has(f),
  );
  if (stale.length) c.hdel(ctx.keys.controls, ...stale);
  if (controls.size) c.hset(ctx.keys.controls, Object.fromEntries(controls));
  // And the priority levels in use, so that readers find every level stream the restores wrote to.
  const levels = [...folded.values()].flatMap((h) =>
    Number(h.priority ?? 0) > 0 && h.queue !== undefined ? [`${h.priority ?? 0}:${h.queue}`] : [],
  );
  if (levels.length) c.sadd(ctx.keys.levels, ...new Set(levels));
  await c.exec();
  return { tasks, events };
}

/** restore.lua's keys for one task: the indexes of the task's queue, and its reference sets. */
function restoreKeys(ctx: ReadContext, id: string, hash: ProjectionHash): string[] {
  const k = ctx.keys;
  const queue = hash.queue ?? '';
  const ready = k.ready(queue, Number(hash.priority ?? 0));
  return [k.events, k.running, k.task(id), ready, k.delayed(queue), k.queues, k.endedIndex, ...refKeys(ctx, hash)];
}

function refKeys(ctx: ReadContext, hash: ProjectionHash): string[] {
  let refs: References = {};
  try {
    refs = JSON.parse(hash.references ?? '{}') as References;
  } catch {
    // A damaged field in a stray hash: nothing to tidy by it.
  }
  return Object.entries(refs).map(([n, v]) => ctx.keys.reference(n, v));
}

/**
 * Removes the ended index's members that no task of the fold names (a task gone, or ended at another time
 * or in another status): restore.lua takes out only the member a live hash names. Tasks with events after
 * the fold's end, read after the members, are left alone: their member may be newer than the fold.
 */
async function dropStrayMembers(ctx: ReadContext, folded: Map<string, ProjectionHash>, end: string): Promise<void> {
  const key = ctx.keys.endedIndex;
  const members: string[] = [];
  for (let from = 0; ; from += 10_000) {
    const page = await ctx.redis.zrange(key, from, from + 9_999);
    members.push(...page);
    if (page.length < 10_000) break;
  }
  const moved = await touchedSince(ctx, end);
  const stray = members.filter((m) => {
    const id = parseEndedMember(m)?.taskId;
    if (id !== undefined && moved.has(id)) return false;
    const f = id === undefined ? undefined : folded.get(id);
    return !f?.queue || !f.finishedAt || m !== endedMember(f.status as EndedStatus, f.queue, f.finishedAt, id!);
  });
  for (let i = 0; i < stray.length; i += 1000) await ctx.redis.zrem(key, ...stray.slice(i, i + 1000));
}
