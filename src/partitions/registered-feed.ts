import type { Prefetcher } from '../dequeue/prefetcher.js';
import type { Task } from '../types.js';
import type { Feed } from './feed.js';
import type { WorkerRegistration } from './registry.js';

/**
 * A Worker's feed on a namespace of one partition: the Prefetcher, with the worker's entry in the registry
 * renewed as it reads (at most once per WORKER_BEAT_MS, off the read's path), so that the workers of every
 * namespace are listed with when each was last seen (the dashboard's overview).
 */
export class RegisteredFeed implements Feed {
  constructor(
    private readonly feed: Prefetcher,
    private readonly registration: WorkerRegistration,
  ) {}

  get held(): number {
    return this.feed.held;
  }

  take(count: number, signal: AbortSignal | undefined, wait: boolean): Promise<Task[]> {
    if (this.registration.due) void this.registration.owned();
    return this.feed.take(count, signal, wait);
  }

  handBack(): Promise<void> {
    return this.feed.handBack();
  }

  leave(): Promise<void> {
    return this.registration.leave();
  }
}
