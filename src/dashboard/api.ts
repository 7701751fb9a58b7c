import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TaskQueue } from '../task-queue.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import { maxRetriesError, TaskLedgerError } from '../errors.js';
import type { TaskEvent } from '../types.js';
import { LISTED_STATUSES, type ListedStatus } from '../projections/task-list.js';
import { WORKER_TTL_MS } from '../partitions/registry.js';
import { parseReferenceValue } from '../validation.js';
import { HttpError, readJson } from './http.js';

/** One namespace the dashboard shows: its queue, and a Scheduler made on first use (schedules). */
export interface NamespaceView {
  queue: TaskQueue;
  scheduler(): Scheduler;
}

/** What a route gets: the request, its URL, the namespace named in it, and whether actions are allowed. */
export interface RouteInput {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: string[];
  view: (name: string) => NamespaceView;
}

export type Route = {
  method: 'GET' | 'POST';
  path: RegExp;
  action?: boolean;
  run(input: RouteInput): Promise<unknown>;
};

const NS = '([^/]+)';

/** A query parameter as given (decoded), or undefined. */
const param = (url: URL, name: string) => url.searchParams.get(name) ?? undefined;

/** Every data route of the dashboard's API (docs/dashboard.md): GETs read, POSTs act through the library. */
export const ROUTES: Route[] = [
  {
    method: 'GET',
    path: new RegExp(`^/api/namespaces/${NS}/overview$`),
    run: ({ params, view }) => overview(view(params[0]!)),
  },
  {
    method: 'GET',
    path: new RegExp(`^/api/namespaces/${NS}/queues/${NS}/tasks$`),
    run: async ({ params, url, view }) => {
      const status = (param(url, 'status') ?? 'waiting') as ListedStatus;
      if (!LISTED_STATUSES.includes(status))
        throw new HttpError(400, `status must be one of ${LISTED_STATUSES.join(', ')}, got "${status}"`);
      const limit = param(url, 'limit');
      if (limit !== undefined && !/^\d{1,4}$/.test(limit)) throw new HttpError(400, 'limit must be a whole number');
      const partition = param(url, 'partition');
      if (partition !== undefined && !/^\d{1,3}$/.test(partition))
        throw new HttpError(400, 'partition must be a whole number');
      const reference = param(url, 'reference');
      const ref = reference === undefined ? undefined : referenceOf(reference);
      const type = param(url, 'type');
      const after = param(url, 'after');
      return view(params[0]!).queue.listTasks({
        queue: params[1]!,
        status,
        ...(limit !== undefined ? { limit: Number(limit) } : {}),
        ...(param(url, 'oldest') === '1' ? { oldest: true } : {}),
        ...(after ? { after } : {}),
        ...(type ? { type } : {}),
        ...(ref ? { reference: ref } : {}),
        ...(partition !== undefined ? { partition: Number(partition) } : {}),
      });
    },
  },
  {
    method: 'GET',
    path: new RegExp(`^/api/namespaces/${NS}/tasks/${NS}$`),
    run: async ({ params, view }) => {
      const { queue } = view(params[0]!);
      const task = await queue.get(params[1]!);
      const history = await queue.history(params[1]!);
      if (!task && history.length === 0) throw new HttpError(404, `no task ${params[1]!}`);
      return { task, timeline: timeline(history) };
    },
  },
  {
    method: 'GET',
    path: new RegExp(`^/api/namespaces/${NS}/schedules$`),
    run: async ({ params, view }) => ({ schedules: await view(params[0]!).scheduler().listSchedules() }),
  },
  {
    method: 'POST',
    action: true,
    path: new RegExp(`^/api/namespaces/${NS}/tasks/${NS}/(cancel|retry)$`),
    run: async ({ params, view }) => {
      const { queue } = view(params[0]!);
      if (!(await queue.get(params[1]!))) throw new HttpError(404, `no task ${params[1]!}`);
      const changed = params[2] === 'cancel' ? await queue.cancel(params[1]!) : await queue.retry(params[1]!);
      return { changed };
    },
  },
  {
    method: 'POST',
    action: true,
    path: new RegExp(`^/api/namespaces/${NS}/queues/${NS}/(pause|resume)$`),
    run: async ({ params, view }) => {
      const { queue } = view(params[0]!);
      return { changed: params[2] === 'pause' ? await queue.pause(params[1]!) : await queue.resume(params[1]!) };
    },
  },
  {
    method: 'POST',
    action: true,
    path: new RegExp(`^/api/namespaces/${NS}/delete-by-reference$`),
    run: async ({ req, params, view }) => {
      const body = await readJson(req);
      if (typeof body === 'string') throw new HttpError(400, body);
      // `references` (an object), or one `reference` as the page's form has it: name=value.
      if (typeof body.reference === 'string') {
        const { name, value } = referenceOf(body.reference);
        return view(params[0]!).queue.deleteByReference({ [name]: value });
      }
      const refs = body.references;
      if (typeof refs !== 'object' || refs === null || Array.isArray(refs) || Object.keys(refs).length === 0)
        throw new HttpError(400, 'references must be an object of at least one name and value');
      return view(params[0]!).queue.deleteByReference(refs as Record<string, string>);
    },
  },
];

/** A reference typed as `name=value` (a filter, the delete form): the value typed as the CLI types it. */
function referenceOf(text: string): { name: string; value: string | number | boolean } {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new HttpError(400, 'reference must be name=value');
  return { name: text.slice(0, eq), value: parseReferenceValue(text.slice(eq + 1)) };
}

/** Per queue counts and controls, the last hour's throughput, and the workers seen. */
async function overview(view: NamespaceView) {
  const { queue } = view;
  const [stats, controls, minutes, workers] = await Promise.all([
    queue.stats(),
    queue.queueControls(),
    queue.throughput(),
    workersSeen(queue),
  ]);
  const names = new Set([...Object.keys(stats.queues), ...controls.keys()]);
  const ended = await queue.endedCounts();
  const queues = [...names].sort().map((name) => {
    const s = stats.queues[name];
    const c = controls.get(name);
    const e = ended.get(name);
    return {
      queue: name,
      waiting: s?.waiting ?? 0,
      delayed: s?.delayed ?? 0,
      running: s?.running ?? 0,
      finished: e?.finished ?? 0,
      failed: e?.failed ?? 0,
      cancelled: e?.cancelled ?? 0,
      oldestWaitingMs: s?.oldestWaitingMs ?? 0,
      paused: c?.paused ?? false,
      concurrency: c?.concurrency ?? null,
      rateLimit: c?.rateLimit ?? null,
    };
  });
  // Per minute over every queue, each of the last 60 minutes (none ended: zeros): what the charts draw.
  const perMinute = new Map<number, { minute: string; started: number; finished: number; failed: number }>();
  const last = Math.floor(stats.at.getTime() / 60_000) * 60_000;
  for (let t = last - 59 * 60_000; t <= last; t += 60_000)
    perMinute.set(t, { minute: new Date(t).toISOString(), started: 0, finished: 0, failed: 0 });
  for (const m of minutes) {
    const key = m.minute.getTime();
    const row = perMinute.get(key) ?? { minute: m.minute.toISOString(), started: 0, finished: 0, failed: 0 };
    row.started += m.started;
    row.finished += m.finished;
    row.failed += m.failed;
    perMinute.set(key, row);
  }
  return {
    namespace: queue.namespace,
    partitions: queue.partitions,
    at: stats.at,
    queues,
    throughput: [...perMinute.entries()].sort(([a], [b]) => a - b).map(([, row]) => row),
    workers,
    log: stats.log,
  };
}

/** The workers in the namespace's registry, with when each was last heard from. */
async function workersSeen(queue: TaskQueue): Promise<{ id: string; lastSeenAt: string }[]> {
  const entries = await queue.redis.zrange(`{${queue.namespace}}:workers`, 0, -1, 'WITHSCORES');
  const out: { id: string; lastSeenAt: string }[] = [];
  for (let i = 0; i < entries.length; i += 2)
    out.push({ id: entries[i]!, lastSeenAt: new Date(Number(entries[i + 1]) - WORKER_TTL_MS).toISOString() });
  return out;
}

/** A task's events with their attempt and the time since the event before (ms). */
function timeline(events: readonly TaskEvent[]) {
  let attempt = 0;
  return events.map((e, i) => {
    if (e.type === 'started') attempt = typeof e.data.attempt === 'number' ? e.data.attempt : attempt + 1;
    return { ...e, attempt, sincePreviousMs: i === 0 ? null : e.at.getTime() - events[i - 1]!.at.getTime() };
  });
}

/** The HTTP status of an error a route threw: 400 bad input, 404 unknown, 503 Redis unreachable. */
export function statusOf(err: unknown): number {
  if (err instanceof HttpError) return err.status;
  if (err instanceof TaskLedgerError) {
    if (err.code === 'ERR_TASK_NOT_FOUND' || err.code === 'ERR_NOT_SCHEDULED') return 404;
    if (err.code === 'ERR_REDIS_UNAVAILABLE' || err.code === 'ERR_QUEUE_CLOSED') return 503;
    if (['ERR_TASK_FINISHED', 'ERR_TASK_CANCELLED', 'ERR_TASK_RUNNING'].includes(err.code)) return 409;
    return 400;
  }
  // A connection error a read did not type (ioredis gave up, or the socket is gone): Redis is out of reach.
  if (maxRetriesError(err) || (err instanceof Error && CONNECTION_ERROR.test(err.message))) return 503;
  return 500;
}

const CONNECTION_ERROR = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EHOSTUNREACH|Connection is closed/;
