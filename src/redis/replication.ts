import { Cluster } from 'ioredis';
import { NotReplicatedError, ValidationError } from '../errors.js';
import { knownKeys } from '../known-keys.js';
import { keySlot } from '../partitions/crc16.js';
import { MAX_TIMER_MS } from '../util/long-timer.js';
import type { Connection } from './connection.js';

/** `durability`: an enqueue or an end resolves only once WAIT says this many replicas have it. */
export interface DurabilityOptions {
  /** Replicas that must acknowledge the write (1 or more). */
  replicas: number;
  /** How long WAIT may take; past it the call rejects with NotReplicatedError (the write stays on the primary). */
  timeoutMs: number;
}

export function durabilityOption(value: unknown): DurabilityOptions | null {
  if (value === undefined) return null;
  knownKeys(value, ['replicas', 'timeoutMs'], 'durability', true);
  const { replicas, timeoutMs } = value as Record<string, unknown>;
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 1 || replicas > 64)
    throw new ValidationError('durability.replicas must be a whole number from 1 to 64');
  if (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_TIMER_MS)
    throw new ValidationError(`durability.timeoutMs must be a whole number of ms from 1 to ${MAX_TIMER_MS}`);
  return { replicas, timeoutMs };
}

/**
 * WAIT for the writes of one partition. WAIT counts the writes of the connection it is sent on, so it goes
 * to the connection that carried them: the partition's primary's, on a cluster. Calls that come while a
 * WAIT is out share the next one: one WAIT per round trip, however many writes.
 */
export class ReplicaWait {
  private waiting: { resolve(): void; reject(err: unknown): void }[] = [];
  private busy = false;

  constructor(
    private readonly redis: Connection,
    private readonly slotKey: string,
    private readonly options: DurabilityOptions,
  ) {}

  /** Resolves once the replicas have every write this process made on the partition before the call. */
  confirm(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      if (!this.busy) void this.round();
    });
  }

  private async round(): Promise<void> {
    this.busy = true;
    while (this.waiting.length) {
      const batch = this.waiting.splice(0);
      const { replicas, timeoutMs } = this.options;
      try {
        const acked = Number(await this.node().call('WAIT', replicas, timeoutMs));
        const err = acked < replicas ? new NotReplicatedError(acked, replicas, timeoutMs) : null;
        for (const w of batch) {
          if (err) w.reject(err);
          else w.resolve();
        }
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
    this.busy = false;
  }

  /** The connection that serves the partition's slot (on a cluster, its primary's). */
  private node(): Connection {
    if (!(this.redis instanceof Cluster)) return this.redis;
    const master = this.redis.slots[keySlot(this.slotKey)]?.[0];
    const node = this.redis.nodes('master').find((n) => `${n.options.host ?? ''}:${String(n.options.port)}` === master);
    // WAIT on any other connection counts none of the writes, and would confirm them falsely: refuse.
    if (!node) throw new NotReplicatedError(0, this.options.replicas, 0);
    return node;
  }
}
