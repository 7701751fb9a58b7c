import type { JsonValue } from '../types.js';

export interface TaskContext {
  /** Aborts when the task is cancelled, its lease is lost, its deadline passes, or the worker closes. */
  signal: AbortSignal;
  /**
   * Records progress: sent at most once per progressThrottleMs, and the last value is never lost. A function
   * property, not a method: it works destructured (`async (task, { progress }) => ...`).
   */
  progress: (progress: JsonValue) => Promise<void>;
}

/**
 * A handler's TaskContext. A class: V8 makes an object literal with a getter on its slow path, and one is
 * made per task. `progress` is an own property, so that it also works destructured.
 */
export class HandlerContext implements TaskContext {
  // A private field, not a TypeScript-private property: a handler sees only `signal` and `progress`.
  readonly #controller: LazyAbort;

  constructor(
    controller: LazyAbort,
    readonly progress: (progress: JsonValue) => Promise<void>,
  ) {
    this.#controller = controller;
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }
}

/** An AbortController made when the handler first reads its signal: most handlers never do. */
export class LazyAbort {
  private controller: AbortController | undefined;
  private reason: unknown;
  aborted = false;

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
  }
}
