import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { ReadContext } from '../context/read-context.js';

/** A worker not heard from for this long is gone: its partitions go to the others. */
export const WORKER_TTL_MS = 10_000;
/** How often a worker renews its entry and reads who else is alive. */
export const WORKER_BEAT_MS = 1_000;

/** The namespace-wide worker registry (partition 0's slot). */
export function workersKey(ctx: ReadContext): string {
  return `{${ctx.layout[0]!.tag}}:workers`;
}

/** FNV-1a, 32 bits, with a final mix: the rendezvous score of a worker for a partition. */
function score(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

/**
 * The partitions a worker owns among the live workers, by rendezvous hashing: each partition goes to the
 * worker with the highest score for it. A worker that comes or goes moves only the partitions it wins or
 * held, about P / W of them.
 */
export function ownedPartitions(me: string, workers: readonly string[], partitions: number): number[] {
  const live = workers.includes(me) ? workers : [...workers, me];
  const owned: number[] = [];
  for (let p = 0; p < partitions; p++) {
    let best = '';
    let bestScore = -1;
    for (const w of live) {
      const s = score(`${w}/${p}`);
      if (s > bestScore || (s === bestScore && w < best)) {
        best = w;
        bestScore = s;
      }
    }
    if (best === me) owned.push(p);
  }
  return owned;
}

/** One worker's entry in the registry: renewed as the worker reads, removed when it closes. */
export class WorkerRegistration {
  readonly id = `${hostname()}:${process.pid}:${randomUUID()}`;
  private beatAt = -Infinity;
  private ownedNow: number[];

  constructor(
    private readonly ctx: ReadContext,
    private readonly partitions: number,
  ) {
    // Until the first heartbeat answers, a worker reads every partition.
    this.ownedNow = Array.from({ length: partitions }, (_, p) => p);
  }

  /** Whether the entry is due for renewal (WORKER_BEAT_MS since the last). */
  get due(): boolean {
    return performance.now() - this.beatAt >= WORKER_BEAT_MS;
  }

  /** The partitions this worker owns, renewing its entry when WORKER_BEAT_MS has passed. */
  async owned(): Promise<readonly number[]> {
    if (this.due) {
      this.beatAt = performance.now();
      try {
        const live = (await this.ctx.scripts.workers(workersKey(this.ctx), this.id, WORKER_TTL_MS)) as string[];
        this.ownedNow = ownedPartitions(this.id, live, this.partitions);
      } catch {
        // Redis unreachable: keep the partitions known; the reads report the failure.
      }
    }
    return this.ownedNow;
  }

  /** Leaves the registry, so that the partitions move on at once rather than after WORKER_TTL_MS. */
  async leave(): Promise<void> {
    await this.ctx.scripts.workers(workersKey(this.ctx), this.id, 0).catch(() => undefined);
  }
}
