import type { Task } from '../types.js';

/**
 * The newest event time (ms, the primaries' clocks) a TaskQueue has seen in any partition: the start of
 * each task it handed out. Its enqueues pass it as a floor, so that a task enqueued by a handler sorts after
 * the start of the task that enqueued it in the merged replay, even when its partition's clock is behind
 * (§20, causality): a Lamport clock over the partitions' logs.
 */
export class CausalFloor {
  private newest = 0;

  get ms(): number {
    return this.newest;
  }

  see(tasks: readonly Task[]): void {
    for (const t of tasks) {
      const at = t.startedAt ? t.startedAt.getTime() : 0;
      if (at > this.newest) this.newest = at;
    }
  }
}
