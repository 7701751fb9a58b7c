/** CRC16-CCITT (XMODEM), as Redis Cluster hashes keys to slots: slot = crc16(tag) mod 16384. */
const TABLE = new Uint16Array(256);
for (let i = 0; i < 256; i++) {
  let c = i << 8;
  for (let j = 0; j < 8; j++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
  TABLE[i] = c;
}

const encoder = new TextEncoder();

/** The CRC16 of a string's UTF-8 bytes. */
export function crc16(text: string): number {
  let crc = 0;
  for (const byte of encoder.encode(text)) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ byte) & 0xff]!;
  return crc;
}

export const SLOTS = 16384;

/** The Redis Cluster slot of a key: its hash tag (the text inside the first non-empty `{…}`) or the whole key. */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) return crc16(key.slice(open + 1, close)) % SLOTS;
  }
  return crc16(key) % SLOTS;
}
