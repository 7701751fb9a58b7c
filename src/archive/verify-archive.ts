import { ArchiveCorruptError } from '../errors.js';
import { compareStreamIds } from '../events/stream-id.js';
import type { TaskEvent } from '../types.js';
import type { ArchiveVerifyReport } from './archive.js';
import type { BlobStore } from './blob-store.js';
import { sameDigest, sha256Hex } from './digest.js';
import { parseManifest, signEntry, type Manifest, type ManifestEntry } from './manifest.js';
import { decodeSegment } from './segment-codec.js';
import { MANIFEST_NAME, isSegment, isSegmentFile, segmentName } from './segment-names.js';
import { TaskFilter, taskIdsOf } from './task-filter.js';

export interface VerifyOptions {
  key?: string | Uint8Array;
  /** The namespace the archive was opened for, if any: a manifest naming another is a break. */
  namespace: string | null;
  onProgress?: (segmentsDone: number, segmentsTotal: number) => void;
}

type Report = ArchiveVerifyReport & { notes: { segment: string; note: string }[] };

/**
 * Checks everything an archive's manifest claims, segment by segment, and reports every break by segment
 * name. Writes nothing. Throws only when the store cannot be read at all (ArchiveUnavailableError).
 */
export async function verifyArchive(store: BlobStore, opts: VerifyOptions): Promise<ArchiveVerifyReport> {
  await store.probe(false);
  const report: Report = { ok: true, segments: 0, events: 0, problems: [], notes: [] };
  const names = await store.list();
  const manifest = await loadForVerify(store, report);
  if (manifest === undefined) return finish(report);
  checkOrphans(names, manifest, report);
  if (!manifest) return finish(report);
  report.namespace = manifest.namespace;
  if (opts.namespace !== null && manifest.namespace !== opts.namespace)
    problem(report, MANIFEST_NAME, `it is the archive of namespace "${manifest.namespace}", not "${opts.namespace}"`);
  if (!opts.key && manifest.segments.some((e) => e.hmac))
    report.notes.push({
      segment: MANIFEST_NAME,
      note: 'entries are signed, but no key was given: signatures not checked',
    });
  const total = manifest.segments.length;
  for (const [i, entry] of manifest.segments.entries()) {
    checkEntry(entry, manifest.segments[i - 1], i, report);
    const events = await checkSegment(store, entry, report);
    await checkFilter(store, entry, events, report);
    if (opts.key) checkSignature(opts.key, manifest.namespace, entry, report);
    opts.onProgress?.(i + 1, total);
  }
  report.segments = total;
  return finish(report);
}

const problem = (r: Report, segment: string, text: string) => r.problems.push({ segment, problem: text });

function finish(r: Report): ArchiveVerifyReport {
  r.ok = r.problems.length === 0;
  return r;
}

/** The manifest, null when there is none, undefined (reported) when it does not parse. */
async function loadForVerify(store: BlobStore, report: Report): Promise<Manifest | null | undefined> {
  const bytes = await store.get(MANIFEST_NAME);
  if (!bytes) return null;
  try {
    return parseManifest(bytes, store.location);
  } catch (err) {
    if (!(err instanceof ArchiveCorruptError)) throw err;
    problem(report, MANIFEST_NAME, err.message);
    return undefined;
  }
}

/**
 * Files no manifest entry names. One interrupted append leaves at most one segment (the next append
 * removes it before writing): that is a note. More than one, or segments with no manifest at all, cannot
 * come from a crash: the manifest was removed or replaced by an older one.
 */
function checkOrphans(names: string[], manifest: Manifest | null, report: Report): void {
  const known = new Set(manifest?.segments.flatMap((e) => [e.name, e.filter]) ?? []);
  const orphans = names.filter((n) => isSegmentFile(n) && !known.has(n));
  for (const name of orphans)
    report.notes.push({ segment: name, note: 'not in the manifest: left by an interrupted append' });
  const segments = orphans.filter(isSegment).length;
  if (segments > 1)
    problem(
      report,
      MANIFEST_NAME,
      `${segments} segments are not in the manifest (a crash leaves at most one): the manifest was removed or replaced`,
    );
}

/** The entry against its place in the chain: seq, prev, id order, name. */
function checkEntry(entry: ManifestEntry, before: ManifestEntry | undefined, i: number, report: Report): void {
  const seg = entry.name;
  if (entry.seq !== i) problem(report, seg, `seq ${entry.seq} at position ${i}: an entry was removed or moved`);
  if (entry.prev !== (before?.sha256 ?? ''))
    problem(
      report,
      seg,
      `chain broken: prev is not the sha256 of the segment before it${before ? ` (${before.name})` : ''}: a segment was altered, removed or reordered`,
    );
  if (compareStreamIds(entry.first, entry.last) > 0)
    problem(report, seg, `first ${entry.first} is after last ${entry.last}`);
  if (before && compareStreamIds(entry.first, before.last) <= 0)
    problem(report, seg, `ids out of order: first ${entry.first} is not after ${before.last} (${before.name})`);
  if (entry.name !== segmentName(entry.first, entry.last))
    problem(report, seg, `the name does not match the ids ${entry.first}..${entry.last}`);
}

/** The stored bytes against the entry: presence, size, sha256, then the events inside. Returns them. */
async function checkSegment(store: BlobStore, entry: ManifestEntry, report: Report): Promise<TaskEvent[] | null> {
  const seg = entry.name;
  const bytes = await store.get(seg);
  if (!bytes) {
    problem(report, seg, 'the segment is missing');
    return null;
  }
  if (bytes.length !== entry.bytes) problem(report, seg, `${bytes.length} bytes, the manifest says ${entry.bytes}`);
  if (sha256Hex(bytes) !== entry.sha256)
    problem(report, seg, 'sha256 does not match the manifest: the segment was altered or replaced');
  let events: TaskEvent[];
  try {
    events = await decodeSegment(bytes);
  } catch (err) {
    problem(report, seg, `does not decode: ${err instanceof Error ? err.message : String(err)}`);
    return null;
  }
  report.events += events.length;
  if (events.length !== entry.count) problem(report, seg, `${events.length} events, the manifest says ${entry.count}`);
  checkIds(entry, events, report);
  return events;
}

/** Ids strictly increasing, from the entry's first to its last. */
function checkIds(entry: ManifestEntry, events: TaskEvent[], report: Report): void {
  const seg = entry.name;
  if (events[0] && events[0].id !== entry.first)
    problem(report, seg, `the first event is ${events[0].id}, the manifest says ${entry.first}`);
  const last = events[events.length - 1];
  if (last && last.id !== entry.last)
    problem(report, seg, `the last event is ${last.id}, the manifest says ${entry.last}`);
  const outside = events.find((e) => compareStreamIds(e.id, entry.first) < 0 || compareStreamIds(e.id, entry.last) > 0);
  if (outside) problem(report, seg, `event ${outside.id} is outside ${entry.first}..${entry.last}`);
  const i = events.findIndex((e, j) => j > 0 && compareStreamIds(events[j - 1]!.id, e.id) >= 0);
  if (i > 0) problem(report, seg, `line ${i + 1}: event ${events[i]!.id} does not come after ${events[i - 1]!.id}`);
}

/** The task filter: present, its sha256, and holding every task of the segment (else eventsOf would miss one). */
async function checkFilter(
  store: BlobStore,
  entry: ManifestEntry,
  events: TaskEvent[] | null,
  report: Report,
): Promise<void> {
  const seg = entry.name;
  const bytes = await store.get(entry.filter);
  if (!bytes) {
    problem(report, seg, `its task filter ${entry.filter} is missing`);
    return;
  }
  if (sha256Hex(bytes) !== entry.filterSha256) {
    problem(report, seg, `its task filter ${entry.filter} does not match its sha256`);
    return;
  }
  let filter: TaskFilter;
  try {
    filter = TaskFilter.fromBytes(bytes, entry.filter);
  } catch (err) {
    problem(report, seg, (err as Error).message);
    return;
  }
  const missed = events?.flatMap(taskIdsOf).find((id) => !filter.mayHold(id));
  if (missed !== undefined) problem(report, seg, `its task filter does not hold task ${missed}`);
}

function checkSignature(key: string | Uint8Array, namespace: string, entry: ManifestEntry, report: Report): void {
  if (!entry.hmac) problem(report, entry.name, 'the entry is not signed (a key was given)');
  else if (!sameDigest(signEntry(key, namespace, entry), entry.hmac))
    problem(report, entry.name, 'the signature does not match: a wrong key, or the entry was edited');
}
