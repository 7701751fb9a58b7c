import type { TaskQueue } from '../../src/index.js';
import { sleep } from './fixture.js';

/**
 * Enqueues `batches` batches of `size` tasks to `queue`, one event-loop turn apart: enqueue is sticky for a
 * turn, so the tasks spread over the partitions. Returns their ids in order.
 */
export async function spreadOverPartitions(q: TaskQueue, queue: string, batches = 6, size = 5): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < batches; i++) {
    ids.push(...(await q.enqueueMany(Array.from({ length: size }, (_, j) => ({ queue, type: 't', spec: { i, j } })))));
    await sleep(2);
  }
  return ids;
}
