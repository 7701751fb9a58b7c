import { randomFillSync } from 'node:crypto';
import { monotonicFactory } from 'ulid';

// ulid's own source draws each of an id's 16 random characters with a getRandomValues call of its own: a
// native crypto job per character, whose handles every young-generation GC must then finalise (longer GC
// pauses, so worse tail latency). One refill serves 256 ids (docs/benchmark-history.md).
const pool = new Uint8Array(4096);
let next = pool.length;
function random(): number {
  if (next === pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  return pool[next++]! / 256;
}

/**
 * A new task id: a monotonic ULID, so ids made in the same millisecond still sort in creation order (and
 * after the first, the random part is incremented instead of drawn again). seedTime (ms) is for tests.
 */
export const newId: (seedTime?: number) => string = monotonicFactory(random);
