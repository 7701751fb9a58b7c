import { GROUP } from '../redis/keys.js';
import { scriptPipeline } from '../redis/pipeline.js';
import type { ReadContext } from '../context/read-context.js';
import { validateReferences } from '../validation.js';
import { throwOnCode } from '../errors.js';
import type { References } from '../types.js';
import { unschedule } from './unschedule.js';

const BATCH = 200;

/**
 * Deletes every task that carries all the given references (the seed's ON DELETE CASCADE), whatever its
 * status. Each task goes in its own script call: its ready entry, running entry, reference sets and hash,
 * with a `deleted` event in the log. Schedules carrying all the references are removed too.
 */
export async function deleteByReference(
  ctx: ReadContext,
  refs: References,
): Promise<{ tasks: number; schedules: number }> {
  const valid = validateReferences(refs);
  await ctx.life.whenOpen();
  const k = ctx.keys;
  const refKeys = Object.entries(valid).map(([n, v]) => k.reference(n, v));
  const ids = refKeys.length === 1 ? await ctx.redis.smembers(refKeys[0]!) : await ctx.redis.sinter(...refKeys);
  let tasks = 0;
  for (let i = 0; i < ids.length; i += BATCH) {
    const batch = ids.slice(i, i + BATCH);
    const state = await Promise.all(batch.map((id) => ctx.redis.hmget(k.task(id), 'queue', 'references', 'priority')));
    const pipeline = scriptPipeline(ctx.redis);
    // Per command: the id a delete script is for, or undefined for an index tidy.
    const deletes: (string | undefined)[] = [];
    batch.forEach((id, j) => {
      const [queue, referencesJson, priority] = state[j]!;
      if (queue == null) {
        // A set member whose task is gone: tidy the index.
        for (const key of refKeys) {
          pipeline.commands.srem(key, id);
          deletes.push(undefined);
        }
        return;
      }
      const own = Object.entries(JSON.parse(referencesJson ?? '{}') as References).map(([n, v]) => k.reference(n, v));
      const level = Number(priority ?? 0);
      const keys = [
        k.events,
        k.running,
        k.task(id),
        k.ready(queue, level),
        k.delayed(queue),
        k.endedIndex,
        k.controls,
        k.wake,
        ...own,
      ];
      pipeline.script('delete', keys.length, ...keys, id, GROUP, queue, String(level));
      deletes.push(id);
    });
    (await pipeline.exec()).forEach(([err, deleted], j) => {
      if (err) throw err;
      const id = deletes[j];
      if (id === undefined) return;
      if (Number(deleted) === 1) tasks++;
      else if (Number(deleted) < 0) throwOnCode(Number(deleted), id);
    });
  }
  const scheduleKeys = Object.entries(valid).map(([n, v]) => k.scheduleReference(n, v));
  const scheduleIds =
    scheduleKeys.length === 1 ? await ctx.redis.smembers(scheduleKeys[0]!) : await ctx.redis.sinter(...scheduleKeys);
  let schedules = 0;
  for (const id of scheduleIds) schedules += await unschedule(ctx, id);
  return { tasks, schedules };
}
