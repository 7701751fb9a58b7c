import type { ReadContext } from '../context/read-context.js';
import { compact, type CompactionReport } from './compact.js';
import type { CompactionConfig } from './options.js';

/**
 * Runs a compaction pass every `intervalMs` in the background. Every instance tries; the lock lets one pass
 * run at a time. A failed pass is reported through the lifecycle (TaskQueue's 'error' event); the next one
 * tries again. A pass still running when the timer fires again is not doubled.
 */
export class CompactionLoop {
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly ctx: ReadContext,
    private readonly config: CompactionConfig,
    private readonly intervalMs: number,
    private readonly onPass: (report: CompactionReport) => void,
  ) {}

  start(): void {
    if (this.intervalMs <= 0 || this.timer) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = true;
      const pass = this.pass()
        .catch((err: unknown) => this.ctx.life.report(err))
        .finally(() => (this.running = false));
      // Tracked, so that closing waits for a pass in flight.
      this.ctx.life.track(pass);
    }, this.intervalMs);
    // Compaction alone never keeps a process alive.
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async pass(): Promise<void> {
    if (this.ctx.life.closed) return;
    await this.ctx.life.whenOpen();
    const report = await compact(this.ctx, this.config);
    if (!report.skipped) this.onPass(report);
  }
}
