/** Resolves after `ms`, or at once when any of the signals aborts (never rejects). */
export function sleep(ms: number, ...signals: (AbortSignal | undefined)[]): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      for (const signal of signals) signal?.removeEventListener('abort', done);
      resolve();
    }
    for (const signal of signals) {
      if (signal?.aborted) {
        done();
        return;
      }
      signal?.addEventListener('abort', done, { once: true });
    }
  });
}
