import type { ReadContext } from '../context/read-context.js';

/** How long a TaskQueue trusts its copy of the pinned queues before it reads them again. */
export const PIN_REFRESH_MS = 1000;

/** The namespace-wide set of pinned queues: those with a cap or a rate limit, which live in one partition. */
export function pinsKey(ctx: ReadContext): string {
  return `{${ctx.layout[0]!.tag}}:pinned`;
}

/**
 * A TaskQueue's copy of the pinned queues (§20). Enqueues route a pinned queue's tasks to its home
 * partition; another instance's pin is seen within PIN_REFRESH_MS.
 */
export class PinBook {
  private pins = new Set<string>();
  private readAt = -Infinity;
  private reading: Promise<ReadonlySet<string>> | undefined;

  constructor(private readonly ctx: ReadContext) {}

  /** The pinned queues, read again when the copy is older than PIN_REFRESH_MS; undefined when it is fresh. */
  refresh(): Promise<ReadonlySet<string>> | undefined {
    if (performance.now() - this.readAt < PIN_REFRESH_MS) return undefined;
    this.reading ??= this.ctx.redis.smembers(pinsKey(this.ctx)).then(
      (members) => {
        this.pins = new Set(members);
        this.readAt = performance.now();
        this.reading = undefined;
        return this.pins;
      },
      (err: unknown) => {
        this.reading = undefined;
        throw err;
      },
    );
    return this.reading;
  }

  has(queue: string): boolean {
    return this.pins.has(queue);
  }

  /** This instance pinned a queue: known at once, not after the next read. */
  add(queue: string): void {
    this.pins.add(queue);
  }
}
