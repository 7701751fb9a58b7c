import { describe, expect, it } from 'vitest';
import { ImportChecker } from '../src/audit/import-check.js';
import type { TaskEvent } from '../src/index.js';
import { useRedis } from './helpers/fixture.js';

const r = useRedis();

describe('an import check of a log this version wrote', () => {
  it('takes a retryLater (a `retrying` event carrying its error as `failure`)', async () => {
    const q = r.queue();
    const id = await q.enqueue({ queue: 'q', type: 't' });
    await q.dequeue(['q']);
    await q.retryLater(id, { delayMs: 0, error: new Error('boom') });
    const events: TaskEvent[] = [];
    for await (const e of q.events()) events.push(e);
    expect(events.map((e) => e.type)).toContain('retrying');
    const checker = new ImportChecker();
    for (const e of events) checker.check(e);
  });
});
