/**
 * Where an archive keeps its files: a directory, or a bucket and prefix. Names are flat (no slashes).
 * SegmentArchive holds all the archive logic once; a store only moves bytes.
 */
export interface BlobStore {
  /** For messages: the directory, or the bucket and prefix. */
  readonly location: string;
  /**
   * Throws ArchiveUnavailableError when the place cannot be read, or with `write` cannot be written.
   * Leaves nothing behind.
   */
  probe(write: boolean): Promise<void>;
  /** Stores bytes under name, replacing any: once it resolves they are durable, and readers see old or new whole. */
  put(name: string, bytes: Uint8Array): Promise<void>;
  /** The bytes stored under name, or null when there are none. */
  get(name: string): Promise<Uint8Array | null>;
  /** Every stored name (not the leftovers of interrupted puts). */
  list(): Promise<string[]>;
  /** Removes name; removing what is not there is not an error. */
  delete(name: string): Promise<void>;
  /** Removes what interrupted puts left behind. Only the single writer calls it, between its own puts. */
  sweep?(): Promise<void>;
  /**
   * A store beside this one's own names, under `name`: a subdirectory (made on first write), or a longer
   * prefix. Where the archive of each partition but the first lives (§20).
   */
  child?(name: string): BlobStore;
}
