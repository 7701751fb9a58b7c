/** A call waiting in a Batcher, with the way to answer it. */
export interface Pending<Item, Result> {
  item: Item;
  resolve: (r: Result) => void;
  reject: (e: unknown) => void;
}

/**
 * Gathers calls made at about the same time (within one turn of the event loop, up to `max`) into one
 * request: 64 workers finishing at once cost one script call, not 64. Each caller still gets its own
 * result or error.
 *
 * With `turns` 2 the batch waits one more turn of the event loop, so that another request about to be sent
 * (a worker's next start) can take it along with `drain()` instead: one round trip for both.
 */
export class Batcher<Item, Result> {
  private pending: Pending<Item, Result>[] = [];
  /** The flush waiting for its turn, if any: cancelled when drain() takes everything first. */
  private timer: NodeJS.Immediate | undefined;

  constructor(
    private readonly send: (items: Item[]) => Promise<(Result | Error)[]>,
    private readonly max = 256,
    private readonly turns: 1 | 2 = 1,
  ) {}

  add(item: Item): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (this.pending.length >= this.max) this.flush();
      else if (!this.timer) {
        const flush = () => this.flush();
        this.timer = this.turns === 1 ? setImmediate(flush) : setImmediate(() => (this.timer = setImmediate(flush)));
      }
    });
  }

  /** Takes the calls waiting now (up to `max`); the caller sends them and answers them with `answerAll`. */
  /** Items waiting to be sent. */
  get size(): number {
    return this.pending.length;
  }

  drain(max = this.max): Pending<Item, Result>[] {
    const taken = this.pending.splice(0, max);
    // Nothing left to flush: a pending turn would only cost the event loop an extra round.
    if (this.pending.length === 0) this.cancel();
    return taken;
  }

  private cancel(): void {
    if (this.timer) clearImmediate(this.timer);
    this.timer = undefined;
  }

  private flush(): void {
    this.cancel();
    const batch = this.pending.splice(0);
    if (batch.length === 0) return;
    answerAll(batch, this.send(batch.map((b) => b.item)));
  }
}

/** Answers each call of a batch with its own result (an Error rejects that call), or all with the request's error. */
export function answerAll<Item, Result>(
  batch: readonly Pending<Item, Result>[],
  results: Promise<readonly (Result | Error)[]>,
): void {
  results.then(
    (rs) =>
      batch.forEach((b, i) => {
        const r = rs[i];
        if (r instanceof Error) b.reject(r);
        else b.resolve(r as Result);
      }),
    (err: unknown) => batch.forEach((b) => b.reject(err)),
  );
}
