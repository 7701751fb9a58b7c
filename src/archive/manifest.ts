import { z } from 'zod';
import { ArchiveCorruptError } from '../errors.js';
import { STREAM_ID } from '../events/stream-id.js';
import type { ArchiveSegment } from './archive.js';
import { hmacHex } from './digest.js';

/** The manifest layout this version writes and reads. */
export const MANIFEST_FORMAT = 1;

/** A manifest entry as written: a segment with its task filter (and, with a key, its signature). */
export type ManifestEntry = ArchiveSegment & { filter: string; filterSha256: string };

export interface Manifest {
  format: number;
  namespace: string;
  segments: ManifestEntry[];
}

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
// Loose: fields a newer writer adds are kept when this version rewrites the manifest.
const entrySchema = z.looseObject({
  seq: z.number().int().nonnegative(),
  name: z.string().min(1),
  first: z.string().regex(STREAM_ID),
  last: z.string().regex(STREAM_ID),
  count: z.number().int().positive(),
  bytes: z.number().int().nonnegative(),
  sha256: hex64,
  prev: z.union([hex64, z.literal('')]),
  filter: z.string().min(1),
  filterSha256: hex64,
  hmac: hex64.optional(),
});
const manifestSchema = z.looseObject({
  format: z.number().int().positive(),
  namespace: z.string().min(1),
  segments: z.array(entrySchema),
});

export const emptyManifest = (namespace: string): Manifest => ({ format: MANIFEST_FORMAT, namespace, segments: [] });

/** The manifest in stored bytes; ArchiveCorruptError when they are not one this version reads. */
export function parseManifest(bytes: Uint8Array, where: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new ArchiveCorruptError(`${where}: the manifest is not JSON`);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success)
    throw new ArchiveCorruptError(`${where}: not an archive manifest (${parsed.error.issues[0]?.message ?? '?'})`);
  if (parsed.data.format > MANIFEST_FORMAT)
    throw new ArchiveCorruptError(
      `${where}: manifest format ${parsed.data.format}, but this taskledger reads up to ${MANIFEST_FORMAT}; upgrade taskledger`,
    );
  return parsed.data;
}

/** One entry per line, so a manifest reads (and diffs) by segment. */
export function serializeManifest(m: Manifest): Uint8Array {
  const entries = m.segments.map((e) => `    ${JSON.stringify(e)}`).join(',\n');
  const head = `{\n  "format": ${m.format},\n  "namespace": ${JSON.stringify(m.namespace)},\n  "segments": [`;
  return Buffer.from(`${head}${entries ? `\n${entries}\n  ` : ''}]\n}\n`, 'utf8');
}

/**
 * What an entry's HMAC covers: the namespace and every field but hmac, in a fixed order, as JSON. The
 * namespace is in it so that a signed entry cannot be moved to another namespace's archive.
 */
export function canonicalEntry(namespace: string, e: ManifestEntry): string {
  const { seq, name, first, last, count, bytes, sha256, prev, filter, filterSha256 } = e;
  return JSON.stringify({ namespace, seq, name, first, last, count, bytes, sha256, prev, filter, filterSha256 });
}

export const signEntry = (key: string | Uint8Array, namespace: string, e: ManifestEntry): string =>
  hmacHex(key, canonicalEntry(namespace, e));
