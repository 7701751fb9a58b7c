import { monotonicFactory } from 'ulid';
import { GROUP } from '../keys.js';
import { enter, type Context } from '../context.js';
import { validateRequest, type ValidRequest } from '../validation.js';
import type { EnqueueRequest } from '../types.js';

/**
 * Monotonic ULIDs: ids made in the same millisecond still sort in creation order, and after the first the
 * random part is incremented instead of drawn again (a fresh draw per id cost ~70 µs).
 */
const ulid = monotonicFactory();

/** Tasks per enqueue script call: bounds how long one call holds Redis. */
const CHUNK = 500;

/**
 * Enqueues tasks in one round trip per batch (a pipeline of script calls of up to CHUNK tasks each, each
 * call atomic). Every request is validated before anything is sent, so a bad request stores nothing of the
 * batch. Ids are made here, so a call retried with the same ids (EnqueueRequest.id) is idempotent.
 */
export async function enqueueMany(ctx: Context, requests: readonly EnqueueRequest[]): Promise<string[]> {
  const valid = requests.map((r, i) => {
    const v = validateRequest(r, requests.length > 1 ? i : undefined);
    ctx.definitions.get(v.type)?.parse(r.spec);
    return v;
  });
  await enter(ctx);
  const ids = valid.map((v) => v.id ?? ulid());
  if (valid.length === 0) return ids;
  const pipeline = ctx.redis.pipeline();
  for (let start = 0; start < valid.length; start += CHUNK) {
    const { keys, args } = scriptArgs(ctx, valid.slice(start, start + CHUNK), ids.slice(start, start + CHUNK));
    (pipeline as unknown as Record<string, (...a: (string | number)[]) => unknown>).tl_enqueue!(keys.length, ...keys, ...args);
  }
  const results = await pipeline.exec();
  for (const [err] of results ?? []) if (err) throw err;
  return ids;
}

function scriptArgs(ctx: Context, batch: ValidRequest[], ids: string[]): { keys: string[]; args: (string | number)[] } {
  const k = ctx.keys;
  const keys = [k.events, k.queues, k.wake];
  const args: (string | number)[] = [GROUP, batch.length];
  batch.forEach((r, i) => {
    const refs = Object.entries(r.references);
    keys.push(k.task(ids[i]!), k.ready(r.queue), k.delayed(r.queue), ...refs.map(([n, v]) => k.reference(n, v)));
    const opt = (v: string | number | undefined) => (v === undefined ? '' : v);
    args.push(ids[i]!, r.queue, r.type, r.specJson, r.referencesJson, r.maxAttempts ?? ctx.maxAttempts);
    args.push(opt(r.delayMs), opt(r.runAt), opt(r.backoffJson), opt(r.timeoutMs), refs.length);
  });
  return { keys, args };
}
