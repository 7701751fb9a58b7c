import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ArchiveCorruptError, FileArchive, ValidationError, type Archive, type TaskEvent } from '../../src/index.js';
import type { BlobStore } from '../../src/archive/blob-store.js';
import { MANIFEST_NAME } from '../../src/archive/segment-names.js';
import { encodeSegment } from '../../src/archive/segment-codec.js';
import { sha256Hex } from '../../src/archive/digest.js';
import { SegmentArchive, type ArchiveOptions } from '../../src/archive/segment-archive.js';
import type { TaskEventType } from '../../src/types.js';

/** A FileArchive in a new temp directory. */
export const tempFileArchive = (): FileArchive => new FileArchive(mkdtempSync(join(tmpdir(), 'taskledger-archive-')));

/** An event as the log would hold it: id `<ms>-<seq>`, at from the ms. */
export function ev(
  ms: number,
  seq: number,
  taskId: string,
  type = 'progress',
  data: TaskEvent['data'] = {},
): TaskEvent {
  return { id: `${ms}-${seq}`, at: new Date(ms), type: type as TaskEventType, taskId, data };
}

/** `n` events at ms `ms`, seq 0..n-1, spread over the given tasks. */
export const batch = (ms: number, n: number, tasks: string[]): TaskEvent[] =>
  Array.from({ length: n }, (_, i) => ev(ms, i, tasks[i % tasks.length]!, 'progress', { i }));

export async function all(archive: Archive, range?: Parameters<Archive['read']>[0]): Promise<TaskEvent[]> {
  const out: TaskEvent[] = [];
  for await (const e of archive.read(range)) out.push(e);
  return out;
}

/** A store that counts reads of segment files, and can fail the next put of one name (a crash there). */
export class ProbedStore implements BlobStore {
  readonly segmentReads: string[] = [];
  private failing: string | null = null;

  constructor(readonly inner: BlobStore) {}

  get location() {
    return this.inner.location;
  }
  failNextPut(name: string) {
    this.failing = name;
  }
  probe(write: boolean) {
    return this.inner.probe(write);
  }
  async put(name: string, bytes: Uint8Array) {
    if (this.failing === name) {
      this.failing = null;
      throw new Error(`simulated crash before ${name} was written`);
    }
    await this.inner.put(name, bytes);
  }
  get(name: string) {
    if (name.endsWith('.ndjson.gz')) this.segmentReads.push(name);
    return this.inner.get(name);
  }
  list() {
    return this.inner.list();
  }
  delete(name: string) {
    return this.inner.delete(name);
  }
  sweep() {
    return this.inner.sweep?.() ?? Promise.resolve();
  }
}

/** A place to keep an archive: the archive class under test on it, and the raw store behind it. */
export interface Place {
  archive(options?: ArchiveOptions): Archive;
  store: BlobStore;
}

/** Editing the stored manifest as JSON (a tamper the chain or the signatures must show). */
export async function editManifest(
  store: BlobStore,
  edit: (m: { namespace: string; segments: Record<string, unknown>[] }) => void,
): Promise<void> {
  const m = JSON.parse(Buffer.from((await store.get(MANIFEST_NAME))!).toString('utf8')) as {
    namespace: string;
    segments: Record<string, unknown>[];
  };
  edit(m);
  await store.put(MANIFEST_NAME, Buffer.from(JSON.stringify(m)));
}

/** Three segments: 10-0..10-4, 20-0..20-4, 30-0..30-4, tasks a..e. */
export async function threeSegments(archive: Archive): Promise<TaskEvent[]> {
  await archive.open('ns');
  const events = [batch(10, 5, ['a', 'b']), batch(20, 5, ['c', 'd']), batch(30, 5, ['e'])];
  for (const b of events) await archive.append(b);
  return events.flat();
}

/**
 * What every archive does, whatever its store: the same tests for FileArchive and S3Archive. `place` gives a
 * fresh, empty place per test.
 */
export function archiveBehaviours(place: () => Promise<Place>): void {
  it('gives back what it was given, in order, across instances: unicode, big specs, any event type', async () => {
    const p = await place();
    const archive = p.archive();
    await archive.open('ns');
    expect(await archive.lastId()).toBeNull();
    const big = { blob: 'x'.repeat(300_000), nested: Array.from({ length: 2000 }, (_, i) => ({ i, s: `é${i}` })) };
    const events = [
      ev(1_795_804_900_716, 0, '01TASK', 'enqueued', {
        queue: 'mail',
        spec: { to: 'zoë@exämple.com', note: '日本語 😀\n"q"\\' },
      }),
      ev(1_795_804_900_716, 1, '01TASK', 'enqueued', { spec: big }),
      { ...ev(1_795_804_900_717, 0, '', 'scheduled', { cron: '* * * * *' }), scheduleId: 'sch-1' },
      ev(1_795_804_900_718, 0, '', 'expired', { tasks: 'T1 T2' }),
      ev(1_795_804_900_719, 0, '01TASK', 'snapshot', { state: { attempt: 1 } }),
      ev(1_795_804_900_720, 0, '', 'compacted', { upTo: '1795804900719-0' }),
    ];
    const seg = await archive.append(events);
    expect(seg).toMatchObject({ seq: 0, first: events[0]!.id, last: events[5]!.id, count: 6, prev: '' });
    expect(seg.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(await all(archive)).toEqual(events);
    const again = p.archive();
    await again.open('ns');
    expect(await all(again)).toEqual(events);
    expect(await again.lastId()).toBe(events[5]!.id);
    expect(await again.segments()).toEqual([seg]);
  });

  it('refuses events out of order or not after lastId, writing nothing', async () => {
    const p = await place();
    const archive = p.archive();
    await archive.open('ns');
    await archive.append([ev(5, 0, 'a'), ev(5, 1, 'a')]);
    const refused = async (events: TaskEvent[]) => {
      await expect(archive.append(events)).rejects.toBeInstanceOf(ValidationError);
    };
    await refused([]);
    await refused([ev(5, 1, 'a')]); // equal to lastId
    await refused([ev(4, 0, 'a')]); // before it
    await refused([ev(6, 1, 'a'), ev(6, 0, 'a')]); // decreasing
    await refused([ev(6, 0, 'a'), ev(6, 0, 'a')]); // repeated
    await refused([{ ...ev(6, 0, 'a'), id: 'nope' }]);
    expect(await archive.lastId()).toBe('5-1');
    expect(await archive.segments()).toHaveLength(1);
    expect((await p.store.list()).filter((n) => n.startsWith('seg-'))).toHaveLength(2); // a segment and its filter
    // The next good append chains on as if nothing happened.
    expect(await archive.append([ev(6, 0, 'a')])).toMatchObject({ seq: 1 });
  });

  it('reads ranges across segment seams with no gap and no duplicate', async () => {
    const p = await place();
    const archive = p.archive();
    const events = await threeSegments(archive);
    const ids = events.map((e) => e.id);
    // Bounds at every id, and between segments, before the first and after the last.
    const bounds = [...ids, '1-0', '15-0', '25-0', '99-0'];
    for (const b of bounds) {
      expect((await all(archive, { from: b })).map((e) => e.id)).toEqual(ids.filter((id) => cmp(id, b) >= 0));
      expect((await all(archive, { after: b })).map((e) => e.id)).toEqual(ids.filter((id) => cmp(id, b) > 0));
      expect((await all(archive, { to: b })).map((e) => e.id)).toEqual(ids.filter((id) => cmp(id, b) <= 0));
    }
    expect((await all(archive, { from: '10-4', to: '20-0' })).map((e) => e.id)).toEqual(['10-4', '20-0']);
    expect((await all(archive, { after: '20-4', to: '30-0' })).map((e) => e.id)).toEqual(['30-0']);
    expect(await all(archive, { from: '30-0', to: '20-0' })).toEqual([]);
    await expect(all(archive, { from: 'bad' })).rejects.toBeInstanceOf(ValidationError);
  });

  it('verifies a good archive, and names the segment for a flipped byte, a deletion and a swap', async () => {
    const p = await place();
    const archive = p.archive();
    await threeSegments(archive);
    const [s0, s1, s2] = await archive.segments();
    const good = await archive.verify();
    expect(good).toMatchObject({ ok: true, segments: 3, events: 15, problems: [] });

    const bytes = Buffer.from((await p.store.get(s1!.name))!);
    bytes[bytes.length >> 1]! ^= 0x01;
    await p.store.put(s1!.name, bytes);
    const flipped = await archive.verify();
    expect(flipped.ok).toBe(false);
    expect(new Set(flipped.problems.map((x) => x.segment))).toEqual(new Set([s1!.name]));
    expect(flipped.problems.map((x) => x.problem).join()).toMatch(/sha256/);
    await expect(all(archive)).rejects.toBeInstanceOf(ArchiveCorruptError);

    await p.store.delete(s1!.name);
    expect((await archive.verify()).problems).toEqual([{ segment: s1!.name, problem: 'the segment is missing' }]);

    // Swap the other two: each name now holds the other's bytes.
    const b0 = (await p.store.get(s0!.name))!;
    const b2 = (await p.store.get(s2!.name))!;
    await p.store.put(s0!.name, b2);
    await p.store.put(s2!.name, b0);
    const swapped = await archive.verify();
    const named = new Set(swapped.problems.map((x) => x.segment));
    expect(named).toEqual(new Set([s0!.name, s1!.name, s2!.name]));
    expect(
      swapped.problems
        .filter((x) => x.segment === s2!.name)
        .map((x) => x.problem)
        .join(),
    ).toMatch(/sha256/);
  });

  it('verify names an edited manifest entry, and a wrong or missing signature', async () => {
    const p = await place();
    await threeSegments(p.archive({ hmacKey: 'k1' }));
    const keyed = p.archive({ hmacKey: 'k1' });
    const [, s1, s2] = await keyed.segments();
    expect((await keyed.verify()).ok).toBe(true);
    // Without the key: intact, and says the signatures were not checked.
    const unkeyed = await p.archive().verify();
    expect(unkeyed.ok).toBe(true);
    expect(unkeyed.notes?.map((n) => n.note).join()).toMatch(/no key/);

    const wrong = await p.archive({ hmacKey: 'k2' }).verify();
    expect(wrong.problems.map((x) => x.segment)).toEqual((await keyed.segments()).map((s) => s.name));
    expect(wrong.problems.every((x) => /signature/.test(x.problem))).toBe(true);

    // An edit a forger would make consistent: the count and the sha256 of a re-written last segment.
    await editManifest(p.store, (m) => {
      m.segments[1]!.count = 4;
    });
    const edited = await keyed.verify();
    expect(edited.problems.map((x) => x.segment)).toEqual([s1!.name, s1!.name]);
    expect(edited.problems.map((x) => x.problem).join('\n')).toMatch(/5 events, the manifest says 4[\s\S]*signature/);
    await expect(keyed.eventsOf('c')).rejects.toBeInstanceOf(ArchiveCorruptError);
    await editManifest(p.store, (m) => {
      m.segments[1]!.count = 5;
      m.segments[2]!.sha256 = 'f'.repeat(64);
    });
    const resealed = await p.archive().verify(); // without the key, the chain still shows it
    expect(resealed.problems.map((x) => x.segment)).toEqual([s2!.name]);
    expect(resealed.problems[0]!.problem).toMatch(/sha256/);
    // An unsigned entry when a key is given is a break too.
    await editManifest(p.store, (m) => {
      m.segments[2]!.sha256 = s2!.sha256;
      delete m.segments[0]!.hmac;
    });
    const unsigned = await keyed.verify();
    expect(unsigned.problems).toEqual([
      { segment: (await keyed.segments())[0]!.name, problem: expect.stringMatching(/not signed/) },
    ]);
  });

  it('verify shows a middle segment rewritten with its entry made to match: the chain breaks at the next', async () => {
    const p = await place();
    await threeSegments(p.archive());
    const [, s1, s2] = await p.archive().segments();
    // Same ids, same tasks, other data: a forgery that fits the entry's count, ids and filter.
    const forged = await encodeSegment(batch(20, 5, ['c', 'd']).map((e) => ({ ...e, data: { forged: true } })));
    await p.store.put(s1!.name, forged);
    await editManifest(p.store, (m) => {
      m.segments[1]!.sha256 = sha256Hex(forged);
      m.segments[1]!.bytes = forged.length;
    });
    const report = await p.archive().verify();
    expect(report.problems).toEqual([{ segment: s2!.name, problem: expect.stringMatching(/chain broken/) }]);
    expect((await all(p.archive(), { from: '20-0', to: '20-0' }))[0]!.data).toEqual({ forged: true });
  });

  it('verify shows an entry removed from the manifest, and a reordered manifest', async () => {
    const p = await place();
    const archive = p.archive();
    await threeSegments(archive);
    const [s0, s1, s2] = await archive.segments();
    await editManifest(p.store, (m) => {
      m.segments.splice(1, 1);
    });
    const removed = await archive.verify();
    expect(removed.ok).toBe(false);
    expect(removed.problems.map((x) => x.segment)).toContain(s2!.name);
    expect(removed.problems.find((x) => x.segment === s2!.name)!.problem).toMatch(/seq|chain/);
    await editManifest(p.store, (m) => {
      m.segments = [s0, s2, s1] as unknown as Record<string, unknown>[];
    });
    const reordered = await archive.verify();
    expect(new Set(reordered.problems.map((x) => x.segment))).toEqual(new Set([s1!.name, s2!.name]));
    expect(reordered.problems.map((x) => x.problem).join()).toMatch(/out of order/);
  });

  it('eventsOf opens only the segments whose filter may hold the task', async () => {
    const p = await place();
    const probed = new ProbedStore(p.store);
    const archive = new SegmentArchive(probed);
    await archive.open('ns');
    for (let s = 0; s < 8; s++) await archive.append(batch(100 + s, 4, [`task-${s}-a`, `task-${s}-b`]));
    await archive.append([
      ev(200, 0, 'task-3-a', 'finished'),
      ev(200, 1, '', 'expired', { tasks: 'task-5-b task-0-a' }),
    ]);
    const segs = await archive.segments();
    probed.segmentReads.length = 0;
    expect((await archive.eventsOf('task-3-a')).map((e) => e.id)).toEqual(['103-0', '103-2', '200-0']);
    expect(probed.segmentReads).toEqual([segs[3]!.name, segs[8]!.name]);
    probed.segmentReads.length = 0;
    expect((await archive.eventsOf('task-5-b')).map((e) => e.id)).toEqual(['105-1', '105-3', '200-1']);
    expect(probed.segmentReads).toEqual([segs[5]!.name, segs[8]!.name]);
    probed.segmentReads.length = 0;
    expect(await archive.eventsOf('no-such-task')).toEqual([]);
    expect(probed.segmentReads).toEqual([]);
    // A range opens only the segments it overlaps.
    probed.segmentReads.length = 0;
    expect((await all(archive, { from: '104-2', to: '105-1' })).map((e) => e.id)).toEqual([
      '104-2',
      '104-3',
      '105-0',
      '105-1',
    ]);
    expect(probed.segmentReads).toEqual([segs[4]!.name, segs[5]!.name]);
  });

  it('survives a crash between the segment and the manifest: ignored by reads, cleaned by the next append', async () => {
    const p = await place();
    const probed = new ProbedStore(p.store);
    const archive = new SegmentArchive(probed);
    await archive.open('ns');
    await archive.append(batch(10, 3, ['a']));
    probed.failNextPut('manifest.json');
    await expect(archive.append(batch(20, 3, ['b']))).rejects.toThrow(/simulated crash/);
    // The segment and its filter are stored, but no manifest names them.
    expect((await p.store.list()).filter((n) => n.startsWith('seg-20-0'))).toHaveLength(2);
    const fresh = p.archive();
    await fresh.open('ns');
    expect(await fresh.lastId()).toBe('10-2');
    expect((await all(fresh)).map((e) => e.id)).toEqual(['10-0', '10-1', '10-2']);
    expect(await fresh.eventsOf('b')).toEqual([]);
    const report = await fresh.verify();
    expect(report.ok).toBe(true);
    expect(report.notes?.map((n) => n.segment).sort()).toEqual(['seg-20-0-20-2.filter', 'seg-20-0-20-2.ndjson.gz']);
    // Compaction retries with a different batch; the orphan goes, nothing is duplicated.
    await fresh.append(batch(20, 2, ['b']));
    await fresh.append(batch(30, 1, ['c']));
    expect((await all(fresh)).map((e) => e.id)).toEqual(['10-0', '10-1', '10-2', '20-0', '20-1', '30-0']);
    expect((await p.store.list()).filter((n) => n.startsWith('seg-20-0-20-2'))).toEqual([]);
    const after = await fresh.verify();
    expect(after).toMatchObject({ ok: true, segments: 3, events: 6, notes: [] });
    // The same instance that failed recovers as well (it reads the manifest afresh).
    await archive.append(batch(40, 1, ['d']));
    expect(await fresh.lastId()).toBe('40-0');
  });

  it('a retried append of the very same events overwrites the orphan it left', async () => {
    const p = await place();
    const probed = new ProbedStore(p.store);
    const archive = new SegmentArchive(probed);
    await archive.open('ns');
    probed.failNextPut('manifest.json');
    await expect(archive.append(batch(20, 3, ['b']))).rejects.toThrow(/simulated crash/);
    expect(await archive.lastId()).toBeNull();
    expect(await archive.segments()).toEqual([]);
    await archive.append(batch(20, 3, ['b']));
    expect((await all(archive)).map((e) => e.id)).toEqual(['20-0', '20-1', '20-2']);
    expect(await archive.verify()).toMatchObject({ ok: true, notes: [] });
  });

  it('refuses another namespace’s archive and a corrupt manifest (ArchiveCorruptError); verify reports them', async () => {
    const p = await place();
    await threeSegments(p.archive());
    await expect(p.archive().open('other')).rejects.toBeInstanceOf(ArchiveCorruptError);
    const opened = p.archive();
    await opened.open('ns');
    await expect(opened.open('other')).rejects.toBeInstanceOf(ValidationError);
    await p.store.put(MANIFEST_NAME, Buffer.from('{"format":1,"namespace":'));
    await expect(p.archive().open('ns')).rejects.toBeInstanceOf(ArchiveCorruptError);
    await expect(p.archive().lastId()).rejects.toBeInstanceOf(ArchiveCorruptError);
    const report = await p.archive().verify();
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([{ segment: MANIFEST_NAME, problem: expect.stringMatching(/not JSON/) }]);
    // With no manifest at all, three segments cannot be what a crash left.
    await p.store.delete(MANIFEST_NAME);
    const gone = await p.archive().verify();
    expect(gone.ok).toBe(false);
    expect(gone.problems[0]).toEqual({
      segment: MANIFEST_NAME,
      problem: expect.stringMatching(/3 segments are not in the manifest/),
    });
  });

  it('needs open(namespace) to append, not to read', async () => {
    const p = await place();
    await threeSegments(p.archive());
    const reader = p.archive();
    expect(await reader.lastId()).toBe('30-4');
    expect((await reader.verify()).namespace).toBe('ns');
    await expect(reader.append([ev(40, 0, 'x')])).rejects.toBeInstanceOf(ValidationError);
  });
}

const cmp = (a: string, b: string) => {
  const [am, as] = a.split('-').map(Number) as [number, number];
  const [bm, bs] = b.split('-').map(Number) as [number, number];
  return am - bm || as - bs;
};
