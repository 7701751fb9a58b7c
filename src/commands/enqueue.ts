import { newId } from '../util/ids.js';
import { ValidationError } from '../errors.js';
import { validateRequest, type ValidRequest } from '../validation.js';
import type { EnqueueRequest } from '../types.js';
import type { WriteContext } from './context.js';
import { enqueueDeduplicated } from './dedup.js';

/**
 * Enqueues tasks. Every request is validated before anything is sent, so a bad request stores nothing of
 * the batch. Requests made at about the same time (one enqueueMany, or many concurrent enqueue calls) go
 * to Redis together, up to 32 tasks per script call, each call atomic, all written at once: one round
 * trip. Ids are made here, so a call retried with the same ids (EnqueueRequest.id) is idempotent.
 */
export async function enqueueMany(
  ctx: WriteContext,
  requests: readonly EnqueueRequest[],
  /** A time (ms) the tasks' `enqueued` events must sort after: the newest event the caller saw (§20). */
  floor?: number,
): Promise<string[]> {
  return enqueueValid(ctx, validateEnqueues(ctx, requests), floor);
}

/** Checks every request (and its spec against its type's schema, when declared): the public boundary. */
export function validateEnqueues(
  ctx: Pick<WriteContext, 'settings' | 'definitions'>,
  requests: readonly EnqueueRequest[],
): ValidRequest[] {
  const given: unknown = requests; // a JavaScript caller can pass anything
  if (!Array.isArray(given)) throw new ValidationError('enqueueMany takes an array of enqueue requests');
  const maxBytes = ctx.settings.maxPayloadBytes;
  return requests.map((r, i) => {
    const v = validateRequest(r, requests.length > 1 ? i : undefined, maxBytes);
    ctx.definitions.get(v.type)?.parse(r.spec);
    return v;
  });
}

/** Enqueues requests validateEnqueues checked (a partitioned queue routes them first, §20). */
export async function enqueueValid(
  ctx: WriteContext,
  valid: readonly ValidRequest[],
  floor?: number,
): Promise<string[]> {
  const wait = ctx.life.whenOpen();
  if (wait) await wait;
  const ids = valid.map((v) => v.id ?? newId());
  const maxAttempts = ctx.settings.maxAttempts;
  const batched: Promise<number>[] = [];
  valid.forEach((request, i) => {
    if (!request.dedup)
      batched.push(
        ctx.writes.enqueue.add({
          id: ids[i]!,
          request,
          maxAttempts: request.maxAttempts ?? maxAttempts,
          ...(floor !== undefined ? { floor } : {}),
        }),
      );
  });
  await Promise.all(batched);
  // Requests with a dedup key one at a time, in order: a later one with the same key finds the earlier.
  for (const [i, request] of valid.entries()) {
    if (request.dedup)
      ids[i] = await enqueueDeduplicated(
        ctx,
        ids[i]!,
        { ...request, dedup: request.dedup },
        request.maxAttempts ?? maxAttempts,
      );
  }
  return ids;
}
