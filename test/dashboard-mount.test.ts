import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { describe, expect, it, onTestFinished } from 'vitest';
import { dashboardHandler, type TaskQueue } from '../src/index.js';
import { useRedis } from './helpers/fixture.js';

const r = useRedis();

const BASE = '/admin/queues';

/** A host app listening on loopback: its origin, and how to stop it. */
interface Host {
  origin: string;
  close(): Promise<void>;
}

/**
 * Express (4 or 5), as docs/dashboard.md says: `app.use(path, dashboard)` (the dashboard reads the whole URL
 * from req.originalUrl), before the host's body parser, which would otherwise read an action's body first.
 */
async function inExpress(q: TaskQueue): Promise<Host> {
  const dashboard = dashboardHandler({ queue: q, basePath: '/admin/queues' });
  const app = express();
  app.use('/admin/queues', dashboard);
  app.use(express.json());
  app.get('/health', (_req, res) => {
    res.send('host ok');
  });
  app.post('/echo', (req, res) => {
    res.json(req.body);
  });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1', (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await dashboard.close();
    },
  };
}

/**
 * Fastify 5, as docs/dashboard.md says: in a scope of its own whose body parser leaves the body unread (the
 * dashboard reads an action's body itself), with a route for the base path itself and one for below it.
 */
async function inFastify(q: TaskQueue): Promise<Host> {
  const dashboard = dashboardHandler({ queue: q, basePath: '/admin/queues' });
  const fastify = Fastify();
  await fastify.register((scope, _opts, ready) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_req, _body, done) => {
      done(null);
    });
    const serve = (req: FastifyRequest, reply: FastifyReply) => {
      reply.hijack();
      dashboard(req.raw, reply.raw);
    };
    scope.all('/admin/queues', serve);
    scope.all('/admin/queues/*', serve);
    ready();
  });
  fastify.get('/health', () => 'host ok');
  fastify.post('/echo', (req) => req.body);
  const origin = await fastify.listen({ port: 0, host: '127.0.0.1' });
  return {
    origin,
    async close() {
      await fastify.close();
      await dashboard.close();
    },
  };
}

/** What the checks read from a reply. */
interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: Record<string, unknown>;
}

function client(origin: string) {
  const get = async (path: string, init: RequestInit = {}): Promise<Reply> => {
    const res = await fetch(`${origin}${path}`, { ...init, redirect: 'manual' });
    const text = await res.text();
    let json: Record<string, unknown> = {};
    if ((res.headers.get('content-type') ?? '').startsWith('application/json')) json = JSON.parse(text) as typeof json;
    return { status: res.status, headers: res.headers, text, json };
  };
  const post = async (path: string, body: unknown = {}) => {
    const { csrf } = (await get(`${BASE}/api/session`)).json as { csrf: string };
    return get(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-taskledger-csrf': csrf },
      body: JSON.stringify(body),
    });
  };
  return { get, post };
}

/** Everything a mounted dashboard must do, through real HTTP to the host app. */
async function checkMounted(q: TaskQueue, host: Host) {
  const ns = q.namespace;
  const ids = await q.enqueueMany([
    { queue: 'a', type: 't', references: { batch: 1 } },
    { queue: 'a', type: 't', references: { batch: 1 } },
    { queue: 'a', type: 't' },
    { queue: 'b', type: 't' },
  ]);
  const { get, post } = client(host.origin);

  // The page, at the base path and below it, with a <base href> of the mount point; its assets are served.
  for (const path of [BASE, `${BASE}/`, `${BASE}/ns/${ns}/live`]) {
    const page = await get(path);
    expect(page.status, path).toBe(200);
    expect(page.headers.get('content-type'), path).toBe('text/html; charset=utf-8');
    expect(page.text, path).toContain(`<base href="${BASE}/" />`);
  }
  const js = await get(`${BASE}/assets/app.js`);
  expect(js.status).toBe(200);
  expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');

  const session = await get(`${BASE}/api/session`);
  expect(session.status).toBe(200);
  expect(session.json).toMatchObject({ readOnly: false, namespaces: [ns], csrf: expect.any(String) });

  const overview = await get(`${BASE}/api/namespaces/${ns}/overview`);
  expect(overview.status).toBe(200);
  expect(overview.json.queues).toEqual([
    expect.objectContaining({ queue: 'a', waiting: 3, running: 0, cancelled: 0 }),
    expect.objectContaining({ queue: 'b', waiting: 1 }),
  ]);

  // An action: the CSRF token from the session, and the task really is cancelled.
  const cancelled = await post(`${BASE}/api/namespaces/${ns}/tasks/${ids[2]!}/cancel`);
  expect(cancelled.status).toBe(200);
  expect(cancelled.json).toEqual({ changed: true });
  expect((await q.get(ids[2]!))?.status).toBe('cancelled');
  // An action whose body matters: the body reaches the dashboard unread by the host.
  const deleted = await post(`${BASE}/api/namespaces/${ns}/delete-by-reference`, { reference: 'batch=1' });
  expect(deleted.status).toBe(200);
  expect(deleted.json).toMatchObject({ tasks: 2 });
  expect(await q.get(ids[0]!)).toBeNull();
  expect((await q.get(ids[3]!))?.status).toBe('waiting');
  // Without the token, refused.
  const forged = await get(`${BASE}/api/namespaces/${ns}/tasks/${ids[3]!}/cancel`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  expect(forged.status).toBe(403);
  expect((await q.get(ids[3]!))?.status).toBe('waiting');

  // The live log streams through the host.
  const stop = new AbortController();
  const live = await fetch(`${host.origin}${BASE}/api/namespaces/${ns}/live?queue=b`, { signal: stop.signal });
  expect(live.status).toBe(200);
  expect(live.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const added = await q.enqueue({ queue: 'b', type: 't' });
  const decoder = new TextDecoder();
  let stream = '';
  for await (const chunk of live.body as unknown as AsyncIterable<Uint8Array>) {
    stream += decoder.decode(chunk);
    if (stream.includes(added)) break;
  }
  expect(stream).toMatch(/event: task-event/);
  expect(stream).toContain(added);
  stop.abort();

  // Unknown paths under the base: the dashboard's 404.
  const unknownApi = await get(`${BASE}/api/nothing-here`);
  expect(unknownApi.status).toBe(404);
  expect(unknownApi.json.error).toMatch(/nothing at \/api\/nothing-here/);
  expect((await get(`${BASE}/nothing-here`)).status).toBe(404);
  expect((await get(`${BASE}/api/namespaces/no-such-ns/overview`)).status).toBe(404);

  // The host's own routes still answer, and a path that only starts like the base is not the dashboard's.
  const health = await get('/health');
  expect(health.status).toBe(200);
  expect(health.text).toBe('host ok');
  // The host still parses its own JSON bodies.
  const echo = await get('/echo', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"x":1}',
  });
  expect(echo.json).toEqual({ x: 1 });
  const sibling = await get(`${BASE}-other/api/session`);
  expect(sibling.status).toBe(404);
  expect(sibling.text).not.toContain('csrf');
}

describe('the dashboard mounted under a base path', { timeout: 60_000 }, () => {
  it('in Express', async () => {
    const q = r.queue();
    const host = await inExpress(q);
    onTestFinished(() => host.close());
    await checkMounted(q, host);
  });

  it('in Fastify', async () => {
    const q = r.queue();
    const host = await inFastify(q);
    onTestFinished(() => host.close());
    await checkMounted(q, host);
  });
});
