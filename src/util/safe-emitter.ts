type Listener<A extends unknown[]> = (...args: A) => unknown;

/**
 * A typed event emitter whose listeners cannot hurt the emitter: a listener that throws (or rejects) is
 * reported on 'error', and an 'error' listener that throws is ignored. The worker loop never sees either.
 */
export class SafeEmitter<Events extends { [K in keyof Events]: unknown[] }> {
  private readonly listeners = new Map<keyof Events, Set<Listener<never>>>();

  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener);
    return this;
  }

  once<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    const wrapped = (...args: Events[K]) => {
      this.off(event, wrapped);
      return listener(...args);
    };
    return this.on(event, wrapped);
  }

  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    this.listeners.get(event)?.delete(listener);
    return this;
  }

  listenerCount(event: keyof Events): number {
    return this.listeners.get(event)?.size ?? 0;
  }

  protected emit<K extends keyof Events>(event: K, ...args: Events[K]): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) {
      try {
        const out = (listener as Listener<Events[K]>)(...args);
        if (out && typeof (out as Promise<unknown>).then === 'function')
          (out as Promise<unknown>).then(undefined, (err: unknown) => this.listenerFailed(event, err));
      } catch (err) {
        this.listenerFailed(event, err);
      }
    }
  }

  private listenerFailed(event: keyof Events, err: unknown): void {
    if (event === 'error') return;
    this.emit('error' as K2<Events>, ...([err] as unknown as Events[K2<Events>]));
  }
}

type K2<Events> = Extract<keyof Events, 'error'> extends never ? keyof Events : Extract<keyof Events, 'error'>;
