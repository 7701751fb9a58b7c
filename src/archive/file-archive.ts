import { FileStore } from './file-store.js';
import { SegmentArchive, type ArchiveOptions } from './segment-archive.js';

/**
 * An archive in a local directory (docs/archive.md). The directory must exist: it is never created, so a
 * typo cannot archive to a wrong place (open() says ArchiveUnavailableError). Every write is fsync'd and
 * renamed into place.
 */
export class FileArchive extends SegmentArchive {
  constructor(dir: string, options: ArchiveOptions = {}) {
    super(new FileStore(dir), options);
  }
}
