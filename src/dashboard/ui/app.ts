// The dashboard's front end: plain DOM, no framework. Everything from Redis is put in the page as text
// (textContent, attribute values set as properties), never parsed as markup.

interface Session {
  readOnly: boolean;
  csrf: string;
  namespaces: string[];
}

type Json = Record<string, unknown>;

const main = document.getElementById('main')!;
const banner = document.getElementById('banner')!;
const nsSelect = document.getElementById('namespace') as HTMLSelectElement;
const nav = document.getElementById('nav')!;
const base = new URL(document.baseURI).pathname;
let session: Session;
/** Stops what the page on screen runs (timers, the live log) when another page replaces it. */
let leave: (() => void) | undefined;

/** An element with properties set and children appended (strings as text nodes). */
function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> & { dataset?: Record<string, string> } = {},
  ...children: (Node | string | null | undefined)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  const { dataset, ...rest } = props;
  Object.assign(node, rest);
  if (dataset) Object.assign(node.dataset, dataset);
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

const text = (v: unknown) =>
  v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v, null, 2);
const when = (v: unknown) => (typeof v === 'string' ? new Date(v).toLocaleString() : '');
const link = (href: string, label: string, className = '') =>
  el('a', { href, className, textContent: label, dataset: { nav: '' } });
const nsPath = (ns: string, rest = '') => `ns/${encodeURIComponent(ns)}${rest}`;

class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A call to the API; a Redis out of reach shows the banner, which goes once a call succeeds again. */
async function api(path: string, init: RequestInit = {}): Promise<Json> {
  let res: Response;
  try {
    res = await fetch(`api/${path}`, init);
  } catch {
    showBanner('The dashboard server cannot be reached. Retrying…');
    throw new ApiError(0, 'unreachable');
  }
  const body = (await res.json().catch(() => ({}))) as Json;
  if (res.status === 503) {
    showBanner(`Redis cannot be reached: ${text(body.error)}. Retrying…`);
    throw new ApiError(503, text(body.error));
  }
  banner.hidden = true;
  if (!res.ok) throw new ApiError(res.status, text(body.error) || res.statusText);
  return body;
}

function showBanner(message: string): void {
  banner.textContent = message;
  banner.hidden = false;
}

/** An action after the operator confirms it; it goes through the library (an event in the log). */
async function act(path: string, question: string, body: Json = {}): Promise<Json | null> {
  if (!window.confirm(question)) return null;
  return api(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-taskledger-csrf': session.csrf },
    body: JSON.stringify(body),
  });
}

function table(headers: string[], rows: (Node | string)[][], numeric: number[] = []): HTMLTableElement {
  return el(
    'table',
    {},
    el(
      'thead',
      {},
      el('tr', {}, ...headers.map((h, i) => el('th', { textContent: h, className: numeric.includes(i) ? 'num' : '' }))),
    ),
    el(
      'tbody',
      {},
      ...rows.map((r) =>
        el('tr', {}, ...r.map((c, i) => el('td', { className: numeric.includes(i) ? 'num' : '' }, c))),
      ),
    ),
  );
}

/** Bars per minute: a small SVG drawn from bounded data (60 points at most). */
function barChart(title: string, points: { label: string; values: [number, string][] }[]): HTMLElement {
  const svgNs = 'http://www.w3.org/2000/svg';
  const w = 360;
  const h = 120;
  const max = Math.max(1, ...points.map((p) => p.values.reduce((a, [v]) => a + v, 0)));
  const svg = document.createElementNS(svgNs, 'svg');
  svg.setAttribute('width', String(w));
  svg.setAttribute('height', String(h));
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', title);
  const bw = w / Math.max(points.length, 1);
  points.forEach((p, i) => {
    let y = h;
    for (const [v, cls] of p.values) {
      const bh = (v / max) * (h - 10);
      const rect = document.createElementNS(svgNs, 'rect');
      rect.setAttribute('x', String(i * bw));
      rect.setAttribute('y', String(y - bh));
      rect.setAttribute('width', String(Math.max(1, bw - 1)));
      rect.setAttribute('height', String(bh));
      rect.setAttribute('class', cls);
      const tip = document.createElementNS(svgNs, 'title');
      tip.textContent = `${p.label}: ${v}`;
      rect.append(tip);
      svg.append(rect);
      y -= bh;
    }
  });
  // The scale, since the bars have no axis: the tallest bar's value, over the last hour.
  const first = points[0]?.label ?? '';
  const caption = el('p', { className: 'muted', textContent: `${first} to now · tallest ${max}` });
  return el('div', { className: 'chart' }, el('h3', { textContent: title }), svg, caption);
}

// ------------------------------------------------------------------------------------------------ pages

/**
 * The overview: its data refreshed every 5 s in place, the delete form below left alone (what is typed in
 * it stays).
 */
async function overviewPage(ns: string): Promise<void> {
  const data = el('div');
  await overviewData(ns, data);
  main.replaceChildren(data, session.readOnly ? '' : deleteByReference(ns));
  let timer: ReturnType<typeof setTimeout>;
  const refresh = () => {
    timer = setTimeout(() => {
      overviewData(ns, data).then(refresh, () => {
        void route(); // Redis out of reach: the route shows the banner and tries again
      });
    }, 5000);
  };
  refresh();
  leave = () => clearTimeout(timer);
}

async function overviewData(ns: string, into: HTMLElement): Promise<void> {
  const o = await api(`namespaces/${encodeURIComponent(ns)}/overview`);
  const queues = o.queues as Json[];
  const minutes = o.throughput as { minute: string; started: number; finished: number; failed: number }[];
  const workers = o.workers as { id: string; lastSeenAt: string }[];
  const actions = (q: Json) =>
    session.readOnly
      ? ''
      : el('button', {
          textContent: q.paused ? 'Resume' : 'Pause',
          className: 'control',
          onclick: async () => {
            const verb = q.paused ? 'resume' : 'pause';
            if (
              await act(
                `namespaces/${encodeURIComponent(ns)}/queues/${encodeURIComponent(text(q.queue))}/${verb}`,
                `${verb} queue "${text(q.queue)}"?`,
              )
            )
              void route();
          },
        });
  into.replaceChildren(
    el('h1', { textContent: `Namespace ${ns}` }),
    el('p', {
      className: 'muted',
      textContent: `${text(o.partitions)} partition(s) · ${text((o.log as Json).events)} events in the log`,
    }),
    table(
      [
        'Queue',
        'Waiting',
        'Delayed',
        'Running',
        'Finished',
        'Failed',
        'Cancelled',
        'Oldest waiting',
        'Paused',
        'Cap',
        'Rate limit',
        '',
      ],
      queues.map((q) => [
        link(nsPath(ns, `/queues/${encodeURIComponent(text(q.queue))}`), text(q.queue)),
        text(q.waiting),
        text(q.delayed),
        text(q.running),
        text(q.finished),
        text(q.failed),
        text(q.cancelled),
        Number(q.oldestWaitingMs) ? `${Math.round(Number(q.oldestWaitingMs) / 1000)} s` : '-',
        q.paused ? 'paused' : '',
        q.concurrency === null ? '-' : text(q.concurrency),
        q.rateLimit ? `${text((q.rateLimit as Json).max)} / ${text((q.rateLimit as Json).perMs)} ms` : '-',
        actions(q),
      ]),
      [1, 2, 3, 4, 5, 6],
    ),
    el(
      'div',
      { className: 'charts' },
      barChart(
        'Started per minute',
        minutes.map((m) => ({ label: when(m.minute), values: [[m.started, 'bar-started']] })),
      ),
      barChart(
        'Finished and failed per minute',
        minutes.map((m) => ({
          label: when(m.minute),
          values: [
            [m.finished, 'bar-finished'],
            [m.failed, 'bar-failed'],
          ],
        })),
      ),
      barChart(
        'Failure rate per minute (%)',
        minutes.map((m) => ({
          label: when(m.minute),
          values: [[m.finished + m.failed ? Math.round((100 * m.failed) / (m.finished + m.failed)) : 0, 'bar-rate']],
        })),
      ),
    ),
    el('h2', { textContent: 'Workers' }),
    workers.length
      ? table(
          ['Worker', 'Last seen'],
          workers.map((w) => [w.id, when(w.lastSeenAt)]),
        )
      : el('p', { className: 'muted', textContent: 'No worker registered in the last 10 s.' }),
  );
}

/** Deletes every task and schedule carrying one reference, after confirmation. */
function deleteByReference(ns: string): HTMLElement {
  const result = el('p', { className: 'muted' });
  const form = el(
    'form',
    { className: 'filters' },
    el('input', { name: 'reference', placeholder: 'reference name=value', required: true }),
    el('button', { type: 'submit', className: 'danger', textContent: 'Delete by reference' }),
  );
  form.onsubmit = async (e) => {
    e.preventDefault();
    const raw = new FormData(form).get('reference');
    if (typeof raw !== 'string' || raw.indexOf('=') <= 0) {
      result.textContent = 'A reference is name=value.';
      return;
    }
    try {
      const done = await act(
        `namespaces/${encodeURIComponent(ns)}/delete-by-reference`,
        `Delete every task and schedule carrying ${raw}? This cannot be undone.`,
        // The server reads the value as the command line does (a number, a boolean or text).
        { reference: raw },
      );
      if (done) result.textContent = `Deleted ${text(done.tasks)} tasks and ${text(done.schedules)} schedules.`;
    } catch (err) {
      result.textContent = err instanceof Error ? err.message : String(err);
    }
  };
  return el('div', {}, el('h2', { textContent: 'Delete by reference' }), form, result);
}

/** A filter form goes to `path` with its non-empty fields as the query. */
function filterTo(form: HTMLFormElement, path: string): void {
  form.onsubmit = (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (typeof v === 'string' && v !== '') q.set(k, v);
    go(`${path}?${q.toString()}`);
  };
}

/** A task's type, status, attempt and times, as table cells (the queue page's rows, the task page's summary). */
function taskCells(t: Json): (Node | string)[] {
  return [
    text(t.type),
    el('span', { className: `status-${text(t.status)}`, textContent: text(t.status) }),
    text(t.attempt),
    when(t.createdAt),
    when(t.updatedAt),
  ];
}

async function queuePage(ns: string, queue: string, params: URLSearchParams): Promise<void> {
  const status = params.get('status') ?? 'waiting';
  const statuses = ['waiting', 'delayed', 'running', 'finished', 'failed', 'cancelled'];
  const here = nsPath(ns, `/queues/${encodeURIComponent(queue)}`);
  const form = el(
    'form',
    { className: 'filters' },
    el('input', { name: 'type', placeholder: 'type', value: params.get('type') ?? '' }),
    el('input', { name: 'reference', placeholder: 'reference name=value', value: params.get('reference') ?? '' }),
    el('input', { name: 'status', type: 'hidden', value: status }),
    el('button', { type: 'submit', textContent: 'Filter' }),
  );
  filterTo(form, here);
  const search = el(
    'form',
    { className: 'filters' },
    el('input', { name: 'id', placeholder: 'task id' }),
    el('button', { type: 'submit', textContent: 'Find' }),
  );
  search.onsubmit = (e) => {
    e.preventDefault();
    const id = new FormData(search).get('id');
    if (typeof id === 'string' && id.trim() !== '') go(nsPath(ns, `/tasks/${encodeURIComponent(id.trim())}`));
  };
  const tabs = el(
    'div',
    { className: 'tabs' },
    ...statuses.map((s) => link(`${here}?status=${s}`, s, s === status ? 'active' : '')),
  );
  main.replaceChildren(el('h1', { textContent: `Queue ${queue}` }), tabs, form, search);
  const query = new URLSearchParams(params);
  query.set('status', status);
  query.set('limit', '50');
  let page: Json;
  try {
    page = await api(
      `namespaces/${encodeURIComponent(ns)}/queues/${encodeURIComponent(queue)}/tasks?${query.toString()}`,
    );
  } catch (err) {
    if (err instanceof ApiError && err.status === 400) {
      main.append(el('p', { className: 'error', textContent: `Bad request: ${err.message}` }));
      return;
    }
    throw err;
  }
  const tasks = page.tasks as Json[];
  main.append(
    tasks.length
      ? table(
          ['Id', 'Type', 'Status', 'Attempt', 'Created', 'Updated'],
          tasks.map((t) => [link(nsPath(ns, `/tasks/${encodeURIComponent(text(t.id))}`), text(t.id)), ...taskCells(t)]),
        )
      : el('p', { className: 'muted', textContent: 'No tasks on this page.' }),
  );
  if (typeof page.next === 'string') {
    const next = new URLSearchParams(params);
    next.set('status', status);
    next.set('after', page.next);
    main.append(link(`${here}?${next.toString()}`, 'Next page →'));
  }
}

async function taskPage(ns: string, id: string): Promise<void> {
  let page: Json;
  try {
    page = await api(`namespaces/${encodeURIComponent(ns)}/tasks/${encodeURIComponent(id)}`);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      notFound(`No task ${id} in ${ns}.`);
      return;
    }
    throw err;
  }
  const task = page.task as Json | null;
  const timeline = page.timeline as Json[];
  const taskPath = `namespaces/${encodeURIComponent(ns)}/tasks/${encodeURIComponent(id)}`;
  const buttons: HTMLElement[] = [];
  if (!session.readOnly && task) {
    if (task.status === 'waiting' || task.status === 'running')
      buttons.push(
        el('button', {
          className: 'danger',
          textContent: 'Cancel',
          onclick: async () => (await act(`${taskPath}/cancel`, `Cancel task ${id}?`)) && route(),
        }),
      );
    if (task.status === 'failed' || task.status === 'cancelled')
      buttons.push(
        el('button', {
          textContent: 'Retry',
          onclick: async () => (await act(`${taskPath}/retry`, `Run task ${id} again?`)) && route(),
        }),
      );
  }
  main.replaceChildren(
    el('h1', { textContent: `Task ${id}` }),
    task
      ? table(
          ['Queue', 'Type', 'Status', 'Attempt', 'Created', 'Updated'],
          [[link(nsPath(ns, `/queues/${encodeURIComponent(text(task.queue))}`), text(task.queue)), ...taskCells(task)]],
        )
      : el('p', {
          className: 'muted',
          textContent: 'Its projection is gone (retention or a delete); its history remains.',
        }),
    el('div', {}, ...buttons),
    ...(task
      ? (['spec', 'progress', 'result', 'error'] as const).flatMap((k) =>
          task[k] === null || task[k] === undefined
            ? []
            : [el('h3', { textContent: k }), el('pre', { textContent: text(task[k]) })],
        )
      : []),
    el('h2', { textContent: 'Timeline' }),
    table(
      ['Time', 'Event', 'Attempt', 'After', 'Data'],
      timeline.map((e) => [
        when(e.at),
        text(e.type),
        text(e.attempt),
        e.sincePreviousMs === null ? '' : `+${text(e.sincePreviousMs)} ms`,
        el('pre', { textContent: text(e.data) }),
      ]),
    ),
  );
}

function livePage(ns: string, params: URLSearchParams): void {
  const log = el('div', { id: 'log' });
  const problem = el('p', { className: 'muted', role: 'status' });
  const form = el(
    'form',
    { className: 'filters' },
    el('input', { name: 'queue', placeholder: 'queue', value: params.get('queue') ?? '' }),
    el('input', { name: 'type', placeholder: 'task type', value: params.get('type') ?? '' }),
    el('input', { name: 'event', placeholder: 'events (enqueued,failed,…)', value: params.get('event') ?? '' }),
    el('button', { type: 'submit', textContent: 'Filter' }),
  );
  filterTo(form, nsPath(ns, '/live'));
  let source: EventSource | undefined;
  let last: string | undefined;
  const rows = el('tbody');
  const open = () => {
    const q = new URLSearchParams(params);
    if (last) q.set('after', last);
    source = new EventSource(`api/namespaces/${encodeURIComponent(ns)}/live?${q.toString()}`);
    // Where a new tail starts: a pause before any event resumes from there.
    source.addEventListener('start', (m) => {
      last ??= (m as MessageEvent<string>).lastEventId;
      log.dataset.after = last;
    });
    // A refused stream (a filter naming no event) is not retried by the browser: say so.
    source.onerror = () => {
      if (source?.readyState === EventSource.CLOSED)
        problem.textContent = 'The live log stopped: the server refused the stream (an unknown event in the filter?).';
    };
    source.addEventListener('task-event', (m) => {
      const e = JSON.parse((m as MessageEvent<string>).data) as Json;
      last = (m as MessageEvent<string>).lastEventId;
      log.dataset.after = last;
      rows.prepend(
        el(
          'tr',
          {},
          el('td', { textContent: when(e.at) }),
          el('td', { textContent: text(e.type) }),
          el(
            'td',
            {},
            e.taskId ? link(nsPath(ns, `/tasks/${encodeURIComponent(text(e.taskId))}`), text(e.taskId)) : '',
          ),
          el('td', {}, el('pre', { textContent: text(e.data) })),
        ),
      );
      while (rows.children.length > 500) rows.lastElementChild?.remove();
    });
  };
  const pause = el('button', { type: 'button', textContent: 'Pause' });
  pause.onclick = () => {
    if (source) {
      source.close();
      source = undefined;
      pause.textContent = 'Resume';
    } else {
      open();
      pause.textContent = 'Pause';
    }
  };
  log.append(
    el(
      'table',
      {},
      el('thead', {}, el('tr', {}, ...['Time', 'Event', 'Task', 'Data'].map((h) => el('th', { textContent: h })))),
      rows,
    ),
  );
  main.replaceChildren(el('h1', { textContent: 'Live log' }), form, pause, problem, log);
  open();
  leave = () => source?.close();
}

async function schedulesPage(ns: string): Promise<void> {
  const { schedules } = (await api(`namespaces/${encodeURIComponent(ns)}/schedules`)) as { schedules: Json[] };
  main.replaceChildren(
    el('h1', { textContent: 'Schedules' }),
    schedules.length
      ? table(
          ['Queue', 'Type', 'Cron', 'Time zone', 'Next run', 'Last run'],
          schedules.map((s) => [
            text(s.queue),
            text(s.type),
            text(s.cronSchedule),
            text(s.timezone),
            when(s.nextRunAt),
            s.lastRunAt ? when(s.lastRunAt) : 'never',
          ]),
        )
      : el('p', { className: 'muted', textContent: 'No schedules.' }),
  );
}

function notFound(message: string): void {
  document.title = 'Not found · taskledger';
  main.replaceChildren(el('h1', { textContent: '404: not found' }), el('p', { textContent: message }));
}

// ------------------------------------------------------------------------------------------------ routing

function go(path: string): void {
  history.pushState(null, '', new URL(path, document.baseURI));
  void route();
}

async function route(): Promise<void> {
  leave?.();
  leave = undefined;
  const url = new URL(location.href);
  const path = decodeURI(url.pathname.slice(base.length));
  const parts = url.pathname.slice(base.length).split('/').filter(Boolean).map(decodeURIComponent);
  const ns = parts[0] === 'ns' ? parts[1]! : session.namespaces[0]!;
  nsSelect.value = ns;
  nav.replaceChildren(
    ...(
      [
        ['Overview', nsPath(ns)],
        ['Live log', nsPath(ns, '/live')],
        ['Schedules', nsPath(ns, '/schedules')],
      ] as const
    ).map(([label, href]) => link(href, label, path === href ? 'active' : '')),
  );
  document.title = `${ns} · taskledger`;
  try {
    if (parts.length > 0 && parts[0] !== 'ns') {
      notFound(`Nothing at ${path}.`);
      return;
    }
    if (!session.namespaces.includes(ns)) {
      notFound(`No namespace ${ns} here.`);
      return;
    }
    const [, , page, arg] = parts;
    if (page === undefined) await overviewPage(ns);
    else if (page === 'queues' && arg) await queuePage(ns, arg, url.searchParams);
    else if (page === 'tasks' && arg) await taskPage(ns, arg);
    else if (page === 'live') livePage(ns, url.searchParams);
    else if (page === 'schedules') await schedulesPage(ns);
    else notFound(`Nothing at ${path}.`);
  } catch (err) {
    if (err instanceof ApiError && (err.status === 503 || err.status === 0)) {
      // Tried again until Redis answers; the banner says why.
      const timer = setTimeout(() => void route(), 2000);
      leave = () => clearTimeout(timer);
      return;
    }
    main.replaceChildren(
      el('p', { className: 'error', textContent: err instanceof Error ? err.message : String(err) }),
    );
  }
}

document.addEventListener('click', (e) => {
  const a = (e.target as Element).closest('a[data-nav]');
  if (!a || e.ctrlKey || e.metaKey || e.shiftKey) return;
  e.preventDefault();
  go(a.getAttribute('href') ?? './');
});
window.addEventListener('popstate', () => void route());
nsSelect.onchange = () => go(nsPath(nsSelect.value));

async function start(): Promise<void> {
  for (;;) {
    try {
      session = (await api('session')) as unknown as Session;
      break;
    } catch {
      await new Promise((res) => setTimeout(res, 2000));
    }
  }
  nsSelect.replaceChildren(...session.namespaces.map((n) => el('option', { value: n, textContent: n })));
  document.body.dataset.readOnly = String(session.readOnly);
  await route();
}

void start();
