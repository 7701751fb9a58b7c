import { ArchiveCorruptError, ValidationError } from '../errors.js';
import type { TaskEvent } from '../types.js';
import { knownKeys } from '../known-keys.js';
import type { Archive, ArchiveSegment, ArchiveVerifyReport } from './archive.js';
import type { BlobStore } from './blob-store.js';
import { sameDigest, sha256Hex } from './digest.js';
import { checkRange, inRange, overlaps, type IdRange } from './id-range.js';
import {
  emptyManifest,
  parseManifest,
  serializeManifest,
  signEntry,
  type Manifest,
  type ManifestEntry,
} from './manifest.js';
import { buildSegment, checkOrder, type BuiltSegment } from './segment-build.js';
import { decodeSegment } from './segment-codec.js';
import { MANIFEST_NAME, isSegmentFile } from './segment-names.js';
import { TaskFilter, taskIdsOf } from './task-filter.js';
import { verifyArchive } from './verify-archive.js';

export interface ArchiveOptions {
  /**
   * Signs each manifest entry (HMAC-SHA256) on append, and checks the signatures on read and verify: without
   * the key, nobody can rewrite the archive so that it still verifies.
   */
  hmacKey?: string | Uint8Array;
}

/** How many task filters eventsOf fetches at once (each is a round trip to an object store). */
const FILTER_FETCHES = 16;
/** How many task filters an instance keeps in memory (a few KB each for segments of a few thousand tasks). */
const FILTERS_CACHED = 4096;

/**
 * An Archive over a blob store (docs/archive.md): gzip'd NDJSON segments, a task filter beside each, and a
 * manifest that chains them. All the logic is here once; FileArchive and S3Archive only choose the store.
 *
 * One writer at a time (compaction's leader): appends of one instance are serialized, two instances
 * appending to one place are not supported. Every call reads the manifest afresh, so readers in other
 * processes see each append once its manifest is written. Reads work without open() (verify of an archive
 * whose namespace is not known yet); append needs open(namespace).
 */
/** Checks an archive's options as its constructor takes them (a JavaScript caller can pass anything). */
export function archiveOptions<T extends ArchiveOptions>(options: T, allowed: readonly string[], what: string): T {
  knownKeys(options, allowed, what, true);
  const key: unknown = options.hmacKey;
  if (key !== undefined && typeof key !== 'string' && !(key instanceof Uint8Array))
    throw new ValidationError(`${what}.hmacKey must be a string or bytes`);
  return options;
}

export class SegmentArchive implements Archive {
  readonly location: string;
  private namespace: string | null = null;
  private probed = false;
  /** An append may have been interrupted (and at start, one may have been): the next append cleans up first. */
  private dirty = true;
  private tail: Promise<unknown> = Promise.resolve();
  /** Filters by sha256: a stored filter never changes, so what was read once is good for good. */
  private readonly filters = new Map<string, TaskFilter>();

  constructor(
    protected readonly store: BlobStore,
    private readonly options: ArchiveOptions = {},
  ) {
    this.location = store.location;
  }

  /** Each partition's archive, made once (§20). */
  private readonly partitions = new Map<number, SegmentArchive>();

  partition(k: number): SegmentArchive {
    if (k === 0) return this;
    if (!this.store.child) throw new ValidationError(`the archive at ${this.location} cannot hold partitions`);
    let archive = this.partitions.get(k);
    if (!archive)
      this.partitions.set(k, (archive = new SegmentArchive(this.store.child(`partition-${k}`), this.options)));
    return archive;
  }

  async open(namespace: string): Promise<void> {
    if (typeof namespace !== 'string' || namespace === '')
      throw new ValidationError('an archive is opened for a namespace (a non-empty string)');
    if (this.namespace === namespace) return;
    if (this.namespace !== null)
      throw new ValidationError(
        `archive ${this.location} is open for namespace "${this.namespace}", not "${namespace}"`,
      );
    await this.store.probe(true);
    this.probed = true;
    const m = await this.readManifest();
    if (m && m.namespace !== namespace)
      throw new ArchiveCorruptError(
        `${this.location} is the archive of namespace "${m.namespace}", not "${namespace}"`,
      );
    this.namespace = namespace;
  }

  async lastId(): Promise<string | null> {
    return (await this.manifest())?.segments.at(-1)?.last ?? null;
  }

  async segments(): Promise<ArchiveSegment[]> {
    return (await this.manifest())?.segments ?? [];
  }

  append(events: readonly TaskEvent[]): Promise<ArchiveSegment> {
    const run = this.tail.then(() => this.appendNow(events));
    this.tail = run.catch(() => undefined);
    return run;
  }

  async *read(range: IdRange = {}): AsyncGenerator<TaskEvent> {
    checkRange(range);
    const m = await this.manifest();
    for (const entry of m?.segments ?? []) {
      if (!overlaps(entry.first, entry.last, range)) continue;
      for (const e of await this.readSegment(m!, entry)) if (inRange(e.id, range)) yield e;
    }
  }

  async eventsOf(taskId: string): Promise<TaskEvent[]> {
    const m = await this.manifest();
    if (!m) return [];
    const candidates = await this.segmentsThatMayHold(m, taskId);
    const out: TaskEvent[] = [];
    for (const entry of candidates)
      for (const e of await this.readSegment(m, entry)) if (taskIdsOf(e).includes(taskId)) out.push(e);
    return out;
  }

  async verify(options: { onProgress?: (done: number, total: number) => void } = {}): Promise<ArchiveVerifyReport> {
    return verifyArchive(this.store, {
      namespace: this.namespace,
      ...(this.options.hmacKey !== undefined ? { key: this.options.hmacKey } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
  }

  // ------------------------------------------------------------------------------------------ append

  /** Segment and filter first, then the manifest: until the manifest names them they do not exist. */
  private async appendNow(events: readonly TaskEvent[]): Promise<ArchiveSegment> {
    if (this.namespace === null) throw new ValidationError(`open(namespace) archive ${this.location} before appending`);
    const m = (await this.manifest()) ?? emptyManifest(this.namespace);
    checkOrder(events, m.segments.at(-1)?.last ?? null);
    const built = await buildSegment(events);
    try {
      if (this.dirty) await this.removeOrphans(m);
      await this.store.put(built.name, built.bytes);
      await this.store.put(built.filter, built.filterBytes);
      const entry = this.entryFor(m, built);
      await this.store.put(MANIFEST_NAME, serializeManifest({ ...m, segments: [...m.segments, entry] }));
      this.dirty = false;
      return entry;
    } catch (err) {
      this.dirty = true;
      throw err;
    }
  }

  private entryFor(m: Manifest, built: BuiltSegment): ManifestEntry {
    const before = m.segments.at(-1);
    const entry: ManifestEntry = {
      seq: before ? before.seq + 1 : 0,
      name: built.name,
      first: built.first,
      last: built.last,
      count: built.count,
      bytes: built.bytes.length,
      sha256: built.sha256,
      prev: before?.sha256 ?? '',
      filter: built.filter,
      filterSha256: built.filterSha256,
    };
    if (this.options.hmacKey !== undefined) entry.hmac = signEntry(this.options.hmacKey, m.namespace, entry);
    return entry;
  }

  /** What an interrupted append left: files no entry names, and the store's half-written temp files. */
  private async removeOrphans(m: Manifest): Promise<void> {
    await this.store.sweep?.();
    const known = new Set(m.segments.flatMap((e) => [e.name, e.filter]));
    for (const name of await this.store.list())
      if (isSegmentFile(name) && !known.has(name)) await this.store.delete(name);
  }

  // ------------------------------------------------------------------------------------------ read

  /** The manifest as stored now (null: an empty archive), checked against the namespace opened for. */
  private async manifest(): Promise<Manifest | null> {
    if (!this.probed) {
      await this.store.probe(false);
      this.probed = true;
    }
    const m = await this.readManifest();
    if (m && this.namespace !== null && m.namespace !== this.namespace)
      throw new ArchiveCorruptError(
        `${this.location} is now the archive of namespace "${m.namespace}", not "${this.namespace}"`,
      );
    return m;
  }

  private async readManifest(): Promise<Manifest | null> {
    const bytes = await this.store.get(MANIFEST_NAME);
    return bytes ? parseManifest(bytes, this.location) : null;
  }

  /** A segment's events, after checking its bytes (and signature) against the manifest. */
  private async readSegment(m: Manifest, entry: ManifestEntry): Promise<TaskEvent[]> {
    this.checkSignature(m, entry);
    const bytes = await this.store.get(entry.name);
    if (!bytes) throw new ArchiveCorruptError(`${this.location}: segment ${entry.name} is missing`);
    if (sha256Hex(bytes) !== entry.sha256)
      throw new ArchiveCorruptError(`${this.location}: segment ${entry.name} does not match its sha256`);
    try {
      return await decodeSegment(bytes);
    } catch (err) {
      throw new ArchiveCorruptError(
        `${this.location}: segment ${entry.name} does not decode (${err instanceof Error ? err.message : String(err)})`,
        err,
      );
    }
  }

  /** With a key, an entry is trusted (its sha256, its filter) only once its signature checks. */
  private checkSignature(m: Manifest, entry: ManifestEntry): void {
    const key = this.options.hmacKey;
    if (key === undefined) return;
    if (!entry.hmac || !sameDigest(signEntry(key, m.namespace, entry), entry.hmac))
      throw new ArchiveCorruptError(`${this.location}: segment ${entry.name} has a bad or missing signature`);
  }

  private async segmentsThatMayHold(m: Manifest, taskId: string): Promise<ManifestEntry[]> {
    const keep: boolean[] = [];
    for (let i = 0; i < m.segments.length; i += FILTER_FETCHES) {
      const batch = m.segments.slice(i, i + FILTER_FETCHES);
      keep.push(...(await Promise.all(batch.map((e) => this.mayHold(m, e, taskId)))));
    }
    return m.segments.filter((_, i) => keep[i]);
  }

  private async mayHold(m: Manifest, entry: ManifestEntry, taskId: string): Promise<boolean> {
    this.checkSignature(m, entry);
    const filter = await this.filterOf(entry);
    return filter ? filter.mayHold(taskId) : true;
  }

  /** The entry's filter, or null when it is missing or damaged: then the segment is read (verify reports it). */
  private async filterOf(entry: ManifestEntry): Promise<TaskFilter | null> {
    const cached = this.filters.get(entry.filterSha256);
    if (cached) return cached;
    const bytes = await this.store.get(entry.filter);
    if (!bytes || sha256Hex(bytes) !== entry.filterSha256) return null;
    try {
      const filter = TaskFilter.fromBytes(bytes, entry.filter);
      if (this.filters.size >= FILTERS_CACHED) this.filters.clear(); // bounded memory; they are read again
      this.filters.set(entry.filterSha256, filter);
      return filter;
    } catch {
      return null;
    }
  }
}
