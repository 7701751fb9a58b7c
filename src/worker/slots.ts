/**
 * A worker's concurrency slots: `size` in all, less those running a handler (counted by the worker) and
 * those a reader has reserved while it takes tasks for them. Readers that find none free wait here.
 */
export class Slots {
  private waiters: ((freed: boolean) => void)[] = [];
  private reserved = 0;

  constructor(
    readonly size: number,
    private readonly running: () => number,
  ) {}

  /** Slots neither running a handler nor reserved by a reader taking tasks. */
  free(): number {
    return this.size - this.running() - this.reserved;
  }

  reserve(n: number): void {
    this.reserved += n;
  }

  unreserve(n: number): void {
    this.reserved -= n;
  }

  /** Readers waiting for a slot. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** Resolves true when a slot is freed (wake()), false when `holdMs` passed first. */
  async waitForFree(holdMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const freed = await new Promise<boolean>((res) => {
      this.waiters.push(res);
      timer = setTimeout(this.holdPassed, holdMs, res);
    });
    clearTimeout(timer);
    return freed;
  }

  /** Wakes every waiting reader: a slot was freed (or the worker is closing). */
  wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w(true);
  }

  /** A wait ended by its hold time leaves the waiters: slots may stay busy for hours. */
  private readonly holdPassed = (waiter: (freed: boolean) => void): void => {
    const i = this.waiters.indexOf(waiter);
    if (i >= 0) this.waiters.splice(i, 1);
    waiter(false);
  };
}
