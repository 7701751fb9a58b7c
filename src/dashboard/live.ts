import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TaskQueue } from '../task-queue.js';
import type { TaskEvent } from '../types.js';
import { redisNow } from '../redis/time.js';
import { SECURITY_HEADERS } from './http.js';
import { previousStreamId } from '../events/stream-id.js';

/** Tasks whose queue and type the tail remembers, so that filtering an event costs no lookup (a bound). */
const KNOWN_TASKS = 10_000;
/** A comment this often keeps proxies from closing an idle stream. */
const KEEPALIVE_MS = 15_000;

export interface LiveFilter {
  queue?: string;
  type?: string;
  events?: readonly string[];
}

/**
 * The live log as server-sent events: every event written from now on, or after `after` (the last event a
 * paused page or a reconnecting browser saw, so a pause and resume skips nothing), filtered by queue, task
 * type and event type. Ends when the client goes.
 */
export async function liveLog(
  req: IncomingMessage,
  res: ServerResponse,
  queue: TaskQueue,
  after: string | null,
  filter: LiveFilter,
): Promise<void> {
  const stop = new AbortController();
  req.on('close', () => stop.abort());
  // A new tail starts after the last possible id of the millisecond before now, and says so first (a
  // `start` event with that place as its id): a page paused before any event came resumes from there.
  const begin = after ?? previousStreamId(`${await redisNow(queue.redis)}-0`);
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    ...SECURITY_HEADERS,
  });
  res.write(after === null ? `id: ${begin}\nevent: start\ndata: {}\n\n` : ': live\n\n');
  const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
  const known = new Map<string, { queue: string; type: string }>();
  const about = async (e: TaskEvent) => {
    if (e.type === 'enqueued' && typeof e.data.queue === 'string' && typeof e.data.type === 'string') {
      if (known.size >= KNOWN_TASKS) known.delete(known.keys().next().value!);
      known.set(e.taskId, { queue: e.data.queue, type: e.data.type });
    }
    let k = known.get(e.taskId);
    if (!k && e.taskId !== '') {
      const task = await queue.get(e.taskId).catch(() => null);
      if (task) known.set(e.taskId, (k = { queue: task.queue, type: task.type }));
    }
    return k;
  };
  try {
    for await (const e of queue.events({ after: begin, follow: true, signal: stop.signal })) {
      if (filter.events?.length && !filter.events.includes(e.type)) continue;
      if (filter.queue !== undefined || filter.type !== undefined) {
        const k = await about(e);
        if (filter.queue !== undefined && k?.queue !== filter.queue) continue;
        if (filter.type !== undefined && k?.type !== filter.type) continue;
      }
      const place = e.partition === undefined ? e.id : `${e.id}/${e.partition}`;
      res.write(`id: ${place}\nevent: task-event\ndata: ${JSON.stringify(e)}\n\n`);
    }
  } catch (err) {
    if (!stop.signal.aborted)
      res.write(`event: failure\ndata: ${JSON.stringify({ error: (err as Error).message })}\n\n`);
  } finally {
    clearInterval(keepalive);
    res.end();
  }
}
