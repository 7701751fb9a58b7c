// What the package exports for archives (src/index.ts re-exports these names).
export { FileArchive } from './file-archive.js';
export { S3Archive } from './s3-archive.js';
export type { S3ArchiveOptions, S3ArchiveClient } from './s3-archive.js';
export type { ArchiveOptions } from './segment-archive.js';
export type { Archive, ArchiveSegment, ArchiveVerifyReport } from './archive.js';
export { ArchiveUnavailableError, ArchiveCorruptError } from '../errors.js';
