import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FOLD_RULES, foldAll, type ProjectionHash, type RawEvent } from '../src/index.js';
import { entryToRawEvent } from '../src/events/codec.js';
import { loadInclude } from '../src/redis/scripts.js';
import { useRedis } from './helpers/fixture.js';
import { namespace } from './helpers/redis.js';

/**
 * Recorded logs (scripts/record-history.mjs) replayed through today's code: a change to the fold that would
 * read an old log differently fails here, in TypeScript and in Lua alike.
 */
const r = useRedis();
// history-v1: the first recording (no delays or retries yet); history-v2: every event type of format 1;
// history-v3: format 2, a log trimmed by compaction (snapshots, an expired event, a compacted record) with
// the same workload again on top; history-v4: format 3, the same with results and errors apart from
// progress, a retry that clears an error, and ends without a lease; history-v5: format 4, the same with
// priorities and a change of one, a dedup debounce, queue options (snapshotted by compaction) and a
// rate-limited release.
const FIXTURES = ['history-v1', 'history-v2', 'history-v3', 'history-v4', 'history-v5'];
const CORE = ['enqueued', 'started', 'progress', 'finished', 'failed', 'cancelled', 'requeued', 'deleted'];
const FORMAT_1 = [...CORE, 'retrying', 'promoted'];
// The task events of formats 2 and 3: all but those format 4 added.
const FORMAT_3 = Object.keys(FOLD_RULES).filter((t) => t !== 'reprioritized' && t !== 'replaced');
const TYPES: Record<string, string[]> = {
  'history-v1': CORE,
  'history-v2': FORMAT_1,
  'history-v3': [...FORMAT_3, 'expired', 'compacted'],
  'history-v4': [...FORMAT_3, 'expired', 'compacted'],
  'history-v5': [...Object.keys(FOLD_RULES), 'expired', 'compacted', 'queue-options'],
};

function load(name: string) {
  const base = new URL(`./fixtures/${name}`, import.meta.url);
  const entries = readFileSync(`${base.pathname}.events.ndjson`, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { id: string; fields: string[] });
  const projections = JSON.parse(readFileSync(`${base.pathname}.projections.json`, 'utf8')) as Record<
    string,
    ProjectionHash | null
  >;
  return { entries, projections };
}

const sorted = (h: ProjectionHash | null | undefined) => (h ? Object.fromEntries(Object.entries(h).sort()) : null);

describe.each(FIXTURES)('recorded log %s', (name) => {
  const { entries, projections } = load(name);
  const events: RawEvent[] = entries.map((e) => entryToRawEvent([e.id, e.fields]));

  it('covers the event types of its time', () => {
    expect(new Set(events.map((e) => e.type))).toEqual(new Set(TYPES[name]));
  });

  it('folds in TypeScript to the projections Redis held', () => {
    const folded = foldAll(events);
    for (const [id, expected] of Object.entries(projections)) expect(sorted(folded.get(id)), id).toEqual(expected);
  });

  it('folds in Lua (includes/fold-apply.lua) to the same projections', async () => {
    const raw = r.raw();
    // Drives fold_apply (generated from fold-rules.ts) over recorded events: KEYS[1] is a key prefix in a test-only slot.
    const driver = `${loadInclude('fold-apply')}
      local i = 1
      while i <= #ARGV do
        local id, etype, task, n = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3])
        local fields = {}
        for j = 1, 2 * n do fields[j] = ARGV[i + 3 + j] end
        if etype == 'expired' then
          -- As expire.lua removes them: the listed tasks' hashes go.
          for t in string.gmatch(fields[2 * n], '%S+') do redis.call('DEL', KEYS[1] .. t) end
        elseif etype ~= 'compacted' and etype ~= 'queue-options' then
          fold_apply(KEYS[1] .. task, id, string.match(id, '^(%d+)'), etype, fields)
        end
        i = i + 4 + 2 * n
      end
      return 1`;
    const prefix = `{${namespace()}}:replay-${name}:task:`; // a test namespace: removed after the file on REDIS_URL
    const args: string[] = [];
    for (const e of events) {
      // `tasks` last: the driver reads an expired event's list from its last field.
      const pairs = Object.entries(e.fields).sort(([a], [b]) => Number(a === 'tasks') - Number(b === 'tasks'));
      args.push(e.id, e.type, e.taskId, String(pairs.length), ...pairs.flat());
    }
    // One key declared per task would be the rule for production scripts; this driver writes under a prefix.
    await raw.eval(driver, 1, prefix, ...args);
    for (const [id, expected] of Object.entries(projections)) {
      const h = await raw.hgetall(prefix + id);
      expect(Object.keys(h).length ? sorted(h) : null, id).toEqual(expected);
    }
  });

  it('rebuild() on a copy of the log reproduces the projections', async () => {
    const q = r.queue();
    const raw = r.raw();
    for (const e of entries) await raw.xadd(`{${q.namespace}}:events`, e.id, ...e.fields);
    const report = await q.rebuild();
    expect(report.events).toBe(entries.length);
    for (const [id, expected] of Object.entries(projections)) {
      const h = await raw.hgetall(`{${q.namespace}}:task:${id}`);
      expect(Object.keys(h).length ? sorted(h) : null, id).toEqual(expected);
    }
    expect((await q.verify()).mismatches).toEqual([]);
  });
});

it('history-v4 holds what format 3 added: results, errors, ends without a lease, a retry after a failure', () => {
  const { entries, projections } = load('history-v4');
  const events = entries.map((e) => entryToRawEvent([e.id, e.fields]));
  const held = Object.values(projections);
  expect(held.some((h) => h?.result !== undefined)).toBe(true);
  expect(held.some((h) => h?.error !== undefined && h.status === 'finished')).toBe(true);
  expect(held.some((h) => h?.lease === '')).toBe(true);
  const retried = events.filter((e) => e.type === 'requeued' && e.fields.reason === 'retry').map((e) => e.taskId);
  expect(retried.some((id) => events.some((e) => e.taskId === id && e.type === 'failed' && e.fields.failure))).toBe(
    true,
  );
});

it('history-v5 holds what format 4 added: priorities, a debounce, a rate-limited release', () => {
  const { entries, projections } = load('history-v5');
  const events = entries.map((e) => entryToRawEvent([e.id, e.fields]));
  const reasons = events.filter((e) => e.type === 'requeued').map((e) => e.fields.reason);
  expect(reasons).toContain('rate-limited');
  const limited = events.find((e) => e.fields.reason === 'rate-limited')!;
  expect(limited.fields.attempt).toBe('0');
  const hashes = Object.values(projections).filter((h): h is ProjectionHash => h !== null);
  expect(hashes.some((h) => h.priority === '5' && h.status === 'finished')).toBe(true);
  expect(hashes.some((h) => h.dedupKey === 'order-1' && h.spec === '{"v":2}')).toBe(true);
});
