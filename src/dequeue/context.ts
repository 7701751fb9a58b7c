import type { WriteContext } from '../commands/context.js';
import type { QueueRotation } from './queue-rotation.js';

/** The dequeue pipeline's context: the write context and the order in which queues are read. */
export interface DequeueContext extends WriteContext {
  readonly rotation: QueueRotation;
}
