import { existsSync, mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Scheduler, serveDashboard, TaskQueue, Worker, type ServedDashboard } from '../src/index.js';
import { until, useRedis } from './helpers/fixture.js';
import { namespace, startPrivateRedis, type TestRedis } from './helpers/redis.js';

const r = useRedis();

/** Debian's chromium (or CHROMIUM_PATH): these tests drive a real browser, and fail, not skip, without one. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Screenshots of each page, used in the README. */
const SHOTS = new URL('../docs/screenshots/', import.meta.url);

let browser: Browser;
beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`no chromium at ${CHROMIUM}: install it (apt-get install chromium) or set CHROMIUM_PATH`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  mkdirSync(SHOTS, { recursive: true });
});
afterAll(async () => {
  await browser.close();
});

async function open(d: ServedDashboard, path = ''): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  onTestFinished(() => page.close());
  // Any dialog but the dashboard's own confirmations is a script that should not have run.
  page.on('dialog', (dialog) => {
    if (dialog.type() === 'confirm') void dialog.accept();
    else throw new Error(`unexpected ${dialog.type()} dialog: ${dialog.message()}`);
  });
  await page.goto(new URL(path, d.url).href);
  return page;
}

const shot = (page: Page, name: string) =>
  page.screenshot({ path: new URL(`${name}.png`, SHOTS).pathname, fullPage: true });

/** A namespace worth looking at: queues with every status, a failure, a schedule, hostile names. */
async function populated(q: TaskQueue) {
  const hostile = '<script>window.pwned=1</script>"onerror=x';
  const ids = await q.enqueueMany([
    ...Array.from({ length: 60 }, (_, i) => ({
      queue: 'mail',
      type: i % 3 ? 'send' : 'digest',
      spec: { to: `user${i}@example.com` },
      references: { account: i % 4 },
    })),
    { queue: 'images', type: 'resize', spec: { w: 640 } },
    { queue: hostile, type: hostile, spec: { note: '\u202egnp.exe\u001b[2J<img src=x onerror="window.pwned=1">' } },
  ]);
  for (let i = 0; i < 8; i++) {
    const t = await q.dequeue(['mail']);
    if (i % 4 === 3) await q.fail(t.id, { error: `smtp 550 (${i})` });
    else await q.finish(t.id, { sent: true });
  }
  const running = await q.dequeue(['images']);
  await q.heartbeat(running.id, { pct: 40 });
  const s = new Scheduler({ connection: q.redis, namespace: q.namespace });
  await s.schedule({ queue: 'mail', type: 'digest', cronSchedule: '0 7 * * *', timezone: 'Europe/Berlin' });
  await s.stop();
  return { ids, hostile, hostileId: ids[61]!, running: running.id };
}

describe('the dashboard in a browser', { timeout: 120_000 }, () => {
  it('shows every page, keeps hostile names as text, and takes each action after confirmation', async () => {
    const q = r.queue();
    const p = await populated(q);
    const d = await serveDashboard({ queue: q, port: 0 });
    onTestFinished(() => d.close());

    const page = await open(d);
    await page.getByRole('heading', { name: `Namespace ${q.namespace}` }).waitFor();
    const mailRow = page.locator('tr', { has: page.getByRole('link', { name: 'mail', exact: true }) });
    await expect(mailRow.locator('td').nth(1).textContent()).resolves.toBe('52');
    // The hostile queue name is a link whose text is the name itself; no script ran.
    await expect(page.getByRole('link', { name: p.hostile }).textContent()).resolves.toBe(p.hostile);
    expect(await page.evaluate(() => (globalThis as unknown as { pwned?: number }).pwned)).toBeUndefined();
    await page.getByRole('img', { name: 'Finished and failed per minute' }).waitFor();
    await page.getByRole('img', { name: 'Started per minute' }).waitFor();
    await shot(page, 'overview');

    // Queue: tabs, a filter, paging, and a search by id.
    await page.getByRole('link', { name: 'mail', exact: true }).click();
    await page.getByRole('heading', { name: 'Queue mail' }).waitFor();
    await expect(page.locator('tbody tr').count()).resolves.toBe(50);
    await page.getByRole('link', { name: 'Next page →' }).click();
    await until(async () => (await page.locator('tbody tr').count()) === 2);
    await page.getByRole('link', { name: 'failed', exact: true }).click();
    await until(async () => (await page.locator('tbody tr').count()) === 2);
    await page.getByRole('link', { name: 'waiting', exact: true }).click();
    await page.getByPlaceholder('type').fill('digest');
    await page.getByRole('button', { name: 'Filter' }).click();
    await until(async () => (await page.locator('tbody tr').count()) > 0);
    for (const cell of await page.locator('tbody tr td:nth-child(2)').allTextContents()) expect(cell).toBe('digest');
    await shot(page, 'queue');
    await page.goto(new URL(`ns/${q.namespace}/queues/mail?status=waiting&after=garbage`, d.url).href);
    await page.getByText(/Bad request: after must be a cursor/).waitFor();

    // Task: its spec as text, the timeline, and actions.
    await page.goto(new URL(`ns/${q.namespace}/tasks/${p.hostileId}`, d.url).href);
    await page.getByRole('heading', { name: 'Timeline' }).waitFor();
    await expect(page.locator('pre').first().textContent()).resolves.toContain('<img src=x onerror=');
    expect(await page.evaluate(() => (globalThis as unknown as { pwned?: number }).pwned)).toBeUndefined();
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.getByText('cancelled', { exact: true }).first().waitFor();
    expect((await q.get(p.hostileId))?.status).toBe('cancelled');
    await page.getByRole('button', { name: 'Retry' }).click();
    await until(async () => (await q.get(p.hostileId))?.status === 'waiting');
    expect((await q.history(p.hostileId)).map((e) => e.type)).toEqual(['enqueued', 'cancelled', 'requeued']);
    await page.goto(new URL(`ns/${q.namespace}/tasks/${p.ids[0]!}`, d.url).href);
    await page.getByRole('heading', { name: 'Timeline' }).waitFor();
    await shot(page, 'task');
    const missing = await page.goto(new URL(`ns/${q.namespace}/tasks/no-such-task`, d.url).href);
    expect(missing?.status()).toBe(404);
    await page.getByRole('heading', { name: '404: not found' }).waitFor();

    // Pause and resume from the overview.
    await page.goto(d.url);
    await mailRow.getByRole('button', { name: 'Pause' }).click();
    await mailRow.getByRole('button', { name: 'Resume' }).waitFor();
    expect((await q.getQueueOptions('mail')).paused).toBe(true);
    await mailRow.getByRole('button', { name: 'Resume' }).click();
    await mailRow.getByRole('button', { name: 'Pause' }).waitFor();
    // Delete by reference: every task carrying account=3, whatever its status.
    await page.getByPlaceholder('reference name=value').fill('account=3');
    await page.getByRole('button', { name: 'Delete by reference' }).click();
    await page.getByText('Deleted 15 tasks and 0 schedules.').waitFor();
    expect(await q.get(p.ids[3]!)).toBeNull();
    expect((await q.get(p.ids[2]!))?.status).toBe('finished');

    // Schedules.
    await page.getByRole('link', { name: 'Schedules' }).click();
    await page.getByRole('cell', { name: '0 7 * * *' }).waitFor();
    await shot(page, 'schedules');

    // Live log: new events appear; paused, none do; resumed, the ones written meanwhile come.
    await page.getByRole('link', { name: 'Live log' }).click();
    await page.getByRole('heading', { name: 'Live log' }).waitFor();
    await new Promise((res) => setTimeout(res, 300));
    const first = await q.enqueue({ queue: 'images', type: 'thumb' });
    await page.getByRole('link', { name: first }).first().waitFor();
    await page.getByRole('button', { name: 'Pause' }).click();
    const later = await q.enqueue({ queue: 'images', type: 'thumb' });
    await new Promise((res) => setTimeout(res, 500));
    await expect(page.getByRole('link', { name: later }).count()).resolves.toBe(0);
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.getByRole('link', { name: later }).first().waitFor();
    const w = new Worker(q, async () => 'ok', { queues: ['images'] });
    w.start();
    onTestFinished(() => w.close());
    await page.getByRole('cell', { name: 'finished', exact: true }).first().waitFor();
    await shot(page, 'live');
  });

  it('filters the live log by queue, task type and event; paused, it shows nothing until resumed', async () => {
    const q = r.queue();
    const d = await serveDashboard({ queue: q, port: 0 });
    onTestFinished(() => d.close());
    const page = await open(d, `ns/${q.namespace}/live`);
    await page.getByRole('heading', { name: 'Live log' }).waitFor();
    const rows = page.locator('#log tbody tr');
    /** The rows on screen, newest first, as [event, task id]. */
    const lines = async () =>
      Promise.all(
        (await rows.all()).map(async (row) => [
          await row.locator('td').nth(1).textContent(),
          await row.locator('td').nth(2).textContent(),
        ]),
      );
    const appears = (id: string) => page.getByRole('link', { name: id, exact: true }).first().waitFor();

    // The filter goes into the address and the stream; the tail starts once the stream's headers come.
    await page.getByPlaceholder('queue', { exact: true }).fill('mail');
    await page.getByPlaceholder('task type', { exact: true }).fill('send');
    await page.getByPlaceholder('events (enqueued,failed,…)', { exact: true }).fill('enqueued,finished');
    const streaming = page.waitForResponse((res) =>
      /\/live\?queue=mail&type=send&event=enqueued%2Cfinished$/.test(res.url()),
    );
    await page.getByRole('button', { name: 'Filter' }).click();
    await streaming;
    expect(new URL(page.url()).search).toBe('?queue=mail&type=send&event=enqueued%2Cfinished');

    // Paused before any event came: resumed, it shows what was written meanwhile (from where the tail began).
    await page.locator('#log[data-after]').waitFor();
    await page.getByRole('button', { name: 'Pause' }).click();
    const early = await q.enqueue({ queue: 'mail', type: 'send' });
    await page.getByRole('button', { name: 'Resume' }).click();
    await appears(early);
    await q.cancel(early); // out of the way of the tasks below (a cancel is no event the filter shows)

    // Events in two queues and two types, each task started and finished: only mail/send's enqueued and
    // finished show. The last task is enqueued after the rest, so once it shows, all the others were sent
    // (or filtered out) before it.
    const [match, otherType, otherQueue] = await q.enqueueMany([
      { queue: 'mail', type: 'send' },
      { queue: 'mail', type: 'digest' },
      { queue: 'images', type: 'send' },
    ]);
    for (const queue of ['mail', 'mail', 'images']) {
      const t = await q.dequeue([queue]);
      await q.finish(t.id, { ok: true });
    }
    const last = await q.enqueue({ queue: 'mail', type: 'send' });
    await appears(last);
    await expect(lines()).resolves.toEqual([
      ['enqueued', last],
      ['finished', match],
      ['enqueued', match],
      ['enqueued', early],
    ]);
    for (const id of [otherType!, otherQueue!])
      await expect(page.getByRole('link', { name: id }).count()).resolves.toBe(0);

    // Paused: what comes (matching or not) does not show. Resumed: the matching event written meanwhile does,
    // and still nothing else.
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByRole('button', { name: 'Resume' }).waitFor();
    const hidden = await q.enqueue({ queue: 'images', type: 'send' });
    const meanwhile = await q.enqueue({ queue: 'mail', type: 'send' });
    await new Promise((res) => setTimeout(res, 500));
    await expect(page.getByRole('link', { name: meanwhile }).count()).resolves.toBe(0);
    await expect(rows.count()).resolves.toBe(4);
    await page.getByRole('button', { name: 'Resume' }).click();
    await appears(meanwhile);
    await expect(lines()).resolves.toEqual([
      ['enqueued', meanwhile],
      ['enqueued', last],
      ['finished', match],
      ['enqueued', match],
      ['enqueued', early],
    ]);
    await expect(page.getByRole('link', { name: hidden }).count()).resolves.toBe(0);
    await page.getByRole('button', { name: 'Pause' }).waitFor();
  });

  it('read-only shows no action', async () => {
    const q = r.queue();
    const p = await populated(q);
    const d = await serveDashboard({ queue: q, port: 0, readOnly: true });
    onTestFinished(() => d.close());
    const page = await open(d, `ns/${q.namespace}/tasks/${p.ids[0]!}`);
    await page.getByRole('heading', { name: 'Timeline' }).waitFor();
    await expect(page.getByRole('button').count()).resolves.toBe(0);
    await page.goto(d.url);
    await page.getByRole('heading', { name: /^Namespace/ }).waitFor();
    await expect(page.getByRole('button', { name: 'Pause' }).count()).resolves.toBe(0);
  });

  it('shows a banner while Redis is unreachable, and recovers by itself', async () => {
    const server: TestRedis = await startPrivateRedis();
    onTestFinished(() => server.stop());
    const q = new TaskQueue({ connection: server.url, namespace: namespace() });
    onTestFinished(() => q.close());
    await q.enqueue({ queue: 'a', type: 't' });
    const d = await serveDashboard({ queue: q, port: 0 });
    onTestFinished(() => d.close());
    const page = await open(d);
    await page.getByRole('heading', { name: /^Namespace/ }).waitFor();
    await server.kill();
    await page
      .getByRole('alert')
      .filter({ hasText: /Redis cannot be reached/ })
      .waitFor({ timeout: 30_000 });
    await shot(page, 'redis-down');
    await server.restart();
    await page.getByRole('alert').waitFor({ state: 'hidden', timeout: 30_000 });
    await page.getByRole('heading', { name: /^Namespace/ }).waitFor();
  });
});
