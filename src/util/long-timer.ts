import { ValidationError } from '../errors.js';

/**
 * The longest delay one Node.js timer waits: 2^31 - 1 ms, about 24.8 days. Node fires a longer one after
 * 1 ms (with a warning), so every period and TTL option stops here, and deadlines past it are chained.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** The longest deadline taken (a task's timeoutMs, a close timeout): ten years, as for enqueue's delays. */
export const MAX_DEADLINE_MS = 10 * 365 * 24 * 3600 * 1000;

/**
 * A period or TTL option (a heartbeat TTL, an interval, a connect timeout): an integer from `min` to
 * MAX_TIMER_MS, or its default. The message names the option, the limit and why it is there.
 */
export function timerOption(value: number | undefined, fallback: number, what: string, min: number): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < min || n > MAX_TIMER_MS) {
    throw new ValidationError(
      `${what} must be an integer from ${min} to ${MAX_TIMER_MS} ms (2^31 - 1, the longest a Node.js timer waits), got ${String(value)}`,
    );
  }
  return n;
}

/** A deadline option (a handler timeout, a close timeout): an integer from `min` ms to ten years, or its default. */
export function deadlineOption(value: number | undefined, fallback: number, what: string, min: number): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < min || n > MAX_DEADLINE_MS) {
    throw new ValidationError(
      `${what} must be an integer from ${min} to ${MAX_DEADLINE_MS} ms (ten years), got ${String(value)}`,
    );
  }
  return n;
}

/**
 * Calls `fn` once after `ms`, however long: a delay past MAX_TIMER_MS is waited in steps, each checked
 * against the monotonic clock, so it never fires early. Up to MAX_TIMER_MS it is one plain timer.
 */
export class LongTimer {
  private timer: NodeJS.Timeout | undefined;
  private readonly dueAt: number;
  private unrefd = false;

  /** `stepMs`, the longest single wait, is MAX_TIMER_MS; tests shorten it to see the steps chain. */
  constructor(
    private readonly fn: () => void,
    ms: number,
    private readonly stepMs = MAX_TIMER_MS,
  ) {
    this.dueAt = performance.now() + ms;
    this.timer = setTimeout(ms > stepMs ? this.step : fn, Math.min(ms, stepMs));
  }

  /** Lets the process exit while only this timer is waiting. */
  unref(): this {
    this.unrefd = true;
    this.timer?.unref();
    return this;
  }

  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private readonly step = (): void => {
    const left = this.dueAt - performance.now();
    if (left <= 0) {
      this.timer = undefined;
      this.fn();
      return;
    }
    // Whole milliseconds, rounded up, and checked again when it fires: a Node timer drops the fraction and
    // counts from the event loop's cached time, so a last wait of `left` could end a little early.
    this.timer = setTimeout(this.step, Math.min(Math.ceil(left), this.stepMs));
    if (this.unrefd) this.timer.unref();
  };
}
