import { createHash } from 'node:crypto';
import { ArchiveCorruptError } from '../errors.js';
import type { TaskEvent } from '../types.js';

/**
 * A Bloom filter of the task ids in one segment, so eventsOf(taskId) opens only the segments that may hold
 * the task. Sized for about 1% false positives; never a false negative.
 *
 * Stored as: "TLBF", a version byte (1), the number of hashes k (1 byte), the number of bits m (uint32
 * big-endian), then the m bits. Each hash is one of k probes from two 32-bit halves of sha256(id)
 * (double hashing), so the layout is the same on every platform.
 */
export class TaskFilter {
  private static readonly MAGIC = 'TLBF';
  private static readonly VERSION = 1;
  private static readonly HEADER = 10;
  /** Bits per id and probes for ~1% false positives: m/n = -ln(0.01)/ln(2)^2 ≈ 9.6, k = (m/n)·ln 2 ≈ 7. */
  private static readonly BITS_PER_ID = 9.6;
  private static readonly HASHES = 7;

  private constructor(
    private readonly bits: Uint8Array,
    private readonly m: number,
    private readonly k: number,
  ) {}

  /** A filter holding every id given. */
  static of(ids: ReadonlySet<string>): TaskFilter {
    const m = Math.max(64, Math.ceil(ids.size * TaskFilter.BITS_PER_ID));
    const filter = new TaskFilter(new Uint8Array(Math.ceil(m / 8)), m, TaskFilter.HASHES);
    for (const id of ids) for (const bit of filter.probes(id)) filter.bits[bit >>> 3]! |= 1 << (bit & 7);
    return filter;
  }

  /** Reads a stored filter; ArchiveCorruptError for bytes that are not one. */
  static fromBytes(bytes: Uint8Array, what: string): TaskFilter {
    const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const ok = view.length >= TaskFilter.HEADER && view.toString('latin1', 0, 4) === TaskFilter.MAGIC;
    if (!ok || view[4] !== TaskFilter.VERSION) throw new ArchiveCorruptError(`${what} is not a task filter`);
    const k = view[5]!;
    const m = view.readUInt32BE(6);
    if (k < 1 || m < 1 || view.length !== TaskFilter.HEADER + Math.ceil(m / 8))
      throw new ArchiveCorruptError(`${what} is not a task filter (bad size)`);
    return new TaskFilter(view.subarray(TaskFilter.HEADER), m, k);
  }

  toBytes(): Uint8Array {
    const out = Buffer.alloc(TaskFilter.HEADER + this.bits.length);
    out.write(TaskFilter.MAGIC, 0, 'latin1');
    out[4] = TaskFilter.VERSION;
    out[5] = this.k;
    out.writeUInt32BE(this.m, 6);
    out.set(this.bits, TaskFilter.HEADER);
    return out;
  }

  /** False: the segment surely holds no event of this task. True: it may. */
  mayHold(id: string): boolean {
    return this.probes(id).every((bit) => (this.bits[bit >>> 3]! & (1 << (bit & 7))) !== 0);
  }

  private probes(id: string): number[] {
    const h = createHash('sha256').update(id).digest();
    const h1 = h.readUInt32BE(0);
    const h2 = (h.readUInt32BE(4) | 1) >>> 0; // odd, so never 0: the probes move
    return Array.from({ length: this.k }, (_, i) => (h1 + i * h2) % this.m);
  }
}

/**
 * The tasks an event concerns: its taskId, and for an `expired` event the ids its data lists (`tasks`,
 * space-separated). The filter holds these, and eventsOf matches on them.
 */
export function taskIdsOf(e: TaskEvent): string[] {
  const ids = e.taskId ? [e.taskId] : [];
  const listed = e.data.tasks;
  if ((e.type as string) === 'expired' && typeof listed === 'string') ids.push(...listed.split(' ').filter(Boolean));
  return ids;
}
