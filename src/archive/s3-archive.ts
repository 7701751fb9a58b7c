import { S3Store, type S3ArchiveClient } from './s3-store.js';
import { SegmentArchive, type ArchiveOptions } from './segment-archive.js';

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
    super(new S3Store(options.client, options.bucket, options.prefix), options);
  }
}
