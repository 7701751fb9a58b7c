import type { ReadContext } from '../context/read-context.js';
import { parseLevels } from '../context/queue-streams.js';

/** Longest single blocking wait; also how often "any queue" looks for queues that appeared meanwhile. */
export const BLOCK_MS = 1000;

/** Which queues a reader visits, and in what order: a rotating start, so that no queue starves the others. */
export class QueueRotation {
  private turn = 0;
  /** The namespace's queues as last read, for readers of any queue. */
  private list: { at: number; names: string[] } | undefined;
  /** The priority levels above 0 each queue has used, as last read. */
  private levelList: { at: number; byQueue: Map<string, number[]>; members: number } | undefined;

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

  /**
   * Each queue's ready streams as priority levels, highest first and always ending with 0, from `{ns}:levels`
   * read at most once per BLOCK_MS: a level a queue uses for the first time is seen within that time.
   */
  async levels(ctx: ReadContext, refresh = false): Promise<(queue: string) => readonly number[]> {
    const now = Date.now();
    if (refresh || !this.levelList || now - this.levelList.at > BLOCK_MS) {
      const members = await ctx.redis.smembers(ctx.keys.levels);
      this.levelList = { at: now, byQueue: parseLevels(members), members: members.length };
    }
    const byQueue = this.levelList.byQueue;
    return (queue) => byQueue.get(queue) ?? LEVEL_0;
  }

  /** How many members of `{ns}:levels` the levels last read came from (claim.lua checks it is all of them). */
  get levelsKnown(): number {
    return this.levelList?.members ?? 0;
  }
}

const LEVEL_0: readonly number[] = [0];
