import type { ProjectionHash } from '../events/fold.js';
import type { QueueOptions } from '../types.js';

/**
 * The fold of the queue controls: the `{ns}:controls` fields the log implies. Each queue's options are those
 * of its newest `queue-options` event (which carries the whole options), as queue-options-4.lua writes
 * them; `active:<q>` is the number of the queue's tasks in status `running`. `hold:<q>` is not a projection
 * (a RateLimitedError's pause, it only delays) and is left out.
 */
export function expectedControls(
  folded: ReadonlyMap<string, ProjectionHash>,
  queueOptions: ReadonlyMap<string, string>,
): Map<string, string> {
  const fields = new Map<string, string>();
  for (const [queue, json] of queueOptions) {
    const o = JSON.parse(json) as QueueOptions;
    if (o.paused) fields.set(`paused:${queue}`, '1');
    if (o.concurrency !== null) fields.set(`concurrency:${queue}`, String(o.concurrency));
    if (o.rateLimit !== null) fields.set(`rate:${queue}`, `${o.rateLimit.max} ${o.rateLimit.perMs}`);
    if (o.agingMs !== null) fields.set(`aging:${queue}`, String(o.agingMs));
  }
  const active = new Map<string, number>();
  for (const hash of folded.values()) {
    if (hash.status === 'running' && hash.queue !== undefined)
      active.set(hash.queue, (active.get(hash.queue) ?? 0) + 1);
  }
  for (const [queue, n] of active) fields.set(`active:${queue}`, String(n));
  return fields;
}

/** The fields of `{ns}:controls` that are projections (all but the holds). */
export const isProjectedControl = (field: string): boolean => !field.startsWith('hold:');
