import { QueueClosedError, RedisUnavailableError } from '../errors.js';

/**
 * The life of one TaskQueue or Scheduler: the format gate every command passes first, closing, and the
 * work that outlives the call that began it.
 */
export class Lifecycle {
  /** The pending or passed format check; null before the first and after Redis was unreachable. */
  private check: Promise<void> | null = null;
  /** Set once the check has passed: it never needs to run again. */
  private passed = false;
  private closedFlag = false;
  private readonly stopper = new AbortController();
  private readonly background = new Set<Promise<unknown>>();

  /**
   * `checkFormat` is the first round trip: it records or checks the namespace's format version.
   * `onError` hears of failures of work no caller waits for (TaskQueue's 'error' event).
   */
  constructor(
    private readonly checkFormat: () => Promise<void>,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Reports a failure of work no caller waits for. */
  report(err: unknown): void {
    this.onError(err);
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Aborted by close(): ends waits that have no connection to drop (dequeue's pause while no queue exists). */
  get stopSignal(): AbortSignal {
    return this.stopper.signal;
  }

  /**
   * Waits for the format check (tried again while Redis is unreachable). Once it has passed this returns
   * undefined: the calls made for every task then neither make a promise nor wait a turn for one
   * (`const wait = life.whenOpen(); if (wait) await wait;`).
   */
  whenOpen(): Promise<void> | undefined {
    if (this.closedFlag) return Promise.reject(new QueueClosedError());
    if (this.passed) return undefined;
    if (!this.check) {
      const attempt = this.checkFormat();
      this.check = attempt;
      attempt.then(
        () => {
          if (this.check === attempt) this.passed = true;
        },
        (err: unknown) => {
          // An unreachable Redis is not final: the next command checks again. A newer format is final.
          if (err instanceof RedisUnavailableError && this.check === attempt) this.check = null;
        },
      );
    }
    return this.check;
  }

  /** Keeps `work` until it settles, for close() to wait on (its caller handles its rejection). */
  track(work: Promise<unknown>): void {
    this.background.add(work);
    const done = () => this.background.delete(work);
    work.then(done, done);
  }

  /** Refuses new calls and aborts waits on the stop signal. */
  close(): void {
    this.closedFlag = true;
    this.stopper.abort();
  }

  /** Resolves once every tracked piece of work has settled, including work started meanwhile. */
  async drain(): Promise<void> {
    while (this.background.size) await Promise.allSettled(this.background);
  }
}
