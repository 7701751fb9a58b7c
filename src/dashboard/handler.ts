import type { IncomingMessage, ServerResponse } from 'node:http';
import { TaskLedgerError, ValidationError } from '../errors.js';
import { knownKeys } from '../known-keys.js';
import { Scheduler } from '../scheduler/scheduler.js';
import { TaskQueue } from '../task-queue.js';
import { authOption, authorized, TOKEN_COOKIE, type DashboardAuth } from './auth.js';
import { CsrfGuard } from './csrf.js';
import { HttpError, SECURITY_HEADERS, sendJson } from './http.js';
import { asset, isAsset } from './assets.js';
import { ROUTES, statusOf, type NamespaceView } from './api.js';
import { liveLog } from './live.js';
import { TASK_EVENT_TYPES, type TaskEventType } from '../types.js';

export interface DashboardOptions {
  /** The namespaces to show: one TaskQueue each (their connections are used, never closed here). */
  queue: TaskQueue | readonly TaskQueue[];
  /** Hides and refuses every action (cancel, retry, delete, pause, resume). */
  readOnly?: boolean;
  /** Required to serve beyond loopback (serveDashboard); with it, every request must carry it. */
  auth?: DashboardAuth;
  /** Where the dashboard is mounted in a bigger app, e.g. '/admin/queues' (default: the root). */
  basePath?: string;
}

/** A request listener for node:http (and Express, or Fastify's raw request and reply), and its close(). */
export interface DashboardHandler {
  (req: IncomingMessage, res: ServerResponse): void;
  /** Stops the Schedulers it made; the queues are the caller's. */
  close(): Promise<void>;
}

const DASHBOARD_OPTIONS = ['queue', 'readOnly', 'auth', 'basePath'];

/**
 * The dashboard as a request handler (docs/dashboard.md). Reads go through the queues' read side; every
 * action goes through the library, so it is an event in the log like any other.
 */
export function dashboardHandler(options: DashboardOptions): DashboardHandler {
  knownKeys(options, DASHBOARD_OPTIONS, 'dashboard options', true);
  const queues = Array.isArray(options.queue) ? (options.queue as readonly TaskQueue[]) : [options.queue as TaskQueue];
  if (queues.length === 0 || !queues.every((q) => q instanceof TaskQueue))
    throw new ValidationError('dashboard options.queue is a TaskQueue or a non-empty array of them');
  const auth = authOption(options.auth);
  const readOnly = options.readOnly === true;
  const base = (options.basePath ?? '').replace(/\/+$/, '');
  if (base !== '' && !/^\/[\w\-./]*$/.test(base))
    throw new ValidationError('dashboard options.basePath must be a path such as /admin/queues');
  const csrf = new CsrfGuard();
  const schedulers = new Map<string, Scheduler>();
  const views = new Map<string, NamespaceView>(
    queues.map((queue) => [
      queue.namespace,
      {
        queue,
        scheduler: () => {
          let s = schedulers.get(queue.namespace);
          if (!s)
            schedulers.set(
              queue.namespace,
              (s = new Scheduler({ connection: queue.redis, namespace: queue.namespace })),
            );
          return s;
        },
      },
    ]),
  );
  const view = (name: string) => {
    const v = views.get(name);
    if (!v) throw new HttpError(404, `no namespace "${name}" here`);
    return v;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    let url: URL;
    try {
      // Express gives a mounted handler req.url without the mount path, and keeps the whole in originalUrl.
      const whole = (req as IncomingMessage & { originalUrl?: unknown }).originalUrl;
      url = new URL(typeof whole === 'string' ? whole : (req.url ?? '/'), 'http://dashboard');
    } catch {
      throw new HttpError(400, 'a malformed URL');
    }
    // The base path ends at a segment: /admin/queues-other is not under /admin/queues.
    if (base !== '' && url.pathname !== base && !url.pathname.startsWith(`${base}/`))
      throw new HttpError(404, 'not the dashboard');
    const path = url.pathname.slice(base.length) || '/';
    const queryToken = url.searchParams.get('token');
    if (!authorized(req, auth, queryToken)) {
      const basic = auth && !('token' in auth);
      sendJson(
        res,
        401,
        { error: 'authentication required' },
        basic ? { 'www-authenticate': 'Basic realm="taskledger", charset="UTF-8"' } : {},
      );
      return;
    }
    if (queryToken !== null && auth && 'token' in auth) {
      // Opened with ?token=: kept in a cookie for the page's own requests, and taken out of the address.
      url.searchParams.delete('token');
      res.writeHead(303, {
        location: `${base}${path}${url.search}`,
        'set-cookie': `${TOKEN_COOKIE}=${encodeURIComponent(queryToken)}; HttpOnly; SameSite=Strict; Path=${base || '/'}`,
      });
      res.end();
      return;
    }
    if (req.method === 'GET' && path === '/api/session') {
      sendJson(res, 200, { readOnly, csrf: csrf.token, namespaces: [...views.keys()] });
      return;
    }
    const live = /^\/api\/namespaces\/([^/]+)\/live$/.exec(path);
    if (req.method === 'GET' && live) {
      const events = url.searchParams.get('event');
      const queue = url.searchParams.get('queue');
      const type = url.searchParams.get('type');
      // Where to resume: `after` (a page resuming from its last event), else a reconnect's Last-Event-ID.
      const header = req.headers['last-event-id'];
      const after = url.searchParams.get('after') ?? (typeof header === 'string' && header !== '' ? header : null);
      if (after !== null && !/^\d{1,20}-\d{1,20}(\/\d{1,3})?$/.test(after))
        throw new HttpError(
          400,
          `after must be an event's place such as 1700000000000-0 or 1700000000000-0/2, got "${after}"`,
        );
      await liveLog(req, res, view(decodeURIComponent(live[1]!)).queue, after, {
        ...(queue ? { queue } : {}),
        ...(type ? { type } : {}),
        ...(events ? { events: eventTypes(events) } : {}),
      });
      return;
    }
    if (req.method === 'GET' && !path.startsWith('/api/')) {
      await page(res, path);
      return;
    }
    for (const route of ROUTES) {
      const m = route.path.exec(path);
      if (!m) continue;
      if (req.method !== route.method) throw new HttpError(405, `${req.method ?? ''} is not allowed here`);
      if (route.action) {
        if (readOnly) throw new HttpError(403, 'this dashboard is read-only');
        const refused = csrf.check(req);
        if (refused) throw new HttpError(403, refused);
      }
      const params = m.slice(1).map((p) => {
        try {
          return decodeURIComponent(p);
        } catch {
          throw new HttpError(400, 'a malformed path');
        }
      });
      sendJson(res, 200, await answerWithin(route.run({ req, res, url, params, view })));
      return;
    }
    throw new HttpError(404, `nothing at ${path}`);
  };

  /** The front end: its assets, or its page for any page path (404 for an unknown namespace or task). */
  const page = async (res: ServerResponse, path: string) => {
    const assetName = /^\/assets\/([\w.-]+)$/.exec(path)?.[1];
    if (assetName !== undefined && !isAsset(assetName)) throw new HttpError(404, `no asset ${assetName}`);
    const found = await asset(assetName ?? 'index.html');
    if (!found) throw new HttpError(500, "the dashboard's front end is not built (npm run build)");
    let status = 200;
    let bytes = found.bytes;
    if (assetName === undefined) {
      const parts = path.split('/').filter(Boolean);
      let known = parts.length === 0 || (parts[0] === 'ns' && parts.length >= 2);
      if (known && parts[0] === 'ns') {
        const name = decodeOr404(parts[1]!);
        const v = views.get(name);
        known = v !== undefined;
        if (v && parts[2] === 'tasks' && parts[3] !== undefined) {
          const id = decodeOr404(parts[3]);
          known =
            (await v.queue.get(id).catch(() => null)) !== null ||
            (await v.queue.history(id).catch(() => [])).length > 0;
        }
      }
      if (!known) status = 404;
      // Relative links and assets resolve from the mount point, at any depth of the page's path.
      bytes = Buffer.from(
        found.bytes.toString('utf8').replace('<head>', `<head>\n    <base href="${escapeAttr(base)}/" />`),
      );
    }
    res.writeHead(status, {
      'content-type': found.type,
      'content-length': bytes.length,
      'cache-control': assetName ? 'public, max-age=300' : 'no-store',
      ...SECURITY_HEADERS,
    });
    res.end(bytes);
  };

  const handler = ((req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) {
        res.end();
        return;
      }
      const status = statusOf(err);
      const body: Record<string, unknown> = { error: err instanceof Error ? err.message : String(err) };
      if (err instanceof TaskLedgerError) body.code = err.code;
      if (status === 503) body.redisDown = true;
      sendJson(res, status, body);
    });
  }) as DashboardHandler;
  handler.close = async () => {
    await Promise.all([...schedulers.values()].map((s) => s.stop()));
  };
  return handler;
}

/** How long a route may wait for Redis: a Redis out of reach is a 503 the page shows, not a hang. */
const ANSWER_MS = 5000;

function answerWithin<T>(work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HttpError(503, `Redis did not answer within ${ANSWER_MS} ms`)), ANSWER_MS);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/** A path segment decoded; a malformed one is a page that does not exist. */
function decodeOr404(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(404, 'a malformed path');
  }
}

/** Text for an HTML attribute value (the base path is checked already; this keeps it so). */
const escapeAttr = (s: string) => s.replace(/[&"<>]/g, (c) => `&#${c.charCodeAt(0)};`);

/** The live log's event filter: names separated by commas (spaces around them are fine), each a known event. */
function eventTypes(given: string): string[] {
  const names = given
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  const unknown = names.filter((n) => !TASK_EVENT_TYPES.includes(n as TaskEventType));
  if (unknown.length)
    throw new HttpError(400, `unknown event ${JSON.stringify(unknown[0])}: events are ${TASK_EVENT_TYPES.join(', ')}`);
  return names;
}
