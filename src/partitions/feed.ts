import type { DequeueContext } from '../dequeue/context.js';
import { Prefetcher } from '../dequeue/prefetcher.js';
import type { Task } from '../types.js';
import { WorkerRegistration } from './registry.js';
import type { CausalFloor } from './causal-floor.js';

/** What a Worker reads tasks from: one partition's Prefetcher, or a PartitionedFeed over several. */
export interface Feed {
  /** Entries claimed ahead and not started yet. */
  readonly held: number;
  take(count: number, signal: AbortSignal | undefined, wait: boolean): Promise<Task[]>;
  handBack(): Promise<void>;
  /** Called once when the worker closes. */
  leave?(): Promise<void>;
}

/** How often an idle worker claims from a partition it does not own. */
export const STEAL_MS = 1000;

/**
 * A worker's feed over a namespace of several partitions (§20). The worker registers in the namespace,
 * and the partitions are shared among the live workers by rendezvous hashing. Each batch goes whole to one
 * of its own partitions: the one with the most finishes waiting, which its start takes along, else the next
 * in turn (and one passed over for two rounds first). One script call then starts a whole batch and sends a whole batch of finishes, as with one
 * partition (a batch shared among partitions cost half again as much Redis CPU per task). A partition that
 * had nothing is left out until its blocked read sees an entry arrive (or BLOCK_MS passes), so an empty
 * partition costs a blocked read, not a script call per batch. An idle worker claims from one partition it
 * does not own every STEAL_MS, and again at once while that finds work: a dead owner or a hot partition
 * never stalls. Entries claimed ahead in a partition it no longer owns are started, not given back.
 */
export class PartitionedFeed implements Feed {
  private readonly feeds: Prefetcher[];
  private readonly registration: WorkerRegistration;
  /** Partitions whose last take found nothing, each with its wait for an arrival in flight. */
  private readonly idle = new Map<number, Promise<void>>();
  /** Resolves the current take's wait when an idle partition sees work. */
  private wake: (() => void) | undefined;
  private next = 0;
  /** The turn (`next`) at which each partition last got a batch. */
  private readonly pickedAt: number[] = [];
  private nextForeign = 0;
  private stealAt = 0;
  private signal: AbortSignal | undefined;

  constructor(
    parts: readonly DequeueContext[],
    named: readonly string[] | undefined,
    private readonly floor: CausalFloor,
  ) {
    this.feeds = parts.map((p) => new Prefetcher(p, named));
    this.registration = new WorkerRegistration(parts[0]!, parts.length);
  }

  get held(): number {
    return this.feeds.reduce((a, f) => a + f.held, 0);
  }

  async take(count: number, signal: AbortSignal | undefined, wait: boolean): Promise<Task[]> {
    this.signal = signal;
    const tasks = await this.takeFromPartitions(count, signal, wait);
    this.floor.see(tasks);
    return tasks;
  }

  private async takeFromPartitions(count: number, signal: AbortSignal | undefined, wait: boolean): Promise<Task[]> {
    const owned = await this.registration.owned();
    // Entries claimed ahead in a partition this worker does not own (any more, or stolen from) run first,
    // claiming nothing more there: given back, each would cost a requeue.
    const stray = this.feeds.findIndex((f, p) => f.held > 0 && !owned.includes(p));
    if (stray >= 0) {
      const tasks = await this.feeds[stray]!.drain(count, signal);
      if (tasks.length > 0) return tasks;
    }
    const resting = (p: number) => this.idle.has(p);
    const ready = owned.filter((p) => !resting(p));
    if (ready.length > 0) {
      const p = this.pick(ready);
      const tasks = await this.feeds[p]!.take(count, signal, false);
      if (tasks.length === 0 && this.feeds[p]!.held === 0) this.rest(p);
      if (tasks.length > 0) return tasks;
    }
    const foreign = this.feeds.flatMap((_, p) => (owned.includes(p) ? [] : [p]));
    if (foreign.length > 0 && performance.now() >= this.stealAt) {
      const p = foreign[this.nextForeign++ % foreign.length]!;
      const tasks = await this.feeds[p]!.take(count, signal, false);
      // Found work: look again at once; found none: not before STEAL_MS.
      if (tasks.length > 0) return tasks;
      this.stealAt = performance.now() + STEAL_MS;
    }
    if (!wait || signal?.aborted) return [];
    // Every own partition is resting: wait until one sees work, or the next steal is due.
    if (owned.some((p) => !this.idle.has(p))) return [];
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    await new Promise<void>((res) => {
      this.wake = res;
      onAbort = res;
      if (owned.length < this.feeds.length) timer = setTimeout(res, Math.max(0, this.stealAt - performance.now()));
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    this.wake = undefined;
    return [];
  }

  /**
   * The partition a batch goes to: the one with the most finishes waiting (its start takes them along), in
   * turn among equals; but a ready partition passed over for two rounds of its peers goes first, so that a
   * busy partition never starves another with work but no finishes waiting.
   */
  private pick(ready: readonly number[]): number {
    const turn = this.next++;
    const waited = (p: number) => turn - (this.pickedAt[p] ?? -Infinity);
    let best = ready[turn % ready.length]!;
    for (let i = 1; i < ready.length; i++) {
      const p = ready[(turn + i) % ready.length]!;
      if (this.feeds[p]!.finishing > this.feeds[best]!.finishing) best = p;
    }
    const starved = ready.reduce((a, p) => (waited(p) > waited(a) ? p : a));
    if (waited(starved) > 2 * ready.length) best = starved;
    this.pickedAt[best] = turn;
    return best;
  }

  /** Leaves a partition out of the takes until its blocked read sees an entry (or times out). */
  private rest(p: number): void {
    if (this.idle.has(p)) return;
    const waiting = this.feeds[p]!.waitForWork(this.signal)
      .catch(() => undefined)
      .finally(() => {
        this.idle.delete(p);
        this.wake?.();
      });
    this.idle.set(p, waiting);
  }

  async handBack(): Promise<void> {
    await Promise.all(this.feeds.map((f) => f.handBack()));
  }

  /**
   * Leaves the registry. The blocked reads of resting partitions were ended by the worker's signal (their
   * connections dropped); they are not waited for, as a dropped cluster connection may never settle them.
   */
  async leave(): Promise<void> {
    await this.registration.leave();
  }
}
