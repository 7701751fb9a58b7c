import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { NotScheduledError, Scheduler, ValidationError, nextRun, type TaskQueue } from '../src/index.js';
import { sleep, useRedis } from './helpers/fixture.js';
import { namespace } from './helpers/redis.js';

const r = useRedis();
const CHILD = fileURLToPath(new URL('./fixtures/scheduler-child.mjs', import.meta.url));

const open: Scheduler[] = [];
function scheduler(ns: string, opts: Partial<ConstructorParameters<typeof Scheduler>[0]> = {}) {
  const s = new Scheduler({ connection: r.url, namespace: ns, leaseMs: 1000, pollIntervalMs: 100, ...opts });
  open.push(s);
  return s;
}
async function stopAll() {
  await Promise.all(open.splice(0).map((s) => s.stop()));
}

/** The ticks of the tasks a schedule emitted, in ms, sorted. */
async function ticks(q: TaskQueue, scheduleId: string): Promise<number[]> {
  const out: number[] = [];
  for await (const e of q.events()) {
    if (e.type === 'enqueued' && (e.data.references as Record<string, unknown>).scheduleId === scheduleId)
      out.push(e.data.scheduledAt as number);
  }
  return out.sort((a, b) => a - b);
}

function expectConsecutiveSeconds(list: number[]) {
  expect(new Set(list).size).toBe(list.length); // none doubled
  for (let i = 1; i < list.length; i++) expect(list[i]! - list[i - 1]!).toBe(1000); // none missing
}

describe('next run computation (fixed dates, no waiting)', () => {
  it('fires a daily 09:00 Europe/Berlin schedule at local 09:00 across both DST changes', () => {
    const runs = (from: string, n: number) => {
      const out: string[] = [];
      let t = Date.parse(from);
      for (let i = 0; i < n; i++) out.push(new Date((t = nextRun('0 9 * * *', 'Europe/Berlin', t))).toISOString());
      return out;
    };
    // Spring forward on 2026-03-29: 09:00 CET is 08:00Z, 09:00 CEST is 07:00Z.
    expect(runs('2026-03-27T12:00:00Z', 3)).toEqual([
      '2026-03-28T08:00:00.000Z',
      '2026-03-29T07:00:00.000Z',
      '2026-03-30T07:00:00.000Z',
    ]);
    // Fall back on 2026-10-25.
    expect(runs('2026-10-23T12:00:00Z', 3)).toEqual([
      '2026-10-24T07:00:00.000Z',
      '2026-10-25T08:00:00.000Z',
      '2026-10-26T08:00:00.000Z',
    ]);
  });

  it('reads 6 fields with seconds and @aliases', () => {
    expect(nextRun('*/15 * * * * *', 'UTC', Date.parse('2026-01-01T00:00:01Z'))).toBe(
      Date.parse('2026-01-01T00:00:15Z'),
    );
    expect(nextRun('@hourly', 'UTC', Date.parse('2026-01-01T00:10:00Z'))).toBe(Date.parse('2026-01-01T01:00:00Z'));
  });
});

describe('schedule, ensureSchedule, unschedule', () => {
  it('refuses bad crons and timezones, quoting them, and stores nothing', async () => {
    const ns = namespace();
    const s = scheduler(ns);
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ cronSchedule: '' }, /cronSchedule is blank/],
      [{ cronSchedule: '61 * * * *' }, /invalid cron "61 \* \* \* \*"/],
      [{ cronSchedule: 'every day' }, /invalid cron "every day"/],
      [{ cronSchedule: '* * * * * * *' }, /invalid cron "\* \* \* \* \* \* \*": expected 5 fields/],
      [{ cronSchedule: '0 9 * * *', timezone: 'Mars/Olympus' }, /unknown timezone "Mars\/Olympus"/],
      [{ cronSchedule: '0 9 * * *', catchUp: 'some' }, /catchUp must be one of one, all, none/],
      [{ cronSchedule: '0 9 * * *', queue: '' }, /queue name cannot be blank/],
    ];
    for (const [extra, message] of cases) {
      await expect(s.schedule({ queue: 'q', type: 't', cronSchedule: '* * * * *', ...extra })).rejects.toThrow(message);
    }
    await expect(s.schedule({ queue: 'q', type: 't', cronSchedule: '61 * * * *' })).rejects.toBeInstanceOf(
      ValidationError,
    );
    expect(await r.raw().keys(`{${ns}}:sched*`)).toEqual([]);
    expect(await s.listSchedules()).toEqual([]);
    await stopAll();
  });

  it('is an upsert: many concurrent callers leave one schedule; a change updates it', async () => {
    const ns = namespace();
    const callers = Array.from({ length: 10 }, () => scheduler(ns));
    const req = {
      queue: 'reports',
      type: 'daily',
      cronSchedule: '0 9 * * *',
      timezone: 'Europe/Berlin',
      references: { tenant: 7 },
      spec: { v: 1 },
    };
    const ids = await Promise.all(callers.map((s) => s.schedule(req)));
    expect(new Set(ids).size).toBe(1);
    const list = await callers[0]!.listSchedules();
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({
      id: ids[0],
      queue: 'reports',
      cronSchedule: '0 9 * * *',
      timezone: 'Europe/Berlin',
      catchUp: 'one',
      spec: { v: 1 },
    });
    expect(list[0]!.nextRunAt.getUTCHours()).toBeGreaterThanOrEqual(7);
    const q = r.queue({ namespace: ns });
    const scheduled = async () => {
      const out = [];
      for await (const e of q.events()) if (e.scheduleId) out.push(e.type);
      return out;
    };
    expect(await scheduled()).toEqual(['scheduled']); // one event, not ten
    await callers[1]!.schedule({ ...req, spec: { v: 2 } });
    expect((await callers[0]!.listSchedules())[0]!.spec).toEqual({ v: 2 });
    expect(await scheduled()).toEqual(['scheduled', 'scheduled']);
    await stopAll();
  });

  it('ensureSchedule and unschedule find a schedule by queue, type and references', async () => {
    const s = scheduler(namespace());
    const key = { queue: 'q', type: 't', references: { a: 1 } };
    await expect(s.ensureSchedule(key)).rejects.toBeInstanceOf(NotScheduledError);
    await s.schedule({ ...key, cronSchedule: '*/5 * * * *' });
    await s.ensureSchedule(key);
    await expect(s.ensureSchedule({ ...key, references: { a: 2 } })).rejects.toMatchObject({
      code: 'ERR_NOT_SCHEDULED',
    });
    expect(await s.unschedule(key)).toBe(true);
    expect(await s.unschedule(key)).toBe(false);
    await expect(s.ensureSchedule(key)).rejects.toBeInstanceOf(NotScheduledError);
    await stopAll();
  });

  it('deleteByReference removes the schedules carrying the references too', async () => {
    const ns = namespace();
    const s = scheduler(ns);
    await s.schedule({ queue: 'q', type: 't', cronSchedule: '0 * * * *', references: { tenant: 1 } });
    await s.schedule({ queue: 'q', type: 'u', cronSchedule: '0 * * * *', references: { tenant: 1, x: true } });
    await s.schedule({ queue: 'q', type: 't', cronSchedule: '0 * * * *', references: { tenant: 2 } });
    const q = r.queue({ namespace: ns });
    expect(await q.deleteByReference({ tenant: 1 })).toEqual({ tasks: 0, schedules: 2 });
    expect((await s.listSchedules()).map((x) => x.references)).toEqual([{ tenant: 2 }]);
    await stopAll();
  });
});

describe('emission', () => {
  it('three schedulers on one namespace: one leader, one task per tick, none missing, none doubled', async () => {
    const ns = namespace();
    const all = [scheduler(ns), scheduler(ns), scheduler(ns)];
    const id = await all[0]!.schedule({
      queue: 'q',
      type: 'beat',
      cronSchedule: '* * * * * *',
      references: { app: 'x' },
      spec: { hello: 1 },
    });
    await Promise.all(all.map((s) => s.start()));
    await sleep(4200);
    expect(all.filter((s) => s.isLeader)).toHaveLength(1);
    await stopAll();
    const q = r.queue({ namespace: ns });
    const list = await ticks(q, id);
    expect(list.length).toBeGreaterThanOrEqual(3);
    expectConsecutiveSeconds(list);
    // Emitted tasks carry the schedule's spec and references, the scheduleId and the tick.
    const tasks = [];
    for (let i = 0; i < list.length; i++) tasks.push(await q.dequeue(['q']));
    expect(tasks[0]).toMatchObject({ type: 'beat', spec: { hello: 1 }, references: { app: 'x', scheduleId: id } });
    expect(tasks.map((t) => t.scheduledAt!.getTime()).sort()).toEqual(list);
  });

  it('two schedulers that both believe they lead still emit each tick once', async () => {
    const ns = namespace();
    const a = scheduler(ns);
    const b = scheduler(ns);
    const id = await a.schedule({ queue: 'q', type: 't', cronSchedule: '* * * * * *', catchUp: 'all' });
    // No leases at all: both run the emission step as fast as they can, as two leaders would after a pause.
    const end = Date.now() + 3200;
    await Promise.all(
      [a, b].map(async (s) => {
        while (Date.now() < end) {
          await s.emitDue();
          await sleep(5);
        }
      }),
    );
    const list = await ticks(r.queue({ namespace: ns }), id);
    expect(list.length).toBeGreaterThanOrEqual(2);
    expectConsecutiveSeconds(list);
    await stopAll();
  });

  it('missed ticks: catchUp one runs once, all runs each, none skips them', async () => {
    const ns = namespace();
    const s = scheduler(ns);
    const ids: Record<string, string> = {};
    for (const catchUp of ['one', 'all', 'none'] as const) {
      ids[catchUp] = await s.schedule({ queue: 'q', type: catchUp, cronSchedule: '*/10 * * * * *', catchUp });
    }
    // Everything was down for a minute: the next run time each schedule holds is a minute old.
    const raw = r.raw();
    const [sec] = await raw.time();
    const past = Math.floor((Number(sec) - 60) / 10) * 10_000;
    for (const id of Object.values(ids)) {
      await raw.hset(`{${ns}}:schedule:${id}`, 'nextRunAt', past);
      await raw.zadd(`{${ns}}:schedules`, past, id);
    }
    const errors: unknown[] = [];
    s.on('error', (e) => errors.push(e));
    await s.emitDue();
    expect(errors).toEqual([]);
    const q = r.queue({ namespace: ns });
    const one = await ticks(q, ids.one!);
    const all = await ticks(q, ids.all!);
    expect(one).toHaveLength(1);
    expect(one[0]!).toBeGreaterThan(past + 40_000); // the latest missed tick
    expect(all.length).toBeGreaterThanOrEqual(6);
    expect(all[0]).toBe(past);
    expect(await ticks(q, ids.none!)).toEqual([]);
    for (const x of await s.listSchedules()) expect(x.nextRunAt.getTime()).toBeGreaterThan(Number(sec) * 1000 - 1000);
    await stopAll();
  });

  it('a leader killed with SIGKILL is replaced within leaseMs + one poll, losing and doubling no tick', async () => {
    const ns = namespace();
    const setup = scheduler(ns);
    const id = await setup.schedule({ queue: 'q', type: 't', cronSchedule: '* * * * * *', catchUp: 'all' });
    const leaseMs = 1000;
    const pollMs = 100;
    const children: ChildProcess[] = [];
    for (let i = 0; i < 3; i++) {
      const child = spawn(process.execPath, [CHILD, r.url, ns, String(leaseMs), String(pollMs)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      children.push(child);
      await new Promise<void>((res) => child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && res()));
    }
    try {
      const raw = r.raw();
      await sleep(2500);
      const leaderToken = await raw.get(`{${ns}}:scheduler-leader`);
      const leaderPid = Number(leaderToken!.split(':')[1]);
      const leader = children.find((c) => c.pid === leaderPid)!;
      expect(leader).toBeDefined();
      const killedAt = Date.now();
      await new Promise<void>((res) => {
        leader.once('exit', () => res());
        leader.kill('SIGKILL');
      });
      let taken = 0;
      while (!taken) {
        const token = await raw.get(`{${ns}}:scheduler-leader`);
        if (token && token !== leaderToken) taken = Date.now();
        else await sleep(10);
        if (Date.now() - killedAt > 10_000) throw new Error('no new leader within 10 s');
      }
      expect(taken - killedAt).toBeLessThanOrEqual(leaseMs + pollMs + 200);
      await sleep(2500);
    } finally {
      for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
      await stopAll();
    }
    const list = await ticks(r.queue({ namespace: ns }), id);
    expect(list.length).toBeGreaterThanOrEqual(5);
    expectConsecutiveSeconds(list);
  });
});

describe('scheduler leaders killed one after another', () => {
  it('three leaders killed with SIGKILL in turn: each replaced, no tick lost or doubled', async () => {
    const ns = namespace();
    const setup = scheduler(ns);
    const id = await setup.schedule({ queue: 'q', type: 't', cronSchedule: '* * * * * *', catchUp: 'all' });
    const spawnOne = async () => {
      const child = spawn(process.execPath, [CHILD, r.url, ns, '1000', '100'], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise<void>((res) => child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && res()));
      return child;
    };
    const children: ChildProcess[] = [await spawnOne(), await spawnOne(), await spawnOne()];
    const raw = r.raw();
    const leaderToken = async () => {
      for (let i = 0; i < 1000; i++) {
        const token = await raw.get(`{${ns}}:scheduler-leader`);
        if (token) return token;
        await sleep(10);
      }
      throw new Error('no leader');
    };
    try {
      for (let kill = 0; kill < 3; kill++) {
        const token = await leaderToken();
        await sleep(1200); // it emits a tick or so first
        const leader = children.find((c) => c.pid === Number(token.split(':')[1]))!;
        expect(leader).toBeDefined();
        await new Promise<void>((res) => {
          leader.once('exit', () => res());
          leader.kill('SIGKILL');
        });
        children.push(await spawnOne());
        // A new leader, not the dead one, whose lease ran out.
        for (let i = 0; i < 1000 && (await leaderToken()) === token; i++) await sleep(10);
        expect(await leaderToken()).not.toBe(token);
      }
      await sleep(1500);
    } finally {
      for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
      await stopAll();
    }
    const list = await ticks(r.queue({ namespace: ns }), id);
    expect(list.length).toBeGreaterThanOrEqual(6);
    expectConsecutiveSeconds(list);
  });
});

describe('scheduler robustness', () => {
  it('never emits a tick before its time, even when the schedule changes under the emitter', async () => {
    const ns = namespace();
    const s = scheduler(ns);
    const id = await s.schedule({ queue: 'q', type: 't', cronSchedule: '* * * * * *' });
    // The emitter read a due run time, then the schedule moved to the future (a cron change): the stale
    // read must not enqueue the future tick now.
    const raw = r.raw();
    const [sec] = await raw.time();
    const future = (Number(sec) + 3600) * 1000;
    await raw.hset(`{${ns}}:schedule:${id}`, 'nextRunAt', future);
    await raw.zadd(`{${ns}}:schedules`, 0, id); // index says due, hash says next hour
    await s.emitDue();
    expect(await ticks(r.queue({ namespace: ns }), id)).toEqual([]);
    expect(Number(await raw.hget(`{${ns}}:schedule:${id}`, 'nextRunAt'))).toBe(future);
    expect(Number(await raw.zscore(`{${ns}}:schedules`, id))).toBe(future); // the index was put right
    await stopAll();
  });

  it('one broken schedule does not hold up the others', async () => {
    const ns = namespace();
    const s = scheduler(ns);
    const errors: unknown[] = [];
    s.on('error', (e) => errors.push(e));
    const broken = await s.schedule({ queue: 'q', type: 'broken', cronSchedule: '* * * * * *' });
    const good = await s.schedule({ queue: 'q', type: 'good', cronSchedule: '* * * * * *' });
    await r.raw().hset(`{${ns}}:schedule:${broken}`, 'timezone', 'Not/AZone');
    await sleep(1100);
    await s.emitDue();
    expect((await ticks(r.queue({ namespace: ns }), good)).length).toBeGreaterThanOrEqual(1);
    expect(errors.length).toBeGreaterThanOrEqual(1);
    await stopAll();
  });

  it('stop() racing start() leaves no timer, lease or connection behind', async () => {
    const ns = namespace();
    const s = scheduler(ns);
    const starting = s.start();
    await s.stop();
    await starting;
    await sleep(300);
    expect(s.isLeader).toBe(false);
    expect(await r.raw().get(`{${ns}}:scheduler-leader`)).toBeNull();
    await stopAll(); // the fixture then checks that no connection was left open
  });

  it('refuses hashed "H" fields and the reserved scheduleId reference; reads equal spellings as one schedule', async () => {
    const ns = namespace();
    const s = scheduler(ns);
    await expect(s.schedule({ queue: 'q', type: 't', cronSchedule: 'H * * * *' })).rejects.toThrow(/"H"/);
    await expect(
      s.schedule({ queue: 'q', type: 't', cronSchedule: '* * * * *', references: { scheduleId: 'x' } }),
    ).rejects.toThrow(/scheduleId/);
    await s.schedule({
      queue: 'q',
      type: 't',
      cronSchedule: '0  9 * * *',
      timezone: 'utc',
      references: { a: 1, b: 2 },
    });
    await s.schedule({ queue: 'q', type: 't', cronSchedule: '0 9 * * *', timezone: 'UTC', references: { b: 2, a: 1 } });
    const events = [];
    for await (const e of r.queue({ namespace: ns }).events()) events.push(e.type);
    expect(events).toEqual(['scheduled']);
    expect((await s.listSchedules())[0]).toMatchObject({ cronSchedule: '0 9 * * *', timezone: 'UTC' });
    await stopAll();
  });
});
