import { ValidationError } from '../errors.js';
import type { TaskEvent } from '../types.js';

/**
 * Where compaction puts events before it trims them from the log. An archive accepts events in log
 * order, in segments; once `append` resolves, the segment is durable and the log may be trimmed up to its
 * last id. Reads return events exactly as the log held them (the export format, docs/export.md).
 */
export interface Archive {
  /**
   * Checks the archive can be read and written, and binds it to one namespace: an archive made for another
   * namespace is refused (ArchiveCorruptError). A missing or unwritable place is ArchiveUnavailableError.
   * Idempotent; every other method calls it first.
   */
  open(namespace: string): Promise<void>;
  /** The newest archived event id, or null when the archive is empty. */
  lastId(): Promise<string | null>;
  /**
   * Stores events as one segment: ids strictly increasing, all after lastId(). Resolves once the segment
   * and its manifest entry are durable (fsync and rename, or the object store's acknowledgement).
   */
  append(events: readonly TaskEvent[]): Promise<ArchiveSegment>;
  /** Archived events in id order; `from` inclusive, `after` exclusive, `to` inclusive. */
  read(range?: { from?: string; after?: string; to?: string }): AsyncGenerator<TaskEvent>;
  /** Every archived event of one task, in order. Reads only the segments whose task filter may hold it. */
  eventsOf(taskId: string): Promise<TaskEvent[]>;
  /** The manifest: one entry per segment, oldest first. */
  segments(): Promise<ArchiveSegment[]>;
  /** Checks the hash chain, each segment's sha256 and count, and the signatures when keyed. Writes nothing. */
  verify(options?: {
    onProgress?: (segmentsDone: number, segmentsTotal: number) => void;
  }): Promise<ArchiveVerifyReport>;
  /** For messages: where the archive is (a directory, a bucket and prefix). */
  readonly location: string;
  /**
   * The archive of partition `k` of a namespace of several (§20): this one for partition 0, else one in
   * `partition-<k>` under it, with its own manifest and chain. Without it an archive serves one partition.
   */
  partition?(k: number): Archive;
}

/** Where partition k's events are archived (§20); ValidationError when the archive cannot be split. */
export function partitionArchive(archive: Archive, k: number): Archive {
  if (k === 0) return archive;
  if (typeof archive.partition !== 'function')
    throw new ValidationError(`the archive at ${archive.location} has no partition(k): it serves one partition only`);
  return archive.partition(k);
}

/** One manifest entry. */
export interface ArchiveSegment {
  /** 0, 1, 2, ... in order. */
  seq: number;
  /** The segment's file or object name, from its first and last event id. */
  name: string;
  first: string;
  last: string;
  count: number;
  /** Size of the stored (compressed) segment. */
  bytes: number;
  /** sha256 (hex) of the stored segment bytes. */
  sha256: string;
  /** The previous segment's sha256 ('' for the first): the chain that shows a segment altered, removed or reordered. */
  prev: string;
  /** The segment's task filter (a Bloom filter of its task ids): its file or object name. */
  filter?: string;
  /** sha256 (hex) of the stored task filter. */
  filterSha256?: string;
  /** With a signing key: HMAC-SHA256 (hex) of the canonical entry (docs/archive.md). */
  hmac?: string;
}

export interface ArchiveVerifyReport {
  ok: boolean;
  segments: number;
  events: number;
  /** Each break found, naming its segment. */
  problems: { segment: string; problem: string }[];
  /** The namespace the manifest names (absent when there is no manifest). */
  namespace?: string;
  /** What is worth knowing but breaks nothing: a segment a crash left without a manifest entry, unchecked signatures. */
  notes?: { segment: string; note: string }[];
}
