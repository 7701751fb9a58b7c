import type { HeldBack } from './claim.js';
import type { WriteContext } from '../commands/context.js';
import type { QueueRotation } from './queue-rotation.js';

/** The dequeue pipeline's context: the write context and the order in which queues are read. */
export interface DequeueContext extends WriteContext {
  readonly rotation: QueueRotation;
  /** Told of the queues a claim found held back by their controls (the TaskQueue's `held` event). */
  readonly onHeld?: (held: readonly HeldBack[]) => void;
}
