import { PartitionRouteError } from '../errors.js';
import { idIn, partitionOfId, partitionOfKey } from './routing.js';
import type { PinBook } from './pins.js';

/**
 * Sends each enqueue to a partition (§20). A request that names its place goes there: a pinned queue to its
 * home, a dedup key or a partitionKey where the key routes, a caller-chosen id where the id routes; when
 * two of these disagree the request is refused. Every other request goes to the current sticky partition
 * and gets an id that routes there. The sticky partition moves on after each event-loop turn and after
 * STICKY_BATCH tasks, so the requests of one turn make full batches (one script call each), each in one
 * partition, and the next batch goes to the next partition.
 */
/** Tasks one sticky partition takes before the next: one enqueue script call's worth (ENQUEUE_MAX). */
export const STICKY_BATCH = 32;

/** What routing reads of a request (an EnqueueRequest once validated). */
export interface Routable {
  queue: string;
  id: string | undefined;
  partitionKey: string | undefined;
  dedup: { key: string } | undefined;
}

export class EnqueueRouter {
  private sticky: number;
  private turning = false;
  /** Tasks sent to the sticky partition since it last moved. */
  private filled = 0;

  constructor(
    private readonly partitions: number,
    private readonly pins: PinBook,
  ) {
    // Instances start at different partitions, so that many small producers do not all begin at 0.
    this.sticky = Math.floor(Math.random() * partitions);
  }

  /** The partition of each request, in order, with an id given to each that had none. */
  route<T extends Routable>(requests: readonly T[]): { partition: number; request: T }[] {
    const P = this.partitions;
    const sticky = { used: false };
    const routed = requests.map((request) => {
      const wanted = new Map<number, string>();
      const want = (partition: number, why: string) => {
        if (!wanted.has(partition)) wanted.set(partition, why);
      };
      if (this.pins.has(request.queue)) want(partitionOfKey(request.queue, P), `queue "${request.queue}" is pinned`);
      if (request.dedup) want(partitionOfKey(request.dedup.key, P), `dedup key "${request.dedup.key}"`);
      if (request.partitionKey !== undefined)
        want(partitionOfKey(request.partitionKey, P), `partitionKey "${request.partitionKey}"`);
      if (request.id !== undefined) want(partitionOfId(request.id, P), `id "${request.id}"`);
      if (wanted.size > 1) {
        const reasons = [...wanted].map(([p, why]) => `${why} routes to partition ${p}`).join(', but ');
        throw new PartitionRouteError(`the request cannot go to one partition: ${reasons}`);
      }
      const [named] = wanted.keys();
      if (named !== undefined) {
        return { partition: named, request: request.id === undefined ? { ...request, id: idIn(named, P) } : request };
      }
      sticky.used = true;
      const partition = this.sticky;
      // A full script call's worth sent: the next tasks go on to the next partition at once.
      if (++this.filled >= STICKY_BATCH) this.move();
      return { partition, request: { ...request, id: idIn(partition, P) } };
    });
    if (sticky.used && !this.turning) {
      this.turning = true;
      setImmediate(() => {
        this.turning = false;
        if (this.filled > 0) this.move();
      });
    }
    return routed;
  }

  private move(): void {
    this.sticky = (this.sticky + 1) % this.partitions;
    this.filled = 0;
  }
}
