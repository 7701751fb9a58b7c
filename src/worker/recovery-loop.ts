import type { ReadContext } from '../context/read-context.js';
import { PeriodicPass } from '../context/periodic-pass.js';
import { recover } from './recovery.js';

/** A recovery pass every `intervalMs` in the background (each instance tries; a lock lets one pass run at a time). */
export const recoveryLoop = (ctx: ReadContext, intervalMs: number): PeriodicPass =>
  new PeriodicPass(ctx, intervalMs, async () => {
    await recover(ctx, intervalMs);
  });
