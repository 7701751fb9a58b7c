import type { ReadContext } from './read-context.js';

/**
 * Runs a background pass every `intervalMs` (recovery, compaction): unref'd, so it never keeps a process
 * alive; tracked by the lifecycle, so closing waits for a pass in flight; never two at once from one
 * timer; a failure reported through the lifecycle (TaskQueue's 'error' event), and the next pass tries
 * again. 0 means no timer.
 */
export class PeriodicPass {
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly ctx: ReadContext,
    private readonly intervalMs: number,
    private readonly pass: () => Promise<void>,
  ) {}

  start(): void {
    if (this.intervalMs <= 0 || this.timer) return;
    this.timer = setInterval(() => {
      if (this.running || this.ctx.life.closed) return;
      this.running = true;
      const pass = (async () => {
        await this.ctx.life.whenOpen();
        await this.pass();
      })()
        .catch((err: unknown) => this.ctx.life.report(err))
        .finally(() => (this.running = false));
      this.ctx.life.track(pass);
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Stops the timer (a pass in flight is tracked by the lifecycle, whose drain() waits for it). */
  stop(): void {
    clearInterval(this.timer);
  }
}
