import { FileStore } from './file-store.js';
import { archiveOptions, SegmentArchive, type ArchiveOptions } from './segment-archive.js';
import { ValidationError } from '../errors.js';

/**
 * An archive in a local directory (docs/archive.md). The directory must exist: it is never created, so a
 * typo cannot archive to a wrong place (open() says ArchiveUnavailableError). Every write is fsync'd and
 * renamed into place.
 */
export class FileArchive extends SegmentArchive {
  constructor(dir: string, options: ArchiveOptions = {}) {
    if (typeof dir !== 'string' || dir.trim() === '')
      throw new ValidationError('FileArchive needs a directory path (a non-blank string)');
    super(new FileStore(dir), archiveOptions(options, ['hmacKey'], 'FileArchive options'));
  }
}
