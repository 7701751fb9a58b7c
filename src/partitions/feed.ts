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
 * and the partitions are shared among the live workers by rendezvous hashing. It takes from its own
 * partitions in turn (one script call per partition), and waits on them all at once when they are empty.
 * An idle worker claims from one partition it does not own every STEAL_MS, and again at once while that
 * finds work: a dead owner or a hot partition never stalls.
 */
export class PartitionedFeed implements Feed {
  private readonly feeds: Prefetcher[];
  private readonly registration: WorkerRegistration;
  /** The wait in flight per partition: at most one each; a wait ends by itself within BLOCK_MS. */
  private readonly waiting = new Map<number, Promise<void>>();
  private next = 0;
  private nextForeign = 0;
  private stealAt = 0;

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
    const tasks = await this.takeFromPartitions(count, signal, wait);
    this.floor.see(tasks);
    return tasks;
  }

  private async takeFromPartitions(count: number, signal: AbortSignal | undefined, wait: boolean): Promise<Task[]> {
    const owned = await this.registration.owned();
    const tasks: Task[] = [];
    const first = this.next++;
    for (let i = 0; i < owned.length && tasks.length < count; i++) {
      if (signal?.aborted) return tasks;
      const p = owned[(first + i) % owned.length]!;
      tasks.push(...(await this.feeds[p]!.take(count - tasks.length, signal, false)));
    }
    if (tasks.length > 0) return tasks;
    const foreign = this.feeds.flatMap((_, p) => (owned.includes(p) ? [] : [p]));
    if (foreign.length > 0 && performance.now() >= this.stealAt) {
      const p = foreign[this.nextForeign++ % foreign.length]!;
      tasks.push(...(await this.feeds[p]!.take(count, signal, false)));
      // Found work: look again at once; found none: not before STEAL_MS.
      if (tasks.length > 0) return tasks;
      this.stealAt = performance.now() + STEAL_MS;
    }
    if (!wait || signal?.aborted) return tasks;
    await this.waitOn(owned, signal);
    return tasks;
  }

  /** Waits until one of the partitions has an entry (or a wait times out), or the next steal is due. */
  private async waitOn(owned: readonly number[], signal: AbortSignal | undefined): Promise<void> {
    const waits = owned.map((p) => {
      let w = this.waiting.get(p);
      if (!w) {
        w = this.feeds[p]!.waitForWork(signal)
          .catch(() => undefined)
          .finally(() => this.waiting.delete(p));
        this.waiting.set(p, w);
      }
      return w;
    });
    let timer: NodeJS.Timeout | undefined;
    const stealIn = Math.max(0, this.stealAt - performance.now());
    const steal =
      owned.length < this.feeds.length ? [new Promise<void>((res) => (timer = setTimeout(res, stealIn)))] : [];
    await Promise.race([...waits, ...steal]);
    clearTimeout(timer);
  }

  async handBack(): Promise<void> {
    await Promise.all(this.feeds.map((f) => f.handBack()));
  }

  async leave(): Promise<void> {
    await Promise.all(this.waiting.values());
    await this.registration.leave();
  }
}
