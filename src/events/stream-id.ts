/** Stream ids (`<ms>-<seq>`): the position of an event in the log and its time. */

export const STREAM_ID = /^\d+(-\d+)?$/;

/** Milliseconds part of a stream id: the event time. */
export function streamIdMs(id: string): string {
  const dash = id.indexOf('-');
  return dash < 0 ? id : id.slice(0, dash);
}

function parts(id: string): [bigint, bigint] {
  const dash = id.indexOf('-');
  return dash < 0 ? [BigInt(id), 0n] : [BigInt(id.slice(0, dash)), BigInt(id.slice(dash + 1))];
}

/** Orders two stream ids: negative when a comes first (a sequence of its own is 0 when absent). */
export function compareStreamIds(a: string, b: string): number {
  // Most ids' parts fit a double exactly (ms: 13 digits, small sequences): compared as numbers, with no
  // BigInt made; a sequence near 2^64 (previousStreamId's) takes the exact path.
  if (a.length <= 30 && b.length <= 30) {
    const ad = a.indexOf('-');
    const bd = b.indexOf('-');
    const ams = Number(ad < 0 ? a : a.slice(0, ad));
    const bms = Number(bd < 0 ? b : b.slice(0, bd));
    const aseq = ad < 0 ? 0 : Number(a.slice(ad + 1));
    const bseq = bd < 0 ? 0 : Number(b.slice(bd + 1));
    if (
      Number.isSafeInteger(ams) &&
      Number.isSafeInteger(bms) &&
      Number.isSafeInteger(aseq) &&
      Number.isSafeInteger(bseq)
    )
      return ams !== bms ? (ams < bms ? -1 : 1) : aseq === bseq ? 0 : aseq < bseq ? -1 : 1;
  }
  const [ams, aseq] = parts(a);
  const [bms, bseq] = parts(b);
  if (ams !== bms) return ams < bms ? -1 : 1;
  return aseq === bseq ? 0 : aseq < bseq ? -1 : 1;
}

/** The largest id before `id`, so that XREAD (exclusive) starts at `id` itself. */
export function previousStreamId(id: string): string {
  const [ms, seq] = parts(id);
  if (seq > 0n) return `${ms}-${seq - 1n}`;
  return ms > 0n ? `${ms - 1n}-18446744073709551615` : '0-0';
}

/** The smallest id after `id`: XTRIM MINID with it removes `id` and everything before. */
export function nextStreamId(id: string): string {
  const [ms, seq] = parts(id);
  return `${ms}-${seq + 1n}`;
}
