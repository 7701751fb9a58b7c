import { randomUUID } from 'node:crypto';
import type { ReadContext } from '../context/read-context.js';
import { sleep } from '../util/sleep.js';
import { CompactionLockLostError } from '../errors.js';

/** How long the lock lives unrenewed; the holder renews it every third of that while it works. */
export const LOCK_MS = 30_000;

/**
 * `{ns}:compaction-lock`: one compaction pass (or rebuild) at a time per namespace. Renewed on a timer for
 * as long as it is held, so a long step never lets it lapse; only a holder that stopped running (killed,
 * frozen for 30 s) loses it. The scripts that trim and record take its token and refuse a stale holder.
 */
export class CompactionLock {
  private lost = false;
  private readonly timer: NodeJS.Timeout;

  private constructor(
    private readonly ctx: ReadContext,
    readonly token: string,
  ) {
    this.timer = setInterval(() => {
      void this.renew();
    }, LOCK_MS / 3);
    this.timer.unref();
  }

  /** The lock, or null when another holds it. */
  static async take(ctx: ReadContext): Promise<CompactionLock | null> {
    const token = randomUUID();
    const ok = await ctx.redis.set(ctx.keys.compactionLock, token, 'PX', LOCK_MS, 'NX');
    return ok === 'OK' ? new CompactionLock(ctx, token) : null;
  }

  /** The lock, waiting (polling) while a pass holds it. */
  static async wait(ctx: ReadContext): Promise<CompactionLock> {
    for (;;) {
      const lock = await CompactionLock.take(ctx);
      if (lock) return lock;
      await sleep(100);
    }
  }

  /** Throws when the lock was lost: the work must stop, a newer holder may be running. */
  check(): void {
    if (this.lost) throw new CompactionLockLostError('this process stalled for 30 s');
  }

  private async renew(): Promise<void> {
    const k = this.ctx.keys.compactionLock;
    try {
      if (Number(await this.ctx.scripts.leaseRenew(k, this.token, LOCK_MS)) !== 1) this.lost = true;
    } catch {
      // Redis unreachable: the next renewal tries again; the fenced scripts refuse a stale holder anyway.
    }
  }

  async release(): Promise<void> {
    clearInterval(this.timer);
    await this.ctx.scripts.leaseRelease(this.ctx.keys.compactionLock, this.token);
  }
}
