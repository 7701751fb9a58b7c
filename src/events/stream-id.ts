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
