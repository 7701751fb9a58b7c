import type { ReadContext } from '../context/read-context.js';
import type { LeaseBook } from './leases.js';
import type { WriteBatches } from './write-batches.js';

/** The write side's context: the read context, the leases this instance holds and the batched writes. */
export interface WriteContext extends ReadContext {
  readonly leases: LeaseBook;
  readonly writes: WriteBatches;
}
