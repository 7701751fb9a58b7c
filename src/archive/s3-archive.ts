import { S3Store, type S3ArchiveClient } from './s3-store.js';
import { archiveOptions, SegmentArchive, type ArchiveOptions } from './segment-archive.js';
import { ValidationError } from '../errors.js';

export type { S3ArchiveClient } from './s3-store.js';

export interface S3ArchiveOptions extends ArchiveOptions {
  /** An S3Client from @aws-sdk/client-s3 (an optional peer dependency: install it to use S3Archive). */
  client: S3ArchiveClient;
  bucket: string;
  /** Where in the bucket: objects are `<prefix>/manifest.json`, `<prefix>/seg-…`. Default: the bucket's root. */
  prefix?: string;
}

/**
 * An archive in an S3 bucket, or any store that speaks the S3 protocol (docs/archive.md). The bucket must
 * exist; open() says ArchiveUnavailableError when it cannot be listed or written.
 */
export class S3Archive extends SegmentArchive {
  constructor(options: S3ArchiveOptions) {
    archiveOptions(options, ['client', 'bucket', 'prefix', 'hmacKey'], 'S3Archive options');
    if (typeof (options.client as { send?: unknown } | undefined)?.send !== 'function')
      throw new ValidationError('S3Archive options.client must be an S3Client');
    if (typeof options.bucket !== 'string' || options.bucket === '')
      throw new ValidationError('S3Archive options.bucket must be a bucket name');
    if (options.prefix !== undefined && typeof options.prefix !== 'string')
      throw new ValidationError('S3Archive options.prefix must be a string');
    super(new S3Store(options.client, options.bucket, options.prefix), options);
  }
}
