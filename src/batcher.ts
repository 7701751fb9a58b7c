/**
 * Gathers calls made at about the same time (within one turn of the event loop, up to `max`) into one
 * request: 64 workers finishing at once cost one script call, not 64. Each caller still gets its own
 * result or error.
 */
export class Batcher<Item, Result> {
  private pending: { item: Item; resolve: (r: Result) => void; reject: (e: unknown) => void }[] = [];
  private scheduled = false;

  constructor(
    private readonly send: (items: Item[]) => Promise<(Result | Error)[]>,
    private readonly max = 256,
  ) {}

  add(item: Item): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (this.pending.length >= this.max) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.pending.splice(0);
    if (batch.length === 0) return;
    this.send(batch.map((b) => b.item)).then(
      (results) =>
        batch.forEach((b, i) => {
          const r = results[i];
          if (r instanceof Error) b.reject(r);
          else b.resolve(r as Result);
        }),
      (err: unknown) => batch.forEach((b) => b.reject(err)),
    );
  }
}
