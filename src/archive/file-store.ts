import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ArchiveUnavailableError } from '../errors.js';
import type { BlobStore } from './blob-store.js';

/** Names starting with this are puts in progress (or left by a crash): never listed, swept by the writer. */
const TEMP = '.tmp-';

const codeOf = (err: unknown) => (err as NodeJS.ErrnoException | null)?.code;

/**
 * A directory as a blob store. Every put writes a temp file, fsyncs it, renames it over the name and fsyncs
 * the directory: after a crash a name holds its old bytes or its new ones, whole, never a torn file.
 * The directory must exist: it is never created, so a typo cannot archive to a wrong place.
 */
export class FileStore implements BlobStore {
  readonly location: string;

  /** `made`: a child's directory, made (inside its parent, which must exist) on the first write. */
  constructor(
    private readonly dir: string,
    private readonly made = false,
  ) {
    this.location = resolve(dir);
  }

  child(name: string): FileStore {
    return new FileStore(join(this.dir, name), true);
  }

  async probe(write: boolean): Promise<void> {
    if (write && this.made)
      await mkdir(this.dir).catch((err: unknown) => {
        if (codeOf(err) !== 'EEXIST' && codeOf(err) !== 'ENOENT') throw err;
      });
    const info = await stat(this.dir).catch((err: unknown) => {
      throw new ArchiveUnavailableError(
        `archive directory ${this.location} cannot be used (${codeOf(err) ?? String(err)}): it must exist, it is never created`,
        err,
      );
    });
    if (!info.isDirectory()) throw new ArchiveUnavailableError(`archive directory ${this.location} is not a directory`);
    if (!write) return;
    const probe = join(this.dir, `${TEMP}probe-${randomBytes(6).toString('hex')}`);
    try {
      await this.writeSynced(probe, new Uint8Array(0));
      // A writer's sweep may have taken it already: gone is as good as removed.
      await unlink(probe).catch((err: unknown) => {
        if (codeOf(err) !== 'ENOENT') throw err;
      });
    } catch (err) {
      throw new ArchiveUnavailableError(
        `archive directory ${this.location} is not writable (${codeOf(err) ?? String(err)})`,
        err,
      );
    }
  }

  async put(name: string, bytes: Uint8Array): Promise<void> {
    const temp = join(this.dir, `${TEMP}${name}-${randomBytes(6).toString('hex')}`);
    await this.guard(`write ${name}`, async () => {
      await this.writeSynced(temp, bytes);
      await rename(temp, join(this.dir, name));
      await this.syncDir();
    });
  }

  async get(name: string): Promise<Uint8Array | null> {
    try {
      return await readFile(join(this.dir, name));
    } catch (err) {
      if (codeOf(err) === 'ENOENT') return null;
      throw this.unavailable(`read ${name}`, err);
    }
  }

  async list(): Promise<string[]> {
    const names = await this.guard('list', () =>
      // A partition's directory not made yet holds nothing.
      readdir(this.dir).catch((err: unknown) => {
        if (this.made && codeOf(err) === 'ENOENT') return [];
        throw err;
      }),
    );
    return names.filter((n) => !n.startsWith(TEMP)).sort();
  }

  async delete(name: string): Promise<void> {
    await this.guard(`delete ${name}`, async () => {
      await unlink(join(this.dir, name)).catch((err: unknown) => {
        if (codeOf(err) !== 'ENOENT') throw err;
      });
      await this.syncDir();
    });
  }

  async sweep(): Promise<void> {
    const names = await this.guard('list', () => readdir(this.dir));
    for (const name of names.filter((n) => n.startsWith(TEMP))) await this.delete(name);
  }

  private async writeSynced(path: string, bytes: Uint8Array): Promise<void> {
    const file = await open(path, 'wx');
    try {
      await file.writeFile(bytes);
      await file.sync();
    } finally {
      await file.close();
    }
  }

  /** A rename is durable only once the directory entry is: fsync the directory. */
  private async syncDir(): Promise<void> {
    const handle = await open(this.dir, 'r');
    try {
      await handle.sync();
    } catch (err) {
      // Some platforms (Windows) cannot fsync a directory; there the rename is as durable as it gets.
      if (!['EISDIR', 'EINVAL', 'EPERM', 'EBADF'].includes(codeOf(err) ?? '')) throw err;
    } finally {
      await handle.close();
    }
  }

  private async guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.unavailable(what, err);
    }
  }

  private unavailable(what: string, err: unknown): ArchiveUnavailableError {
    return new ArchiveUnavailableError(
      `archive directory ${this.location}: cannot ${what} (${codeOf(err) ?? String(err)})`,
      err,
    );
  }
}
