import type { ReadContext } from '../context/read-context.js';

/** Longest single blocking wait; also how often "any queue" looks for queues that appeared meanwhile. */
export const BLOCK_MS = 1000;

/** Which queues a reader visits, and in what order: a rotating start, so that no queue starves the others. */
export class QueueRotation {
  private turn = 0;
  /** The namespace's queues as last read, for readers of any queue. */
  private list: { at: number; names: string[] } | undefined;

  /** The queues in the order to visit them this time. */
  rotate(queues: readonly string[]): string[] {
    const shift = this.turn++ % queues.length;
    return [...queues.slice(shift), ...queues.slice(0, shift)];
  }

  /**
   * Every queue of the namespace, for readers of any queue: read at most once per BLOCK_MS, not on every
   * batch (a new queue is noticed within that time). The same array comes back until it is read again.
   */
  async known(ctx: ReadContext): Promise<string[]> {
    const now = Date.now();
    if (!this.list || now - this.list.at > BLOCK_MS)
      this.list = { at: now, names: await ctx.redis.smembers(ctx.keys.queues) };
    return this.list.names;
  }
}
