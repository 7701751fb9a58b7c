import { spawn } from 'node:child_process';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  DashboardAuthRequiredError,
  Scheduler,
  serveDashboard,
  ValidationError,
  Worker,
  type TaskQueue,
} from '../src/index.js';
import type { ServeDashboardOptions } from '../src/dashboard/serve.js';
import { until, useRedis } from './helpers/fixture.js';
import { BIN, run } from './helpers/cli.js';

const r = useRedis();

/** The JSON replies these tests read (each test checks the fields it uses). */
interface Reply {
  [field: string]: unknown;
  error: string;
  next: string | null;
  tasks: { id: string; type: string; references: Record<string, unknown> }[];
  timeline: { type: string }[];
  throughput: unknown[];
  schedules: { nextRunAt: string }[];
  csrf: string;
  readOnly: boolean;
}

async function served(options: Omit<ServeDashboardOptions, 'port'>) {
  const d = await serveDashboard({ port: 0, ...options });
  onTestFinished(() => d.close());
  const get = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(new URL(path.replace(/^\//, ''), d.url), init);
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      body: (text.startsWith('{') ? JSON.parse(text) : text) as Reply,
    };
  };
  const session = async (headers: Record<string, string> = {}) => (await get('/api/session', { headers })).body;
  const post = async (path: string, body: unknown = {}, headers: Record<string, string> = {}) => {
    const { csrf } = await session(headers);
    return get(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-taskledger-csrf': csrf, ...headers },
      body: JSON.stringify(body),
    });
  };
  return { ...d, get, post, session };
}

/** A namespace with waiting, running, finished, failed and cancelled tasks in queues a and b. */
async function populated(q: TaskQueue) {
  const ids = await q.enqueueMany([
    ...Array.from({ length: 5 }, (_, i) => ({
      queue: 'a',
      type: i % 2 ? 'odd' : 'even',
      spec: { i },
      references: { batch: i % 2 },
    })),
    { queue: 'b', type: 'x' },
  ]);
  const t = await q.dequeue(['a']);
  await q.finish(t.id, { ok: 1 });
  const f = await q.dequeue(['a']);
  await q.fail(f.id, { error: 'boom' });
  await q.cancel(ids[4]!);
  return { ids, finished: t.id, failed: f.id, cancelled: ids[4]! };
}

describe('the dashboard API', { timeout: 60_000 }, () => {
  it('refuses to serve beyond loopback without auth, before listening', async () => {
    const q = r.queue();
    await expect(serveDashboard({ queue: q, host: '0.0.0.0', port: 0 })).rejects.toBeInstanceOf(
      DashboardAuthRequiredError,
    );
    await expect(serveDashboard({ queue: q, port: 70_000 })).rejects.toBeInstanceOf(ValidationError);
    const d = await serveDashboard({ queue: q, host: '0.0.0.0', port: 0, auth: { token: 's3cret' } });
    await d.close();
  });

  it('shows the overview, pages tasks by status with filters, and a task with its timeline', async () => {
    const q = r.queue();
    const p = await populated(q);
    const d = await served({ queue: q });
    const overview = (await d.get(`/api/namespaces/${q.namespace}/overview`)).body;
    expect(overview.queues).toEqual([
      expect.objectContaining({
        queue: 'a',
        waiting: 2,
        running: 0,
        finished: 1,
        failed: 1,
        cancelled: 1,
        paused: false,
      }),
      expect.objectContaining({ queue: 'b', waiting: 1 }),
    ]);
    // The last 60 minutes, one row each, oldest first.
    const minutes = overview.throughput as { finished: number; failed: number }[];
    expect(minutes).toHaveLength(60);
    expect(minutes.reduce((a, m) => a + m.finished, 0)).toBe(1);
    expect(minutes.reduce((a, m) => a + m.failed, 0)).toBe(1);
    expect(overview.partitions).toBe(1);

    const tasks = (query: string) => d.get(`/api/namespaces/${q.namespace}/queues/a/tasks?${query}`);
    const first = await tasks('status=waiting&limit=1');
    expect(first.status).toBe(200);
    expect(first.body.tasks).toHaveLength(1);
    const second = await tasks(`status=waiting&limit=1&after=${encodeURIComponent(first.body.next!)}`);
    expect(second.body.tasks).toHaveLength(1);
    expect(second.body.tasks[0]!.id).not.toBe(first.body.tasks[0]!.id);
    expect(second.body.next).toBeNull();
    expect((await tasks('status=finished')).body.tasks.map((t: { id: string }) => t.id)).toEqual([p.finished]);
    expect((await tasks('status=waiting&type=odd')).body.tasks.every((t: { type: string }) => t.type === 'odd')).toBe(
      true,
    );
    const byRef = (await tasks('status=waiting&reference=batch%3D0')).body.tasks;
    expect(byRef.length).toBeGreaterThan(0);
    expect(byRef.every((t) => t.references.batch === 0)).toBe(true);
    // Delayed tasks page from the queue's own sorted set, soonest last (newest first), no more than asked.
    const later = await q.enqueueMany(
      Array.from({ length: 5 }, (_, i) => ({ queue: 'a', type: 't', delayMs: 60_000 * (i + 1) })),
    );
    const delayed: string[] = [];
    let after: string | null = null;
    for (let pages = 0; pages < 5; pages++) {
      const page = await tasks(`status=delayed&limit=2${after ? `&after=${after}` : ''}`);
      expect(page.body.tasks.length).toBeLessThanOrEqual(2);
      delayed.push(...page.body.tasks.map((t) => t.id));
      after = page.body.next;
      if (after === null) break;
    }
    expect(delayed).toEqual([...later].reverse());
    // Bad input: 400 with the reason.
    for (const [query, reason] of [
      ['status=lost', /status must be one of/],
      ['status=waiting&after=nope', /after must be a cursor/],
      ['status=waiting&limit=x', /limit must be a whole number/],
      ['status=waiting&reference=noequals', /reference must be name=value/],
      ['status=waiting&partition=3', /partition/],
    ] as const) {
      const bad = await tasks(query);
      expect(bad.status, query).toBe(400);
      expect(bad.body.error).toMatch(reason);
    }

    const page = await d.get(`/api/namespaces/${q.namespace}/tasks/${p.failed}`);
    expect(page.body.task).toMatchObject({ id: p.failed, status: 'failed' });
    expect(page.body.timeline.map((e: { type: string }) => e.type)).toEqual(['enqueued', 'started', 'failed']);
    expect(page.body.timeline[1]).toMatchObject({ attempt: 1, sincePreviousMs: expect.any(Number) });
    expect((await d.get(`/api/namespaces/${q.namespace}/tasks/no-such-task`)).status).toBe(404);
    const badAfter = await d.get(`/api/namespaces/${q.namespace}/live?after=yesterday`);
    expect(badAfter.status).toBe(400);
    expect(badAfter.body.error).toMatch(/after must be an event's place/);
    const badEvent = await d.get(`/api/namespaces/${q.namespace}/live?event=started,%20finshed`);
    expect(badEvent.status).toBe(400);
    expect(badEvent.body.error).toMatch(/unknown event "finshed": events are enqueued, started/);
    // The base path ends at a segment; a finished page's cursor is a place in the ended index.
    expect(
      (await d.get(`/api/namespaces/${q.namespace}/queues/a/tasks?status=finished&after=1700000000000-0`)).status,
    ).toBe(400);
    expect((await d.get('/api/namespaces/nope/overview')).status).toBe(404);
    expect((await d.get('/nothing-here')).status).toBe(404);
  });

  it('lists schedules with their next and last runs', async () => {
    const q = r.queue();
    const s = new Scheduler({ connection: r.url, namespace: q.namespace });
    onTestFinished(() => s.stop());
    await s.schedule({ queue: 'a', type: 'nightly', cronSchedule: '0 3 * * *', timezone: 'Europe/Paris' });
    const d = await served({ queue: q });
    const { schedules } = (await d.get(`/api/namespaces/${q.namespace}/schedules`)).body;
    expect(schedules).toEqual([
      expect.objectContaining({
        queue: 'a',
        type: 'nightly',
        cronSchedule: '0 3 * * *',
        timezone: 'Europe/Paris',
        lastRunAt: null,
      }),
    ]);
    expect(new Date(schedules[0]!.nextRunAt).getTime()).toBeGreaterThan(Date.now());
  });

  it('acts through the library, each action an event, only with the CSRF token, from its own origin', async () => {
    const q = r.queue();
    const p = await populated(q);
    const d = await served({ queue: q });
    const ns = q.namespace;
    // Without the token, with a wrong one, from another origin, or not as JSON: refused, nothing done.
    const plain = await d.get(`/api/namespaces/${ns}/tasks/${p.ids[2]!}/cancel`, { method: 'POST' });
    expect(plain.status).toBe(403);
    const { csrf } = await d.session();
    const forged = await d.get(`/api/namespaces/${ns}/tasks/${p.ids[2]!}/cancel`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-taskledger-csrf': csrf, origin: 'https://evil.example' },
      body: '{}',
    });
    expect(forged.status).toBe(403);
    expect(forged.body.error).toMatch(/evil\.example.*refused/);
    expect((await q.get(p.ids[2]!))?.status).toBe('waiting');

    expect((await d.post(`/api/namespaces/${ns}/tasks/${p.ids[2]!}/cancel`)).body).toEqual({ changed: true });
    expect((await q.history(p.ids[2]!)).at(-1)?.type).toBe('cancelled');
    expect((await d.post(`/api/namespaces/${ns}/tasks/${p.failed}/retry`)).body).toEqual({ changed: true });
    expect((await q.get(p.failed))?.status).toBe('waiting');
    expect((await d.post(`/api/namespaces/${ns}/tasks/nope/cancel`)).status).toBe(404);
    expect((await d.post(`/api/namespaces/${ns}/queues/a/pause`)).body).toEqual({ changed: true });
    expect((await q.getQueueOptions('a')).paused).toBe(true);
    expect((await d.post(`/api/namespaces/${ns}/queues/a/resume`)).body).toEqual({ changed: true });
    const deleted = await d.post(`/api/namespaces/${ns}/delete-by-reference`, { references: { batch: 1 } });
    expect(deleted.body).toMatchObject({ tasks: 2 });
    expect((await d.post(`/api/namespaces/${ns}/delete-by-reference`, { references: {} })).status).toBe(400);
    expect((await d.get(`/api/namespaces/${ns}/queues/a/pause`)).status).toBe(405);
  });

  it('read-only: says so, and refuses every action', async () => {
    const q = r.queue();
    const p = await populated(q);
    const d = await served({ queue: q, readOnly: true });
    expect((await d.session()).readOnly).toBe(true);
    const res = await d.post(`/api/namespaces/${q.namespace}/tasks/${p.ids[2]!}/cancel`);
    expect(res.status).toBe(403);
    expect(res.body.error).toMatch(/read-only/);
    expect((await q.get(p.ids[2]!))?.status).toBe('waiting');
  });

  it('asks for the token or the password, and keeps a token given once in a cookie', async () => {
    const q = r.queue();
    const t = await served({ queue: q, auth: { token: 'tok-123' } });
    expect((await t.get('/api/session')).status).toBe(401);
    expect((await t.get('/api/session', { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await t.get('/api/session', { headers: { authorization: 'Bearer tok-123' } })).status).toBe(200);
    const opened = await fetch(new URL('?token=tok-123', t.url), { redirect: 'manual' });
    expect(opened.status).toBe(303);
    expect(opened.headers.get('location')).toBe('/');
    const cookie = opened.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly; SameSite=Strict/);
    expect((await t.get('/api/session', { headers: { cookie: cookie.split(';')[0]! } })).status).toBe(200);

    const b = await served({ queue: q, auth: { username: 'ops', password: 'pw' } });
    const denied = await b.get('/api/session');
    expect(denied.status).toBe(401);
    expect(denied.headers.get('www-authenticate')).toMatch(/^Basic/);
    const basic = (user: string, pw: string) => ({
      authorization: `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`,
    });
    expect((await b.get('/api/session', { headers: basic('ops', 'nope') })).status).toBe(401);
    expect((await b.get('/api/session', { headers: basic('ops', 'pw') })).status).toBe(200);
  });

  it('sends names as data in JSON, with headers that forbid sniffing, framing and foreign scripts', async () => {
    const q = r.queue();
    // Names cannot hold control or bidi characters (validation); a spec can, and imported data might.
    const evil = '<script>alert(1)</script>"onerror=x';
    const spec = { text: '\u202e\u001b[2J<img src=x onerror=alert(1)>' };
    const id = await q.enqueue({ queue: evil, type: evil, spec });
    const d = await served({ queue: q });
    const res = await d.get(`/api/namespaces/${q.namespace}/tasks/${id}`);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    expect(res.body.task).toMatchObject({ queue: evil, type: evil, spec });
  });

  it('tails the live log by server-sent events, filtered, and resumes after the last event seen', async () => {
    const q = r.queue();
    const d = await served({ queue: q });
    const received: { id: string; type: string; queue?: string }[] = [];
    const starts: (string | undefined)[] = [];
    const tail = async (headers: Record<string, string>, stop: AbortSignal) => {
      const res = await fetch(new URL(`api/namespaces/${q.namespace}/live?queue=a&event=enqueued,finished`, d.url), {
        headers,
        signal: stop,
      });
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const decoder = new TextDecoder();
      let buffer = '';
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk);
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const message = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = /^data: (.*)$/m.exec(message)?.[1];
            const id = /^id: (.*)$/m.exec(message)?.[1];
            const event = /^event: (.*)$/m.exec(message)?.[1];
            // A new tail says first where it starts (`start`, with that place as its id).
            if (event === 'start') starts.push(id);
            if (event === 'task-event' && data && id) received.push({ id, ...(JSON.parse(data) as { type: string }) });
          }
        }
      } catch {
        // aborted
      }
    };
    const first = new AbortController();
    const reading = tail({}, first.signal);
    await new Promise((res) => setTimeout(res, 300));
    const [a1] = await q.enqueueMany([
      { queue: 'a', type: 't' },
      { queue: 'b', type: 't' },
    ]);
    const w = new Worker(q, async () => 'ok', { queues: ['a', 'b'] });
    w.start();
    onTestFinished(() => w.close());
    await until(() => received.filter((e) => e.type === 'finished').length === 1, 10_000);
    // The running worker is in the registry, seen just now.
    const { workers } = (await d.get(`/api/namespaces/${q.namespace}/overview`)).body as unknown as {
      workers: { id: string; lastSeenAt: string }[];
    };
    expect(workers).toHaveLength(1);
    expect(Date.now() - new Date(workers[0]!.lastSeenAt).getTime()).toBeLessThan(5000);
    first.abort();
    await reading;
    expect(received.map((e) => e.type)).toEqual(['enqueued', 'finished']);
    expect(starts).toEqual([expect.stringMatching(/^\d+-\d+$/)]);
    expect(received.every((e) => (e as unknown as { taskId: string }).taskId === a1)).toBe(true);
    // Paused, then resumed from the last id: what came meanwhile is given, nothing twice.
    const last = received.at(-1)!.id;
    const [a2] = await q.enqueueMany([{ queue: 'a', type: 't' }]);
    await until(async () => (await q.get(a2!))?.status === 'finished', 10_000);
    const second = new AbortController();
    const resumed = tail({ 'last-event-id': last }, second.signal);
    await until(() => received.length === 4, 10_000);
    second.abort();
    await resumed;
    expect(received.slice(2).map((e) => e.type)).toEqual(['enqueued', 'finished']);
  });
});

describe('the dashboard page', { timeout: 60_000 }, () => {
  it('serves the built front end from the package: nothing from elsewhere, 404 for unknown pages', async () => {
    const q = r.queue();
    const id = await q.enqueue({ queue: 'a', type: 't' });
    const d = await served({ queue: q });
    const home = await d.get('/');
    expect(home.status).toBe(200);
    expect(home.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = home.body as unknown as string;
    expect(html).toContain('<base href="/" />');
    // Offline: every script, style and image comes from the dashboard itself.
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    const js = await d.get('/assets/app.js');
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.body as unknown as string).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
    expect(js.body as unknown as string).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
    expect((await d.get('/assets/style.css')).headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect((await d.get(`/ns/${q.namespace}/tasks/${id}`)).status).toBe(200);
    expect((await d.get(`/ns/${q.namespace}/queues/a`)).status).toBe(200);
    expect((await d.get(`/ns/${q.namespace}/tasks/no-such-task`)).status).toBe(404);
    expect((await d.get('/ns/no-such-namespace')).status).toBe(404);
    expect((await d.get('/elsewhere')).status).toBe(404);
    expect((await d.get('/assets/other.js')).status).toBe(404);
    // Mounted under a base path, the page's links resolve from there.
    const mounted = await served({ queue: q, basePath: '/admin/queues' });
    expect((await mounted.get('/')).body as unknown as string).toContain('<base href="/admin/queues/" />');
    // The base path ends at a segment: a path that only starts with its letters is not the dashboard's.
    for (const beside of ['/admin/queues-other/', '/admin/queuesX']) {
      const res = await fetch(new URL(beside, mounted.url));
      expect(res.status, beside).toBe(404);
      expect(await res.json()).toEqual({ error: 'not the dashboard' });
    }
  });
});

describe('taskledger dashboard', { timeout: 60_000 }, () => {
  it('serves every namespace found until stopped, and refuses to listen beyond loopback without auth', async () => {
    const q = r.queue();
    await q.enqueue({ queue: 'a', type: 't' });
    const child = spawn(process.execPath, [BIN, '--redis', r.url, '--json', 'dashboard', '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TASKLEDGER_DASHBOARD_TOKEN: '' },
    });
    onTestFinished(() => {
      child.kill('SIGKILL');
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await until(() => out.includes('\n'), 20_000);
    const { url, namespaces } = JSON.parse(out) as { url: string; namespaces: string[] };
    expect(namespaces).toContain(q.namespace);
    const session = (await (await fetch(new URL('api/session', url))).json()) as { namespaces: string[] };
    expect(session.namespaces).toEqual(namespaces);
    const exited = new Promise<number | null>((res) => child.once('exit', res));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);

    const open = await run(
      process.execPath,
      [BIN, '--redis', r.url, 'dashboard', '--host', '0.0.0.0', '--port', '0'],
      20_000,
    );
    expect(open.code).toBe(6);
    expect(open.stderr).toMatch(/needs auth.*TASKLEDGER_DASHBOARD_TOKEN/);
  });
});
