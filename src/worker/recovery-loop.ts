import type { ReadContext } from '../context/read-context.js';
import { recover } from './recovery.js';

/**
 * Runs a recovery pass every `intervalMs` in the background (each instance tries; a lock lets one pass run
 * at a time). A failed pass is reported through the lifecycle (TaskQueue's 'error' event); the next one
 * tries again.
 */
export class RecoveryLoop {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ctx: ReadContext,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    if (this.intervalMs <= 0 || this.timer) return;
    this.timer = setInterval(() => {
      // Tracked, so that closing waits for a pass in flight.
      this.ctx.life.track(this.pass().catch((err: unknown) => this.ctx.life.report(err)));
    }, this.intervalMs);
    // Recovery alone never keeps a process alive.
    this.timer.unref();
  }

  /** Stops the timer (a pass in flight is tracked by the lifecycle, whose drain() waits for it). */
  stop(): void {
    clearInterval(this.timer);
  }

  private async pass(): Promise<void> {
    if (this.ctx.life.closed) return;
    await this.ctx.life.whenOpen();
    await recover(this.ctx, this.intervalMs);
  }
}
