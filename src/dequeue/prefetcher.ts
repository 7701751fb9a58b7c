import type { Task } from '../types.js';
import type { Claimed } from './claim.js';
import type { DequeueContext } from './context.js';
import {
  claimReady,
  deadlinesAfter,
  queuesToRead,
  waitForArrivals,
  type EmptyClaim,
  type WaitDeadlines,
} from './round.js';
import { redeliver } from './redeliver.js';
import { start } from './start.js';

/** How often a prefetcher holding entries still looks for due delayed tasks (it does when it claims). */
const DUE_CHECK_MS = 50;

/**
 * What a reader needs to block again without claiming first. After a start that claimed ahead and got
 * nothing, the group had no undelivered entry left, so every entry the group can still hand out comes
 * after the ids seen so far: a claim then would only find nothing (one script call per task at low rates).
 */
interface Resume {
  queues: readonly string[];
  wait: EmptyClaim;
  deadlines: WaitDeadlines;
}

/**
 * A worker's feed: takes batches of tasks and claims the next batch's entries in the same script call as
 * each start, so that a busy worker needs one round trip per batch instead of two. It holds the entries
 * claimed ahead until the next batch (or hands them back), and alone changes them.
 */
export class Prefetcher {
  private claims: Claimed[] = [];
  /** When this prefetcher last claimed, which is where due delayed tasks are found. */
  private dueCheckedAt = 0;
  /** Set after a wake-up whose start found nothing more to claim: the next batch may wait again at once. */
  private resume: Resume | undefined;
  /** The last claim, when it found nothing: what waitForWork() waits on. */
  private empty: { claim: EmptyClaim; deadlines: WaitDeadlines } | undefined;

  constructor(
    private readonly ctx: DequeueContext,
    private readonly named: readonly string[] | undefined,
    private readonly dueCheckMs = DUE_CHECK_MS,
  ) {}

  /** Entries claimed ahead and not started yet. */
  get held(): number {
    return this.claims.length;
  }

  /** Finishes waiting to be sent, which this prefetcher's next start takes along. */
  get finishing(): number {
    return this.ctx.writes.finish.size;
  }

  /**
   * Takes up to `count` started tasks: those claimed ahead first, then fresh ones. When nothing is ready it
   * waits (unless `wait` is false) as dequeue() does, and returns [] for the caller to look again. Entries
   * that waited here longer than half the delivery timeout are handed back first, so recovery never has to.
   */
  async take(count: number, signal: AbortSignal | undefined, wait: boolean): Promise<Task[]> {
    const { ctx } = this;
    const open = ctx.life.whenOpen();
    if (open) await open;
    if (signal?.aborted || ctx.life.closed) return [];
    if (this.claims.length) await this.handBackStale();
    const queues = await queuesToRead(ctx, this.named, signal);
    if (queues.length === 0) return [];
    const resume = wait ? this.resume : undefined;
    if (resume) {
      this.resume = undefined;
      const { dueAt, until } = resume.deadlines;
      const now = performance.now();
      if (resume.queues === queues && !this.claims.length && now < until && (dueAt === null || now < dueAt)) {
        return this.waitAndStart(queues, count, resume.wait, resume.deadlines, signal);
      }
    }
    let claimed: Claimed[];
    // Entries held skip the claim, which is where due delayed tasks are promoted: claim at least every
    // dueCheckMs all the same.
    if (this.claims.length && Date.now() - this.dueCheckedAt < this.dueCheckMs) {
      claimed = this.claims.splice(0, count);
    } else if (ctx.writes.finish.size > 0 && Date.now() - this.dueCheckedAt < this.dueCheckMs) {
      // Finishes waiting to go free their queues' slots: a claim before them would find a capped queue full
      // and wait for them to be sent on their own. A start call takes them along and claims after them.
      const after = await start(ctx, [], { queues, count });
      await redeliver(ctx, after.held);
      claimed = after.next;
      if (claimed.length === 0) return [];
      if (claimed.length > count) this.claims = claimed.splice(count);
    } else {
      this.dueCheckedAt = Date.now();
      const result = await claimReady(ctx, queues, count);
      if (result.kind === 'due') return [];
      // Older entries first; what does not fit this batch is held for the next.
      claimed = [...this.claims.splice(0), ...(result.kind === 'claimed' ? result.claimed : [])];
      this.empty = undefined;
      if (claimed.length === 0 && result.kind === 'empty') {
        if (!wait) this.empty = { claim: result, deadlines: deadlinesAfter(result) };
        return wait ? this.waitAndStart(queues, count, result, deadlinesAfter(result), signal) : [];
      }
      if (claimed.length > count) this.claims = claimed.splice(count);
    }
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the signal can abort and close() can run during the awaits above
    if (signal?.aborted || ctx.life.closed) {
      await redeliver(ctx, claimed);
      return [];
    }
    let started: Awaited<ReturnType<typeof start>>;
    try {
      started = await start(ctx, claimed, { queues, count: Math.max(0, count - this.claims.length) });
    } catch (err) {
      // Nothing started (Redis full, say, refuses the whole call): the entries are still ours to start next time.
      this.claims.unshift(...claimed);
      throw err;
    }
    this.claims.push(...started.next);
    // Held back by their queue's controls (a pause or a lower limit since the claim): held here they would
    // be tried again at once, so they go back to their queue.
    await redeliver(ctx, started.held);
    return started.tasks;
  }

  /**
   * After a take that found nothing and did not wait: waits until an entry arrives on a queue it read (or a
   * delayed task is due, or BLOCK_MS passes). It only reads; the next take claims. Returns at once when the
   * last take found something. One partition's wait of a worker that reads several (partitions/feed.ts).
   */
  async waitForWork(signal: AbortSignal | undefined): Promise<void> {
    const empty = this.empty;
    this.empty = undefined;
    if (empty) await waitForArrivals(this.ctx, empty.claim, empty.deadlines, 1, signal);
  }

  /**
   * Starts up to `count` of the entries held, claiming nothing ahead: a partition a worker no longer owns
   * (partitions/feed.ts) has its last entries run here rather than given back, which would cost a requeue each.
   */
  async drain(count: number, signal: AbortSignal | undefined): Promise<Task[]> {
    const { ctx } = this;
    const claimed = this.claims.splice(0, count);
    if (claimed.length === 0) return [];
    if (signal?.aborted || ctx.life.closed) {
      await redeliver(ctx, claimed);
      return [];
    }
    let started: Awaited<ReturnType<typeof start>>;
    try {
      started = await start(ctx, claimed);
    } catch (err) {
      this.claims.unshift(...claimed);
      throw err;
    }
    await redeliver(ctx, started.held);
    return started.tasks;
  }

  /** Hands every entry held back to its queue (the worker's, when closing or when its slots stay busy). */
  handBack(): Promise<void> {
    return redeliver(this.ctx, this.claims.splice(0));
  }

  private async handBackStale(): Promise<void> {
    const stale = Date.now() - this.ctx.settings.deliveryTimeoutMs / 2;
    const old = this.claims.filter((c) => (c.at ?? Date.now()) < stale);
    if (old.length === 0) return;
    this.claims = this.claims.filter((c) => (c.at ?? Date.now()) >= stale);
    await redeliver(this.ctx, old);
  }

  /**
   * Waits for entries to arrive and starts them in one call, claiming ahead for the next batch. When that
   * claim finds nothing (and no wake entry came), the next batch waits on from the entries seen, within
   * the same deadlines, without claiming first.
   */
  private async waitAndStart(
    queues: readonly string[],
    count: number,
    empty: EmptyClaim,
    deadlines: WaitDeadlines,
    signal: AbortSignal | undefined,
  ): Promise<Task[]> {
    const { ctx } = this;
    const { arrived, lastIds, woken } = await waitForArrivals(ctx, empty, deadlines, count, signal);
    if (arrived.length === 0 || signal?.aborted || ctx.life.closed) return [];
    const ahead = Math.max(0, count - this.claims.length);
    const { tasks, next, held } = await start(ctx, [], { queues, count: ahead }, arrived);
    this.claims.push(...next);
    await redeliver(ctx, held);
    if (ahead > 0 && next.length === 0 && !woken) this.resume = { queues, wait: { ...empty, lastIds }, deadlines };
    return tasks;
  }
}
