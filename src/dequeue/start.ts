import { CONSUMER, GROUP } from '../redis/keys.js';
import { answerAll } from '../redis/batcher.js';
import { hashToTask } from '../events/codec.js';
import { foldInto, type ProjectionHash } from '../events/fold.js';
import { START_REPLY_FIELDS } from '../events/fold-rules.js';
import { pushWriteArgs } from '../commands/write-batches.js';
import type { Task } from '../types.js';
import type { Claimed } from './claim.js';
import type { DequeueContext } from './context.js';

export interface ClaimAhead {
  /** Queues to claim the next entries from, in visiting order. */
  queues: readonly string[];
  count: number;
}

/**
 * Starts claimed tasks in one script call, and optionally claims the next entries in the same call (a
 * worker's prefetch). Entries whose task moved on meanwhile are dropped, so fewer tasks may come back than
 * were claimed. This instance remembers each started task's lease. Finishes waiting to be sent go along in
 * the same call, answered as if finish.lua had run them.
 *
 * `arrived` are entries a blocking read saw arrive (not claimed yet): the script claims them through the
 * group and starts those it gets. Entries it claims from their streams whose task it could not start come
 * back in `next` with the prefetched ones.
 */
export async function start(
  ctx: DequeueContext,
  claimed: readonly Claimed[],
  ahead?: ClaimAhead,
  arrived: readonly Claimed[] = [],
): Promise<{ tasks: Task[]; next: Claimed[] }> {
  if (claimed.length === 0 && arrived.length === 0 && !ahead?.count) return { tasks: [], next: [] };
  const finishes = ctx.writes.finish.drain();
  const keys = [ctx.keys.events, ctx.keys.running, ctx.keys.counts, ...finishes.map((f) => ctx.keys.task(f.item.taskId))];
  const args: (string | number)[] = [GROUP, ctx.settings.heartbeatTtlMs, claimed.length, CONSUMER, ahead?.count ?? 0, finishes.length, arrived.length];
  for (const f of finishes) pushWriteArgs(args, f.item);
  // In the script's order: the claimed entries, then the arrived ones.
  const started = claimed.concat(arrived);
  for (const c of started) {
    keys.push(ctx.keys.task(c.taskId), ctx.keys.ready(c.queue));
    args.push(c.taskId, c.entryId);
  }
  const order = ahead?.count ? ctx.rotation.rotate(ahead.queues) : [];
  keys.push(...order.map((q) => ctx.keys.ready(q)));
  // starts is JSON: per task 0 (not started) or [started event id, attempt, ...values of START_REPLY_FIELDS
  // (false when absent)].
  type Reply = [string, (string | number)[], number[], (string | number)[]];
  const reply = ctx.scripts.start(keys.length, ...keys, ...args) as Promise<Reply>;
  answerAll(finishes, reply.then((r) => r[2].map(Number)));
  const [startsJson, claims, , extra] = await reply;
  const starts = JSON.parse(startsJson) as ((string | false)[] | 0)[];
  const tasks: Task[] = [];
  starts.forEach((result, i) => {
    if (result === 0) return;
    const taskId = started[i]!.taskId;
    // The script returns the fields the started event left alone; the event folds into them here as it did in
    // Redis, giving the hash as Redis now holds it (but for `events`, which a Task does not carry).
    const hash: ProjectionHash = {};
    for (let j = 0; j < START_REPLY_FIELDS.length; j++) {
      const value = result[j + 2];
      if (value !== false && value !== undefined) hash[START_REPLY_FIELDS[j]!] = value;
    }
    foldInto(hash, { id: result[0] as string, type: 'started', taskId, fields: { attempt: result[1] as string } });
    const task = hashToTask(taskId, hash);
    ctx.leases.remember(task.id, task.lease!);
    tasks.push(task);
  });
  const next: Claimed[] = [];
  const at = Date.now();
  for (let i = 0; i + 2 < extra.length; i += 3) {
    next.push({ queue: arrived[Number(extra[i]) - 1]!.queue, entryId: String(extra[i + 1]), taskId: String(extra[i + 2]), at });
  }
  for (let i = 0; i + 2 < claims.length; i += 3) {
    next.push({ queue: order[Number(claims[i]) - 1]!, entryId: String(claims[i + 1]), taskId: String(claims[i + 2]), at });
  }
  return { tasks, next };
}
