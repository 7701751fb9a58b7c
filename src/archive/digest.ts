import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** sha256 of bytes or text, as hex. */
export const sha256Hex = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');

/** HMAC-SHA256 of text under key, as hex. */
export const hmacHex = (key: string | Uint8Array, text: string): string =>
  createHmac('sha256', key).update(text).digest('hex');

/** Compares two hex digests in constant time (a signature check should not leak how much matched). */
export function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
