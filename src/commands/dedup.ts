import { GROUP } from '../redis/keys.js';
import { DedupBusyError } from '../errors.js';
import type { ValidRequest } from '../validation.js';
import type { WriteContext } from './context.js';

/** How long a dedup key held while its task waits or runs lasts at most (dedup-enqueue.lua's DEDUP_MAX_MS). */
export const DEDUP_MAX_MS = 30 * 24 * 60 * 60 * 1000;

/** Tries before giving up when other enqueues keep changing the key between our read and our write. */
const TRIES = 20;

/**
 * Enqueues one request that carries `dedup` (dedup-enqueue.lua): its id, or the id of the task holding the
 * key. The key is read first, so the script can declare its holder's hash; when another enqueue changed it
 * in between, the script says what is there now and the call goes again with that.
 */
export async function enqueueDeduplicated(
  ctx: WriteContext,
  id: string,
  r: ValidRequest & { dedup: NonNullable<ValidRequest['dedup']> },
  maxAttempts: number,
): Promise<string> {
  const k = ctx.keys;
  const dedupKey = k.dedup(r.dedup.key);
  const fields: (string | number)[] = ['queue', r.queue, 'type', r.type, 'spec', r.specJson];
  fields.push('references', r.referencesJson, 'maxAttempts', maxAttempts);
  if (r.backoffJson !== undefined) fields.push('backoff', r.backoffJson);
  if (r.timeoutMs !== undefined) fields.push('timeoutMs', r.timeoutMs);
  if (r.priority) fields.push('priority', r.priority);
  fields.push('dedupKey', r.dedup.key);
  const refKeys = Object.entries(r.references).map(([n, v]) => k.reference(n, v));
  let seen = (await ctx.redis.get(dedupKey)) ?? '';
  for (let attempt = 0; attempt < TRIES; attempt++) {
    const holder = seen === '' ? id : seen.slice(2);
    const [code, value] = (await ctx.scripts.dedupEnqueue(
      9 + refKeys.length,
      k.events,
      k.queues,
      k.wake,
      k.levels,
      k.ready(r.queue, r.priority ?? 0),
      k.delayed(r.queue),
      dedupKey,
      k.task(holder),
      k.task(id),
      ...refKeys,
      GROUP,
      id,
      r.queue,
      seen,
      r.dedup.ttlMs ?? '',
      r.dedup.replace ? '1' : '0',
      r.delayMs ?? '',
      r.runAt ?? '',
      r.priority ? `${r.priority}:${r.queue}` : '',
      r.specJson,
      ...fields,
    )) as [number, string];
    if (code !== -1) return value;
    seen = value;
  }
  throw new DedupBusyError(r.dedup.key, TRIES);
}
