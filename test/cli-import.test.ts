import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { useRedis } from './helpers/fixture.js';
import { namespace, tempDir } from './helpers/redis.js';
import { runCli } from './helpers/cli.js';

const r = useRedis();

const T0 = 1_760_000_000_000;

/** An export line as `export` writes it. */
function line(id: string, type: string, taskId: string, data: Record<string, unknown>): string {
  const ms = Number(id.split('-')[0]);
  return JSON.stringify({ id, at: new Date(Number.isFinite(ms) ? ms : 0).toISOString(), type, taskId, data });
}

/** `n` tasks enqueued, one event each, ids one millisecond apart. */
function enqueued(n: number, spec: unknown = { n: 1 }): string[] {
  return Array.from({ length: n }, (_, i) =>
    line(`${T0 + i}-0`, 'enqueued', `task-${i}`, {
      queue: 'q',
      type: 't',
      spec,
      references: { batch: 1 },
      maxAttempts: 3,
      readyId: `${T0 + i}-0`,
    }),
  );
}

function file(lines: string[]): string {
  const dir = tempDir('import');
  onTestFinished(() => dir.remove());
  const path = join(dir.path, 'log.ndjson');
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

/** Every key of the namespace. */
async function keysOf(ns: string, url = r.url): Promise<string[]> {
  const raw = url === r.url ? r.raw() : (await r.ownServer()).raw();
  return raw.keys(`{${ns}}:*`);
}

describe('taskledger import', { timeout: 120_000 }, () => {
  it('refuses an out-of-order id anywhere in the file, naming its line, and writes nothing', async () => {
    const lines = enqueued(1600);
    // Line 1501 goes back in time.
    lines[1500] = lines[1500]!
      .replace(`"id":"${T0 + 1500}-0"`, `"id":"${T0 + 10}-5"`)
      .replace(new Date(T0 + 1500).toISOString(), new Date(T0 + 10).toISOString());
    const path = file(lines);
    const ns = namespace();
    const run = await runCli(r.url, ['--namespace', ns, 'import', path]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/log\.ndjson:1501: id \S+ is not after the previous id/);
    expect(run.stdout).not.toMatch(/imported/);
    expect(await keysOf(ns)).toEqual([]);
  });

  it('refuses ids Redis would refuse (abc, 0-0), and unknown event types, with nothing left behind', async () => {
    const ns = namespace();
    const abc = await runCli(r.url, ['--namespace', ns, 'import', file([line('abc', 'enqueued', 'x', {})])]);
    expect(abc.code).toBe(2);
    expect(abc.stderr).toMatch(/:1: .*id/);
    const zero = await runCli(r.url, ['--namespace', ns, 'import', file([line('0-0', 'enqueued', 'x', {})])]);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toMatch(/:1: id 0-0 must be greater than 0-0/);
    const lines = enqueued(10);
    lines[6] = line(`${T0 + 6}-1`, 'exploded', 'task-1', {});
    const unknown = await runCli(r.url, ['--namespace', ns, 'import', file(lines)]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/:7: event \S+: unknown event type "exploded"/);
    expect(await keysOf(ns)).toEqual([]);
    // Nothing was left behind, so a good file is taken afterwards.
    const ok = await runCli(r.url, ['--namespace', ns, '--json', 'import', file(enqueued(10))]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ events: 10, tasks: 10 });
    // The imported events first, then the rebuild's (each waiting task gets a ready entry here).
    const [first] = await r.raw().xrange(`{${ns}}:events`, '-', '+', 'COUNT', 1);
    expect(first![0]).toBe(`${T0}-0`);
  });

  it('checks each event as a live write is checked: names, JSON, the fields its type needs, its task', async () => {
    const ns = namespace();
    const cases: [string, RegExp][] = [
      [
        line(`${T0}-0`, 'enqueued', 'a', { queue: 'q\u0007', type: 't', spec: 1, maxAttempts: 1 }),
        /queue holds a control or bidi character/,
      ],
      [line(`${T0}-0`, 'enqueued', 'a', { queue: 'q', type: 't', maxAttempts: 1 }), /enqueued events need spec/],
      [
        line(`${T0}-0`, 'enqueued', 'a', { queue: 'q', type: 't', spec: 1, maxAttempts: 0 }),
        /maxAttempts must be at least 1/,
      ],
      [
        line(`${T0}-0`, 'enqueued', 'a', { queue: 'q', type: 't', spec: 1, maxAttempts: 1, task: 'b' }),
        /"task" is reserved/,
      ],
      [
        line(`${T0}-0`, 'enqueued', 'a', { queue: { x: 1 }, type: 't', spec: 1, maxAttempts: 1 }),
        /queue must be a string/,
      ],
      [line(`${T0}-0`, 'started', 'a', { attempt: 1 }), /started for task a, which no earlier event enqueued/],
      [line(`${T0}-0`, 'enqueued', '', { queue: 'q', type: 't', spec: 1, maxAttempts: 1 }), /task id/],
      [
        JSON.stringify({ id: `${T0}-0`, at: new Date(T0 + 5).toISOString(), type: 'deleted', taskId: 'a', data: {} }),
        /is not the time of its id/,
      ],
    ];
    for (const [text, message] of cases) {
      const run = await runCli(r.url, ['--namespace', ns, 'import', file([text])]);
      expect(run.code, text).toBe(2);
      expect(run.stderr, text).toMatch(/:1: /);
      expect(run.stderr, text).toMatch(message);
    }
    expect(await keysOf(ns)).toEqual([]);
  });

  it('a write Redis refuses part way (out of memory) is reported, exits non-zero, and leaves nothing', async () => {
    const own = await r.ownServer();
    const raw = own.raw();
    const ns = namespace();
    // About 6 MB of events against 1 MB of room: Redis refuses the writes part way through.
    const path = file(enqueued(3000, { pad: 'x'.repeat(2000) }));
    const used = Number(/used_memory:(\d+)/.exec(await raw.info('memory'))![1]);
    await raw.config('SET', 'maxmemory', String(used + 1_000_000));
    await raw.config('SET', 'maxmemory-policy', 'noeviction');
    onTestFinished(async () => {
      await raw.config('SET', 'maxmemory', '0');
    });
    const run = await runCli(own.url, ['--namespace', ns, 'import', path]);
    await raw.config('SET', 'maxmemory', '0');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/import failed, nothing imported: .*OOM/);
    expect(run.stdout).not.toMatch(/imported/);
    expect(await keysOf(ns, own.url)).toEqual([]);
  });
});
