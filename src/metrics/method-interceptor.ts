import { TaskLedgerError } from '../errors.js';

export type AnyFn = (...args: never[]) => Promise<unknown>;
export type Wrap = (orig: AnyFn, args: unknown[]) => Promise<unknown>;

/** A proxy of `target` whose listed methods go through `wrap`; everything else is the target's own. */
export function intercept<T extends object>(target: T, wrap: Record<string, Wrap>): T {
  return new Proxy(target, {
    get(obj, prop, receiver) {
      const value = Reflect.get(obj, prop, receiver) as unknown;
      const w = typeof prop === 'string' ? wrap[prop] : undefined;
      if (typeof value !== 'function') return value;
      const bound = (value as AnyFn).bind(obj);
      return w ? (...args: unknown[]) => w(bound, args) : bound;
    },
  });
}

/** The label value for an error: its stable code, bounded (anything foreign is ERR_UNKNOWN). */
export const codeOf = (err: unknown): string => (err instanceof TaskLedgerError ? err.code : 'ERR_UNKNOWN');
