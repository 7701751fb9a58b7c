/**
 * The key layout. Every key of a namespace carries the hash tag `{namespace}`, so every Lua call touches
 * keys of one hash slot and runs unchanged on Redis Cluster. A task id alone names its keys: no lookup.
 * docs/architecture.md describes each key.
 */
export interface Keys {
  readonly namespace: string;
  /** The partition these keys belong to (0 for a namespace of one partition) and its hash tag (§20). */
  readonly partition: number;
  readonly tag: string;
  /** Hash: format version and other namespace metadata. */
  readonly meta: string;
  /** Stream: the event log, every transition of every task. */
  readonly events: string;
  /** Set: every queue name that has seen an enqueue. */
  readonly queues: string;
  /** Sorted set: running task ids scored by heartbeat deadline (ms, Redis clock). */
  readonly running: string;
  /**
   * Stream: a short stream that wakes blocked readers when a task becomes delayed (enqueue with a delay, a
   * retry), so that they recompute how long to wait. Trimmed to a few entries.
   */
  readonly wake: string;
  /** Hash: all-time counts of tasks that ended, by `<status>:<queue>` (finished, failed, cancelled). */
  readonly counts: string;
  /**
   * Sorted set of one member, `max`, scored by the largest heartbeatTtlMs an instance opened the namespace
   * with: how far ahead of Redis TIME a heartbeat deadline can be while the clock runs steadily.
   */
  readonly heartbeatTtl: string;
  /**
   * Hash: tasks started, finished and failed per minute, `<minute>:<status>:<queue>` (minute = ms / 60000), for the
   * last 60 minutes (includes/count-minute.lua), and `pruned`, the minute it last dropped older ones at.
   */
  readonly throughput: string;
  /** String: short lock that lets one instance at a time run a recovery pass. */
  readonly recoveryLock: string;
  /** String: lock that lets one instance at a time run a compaction pass (renewed while the pass runs). */
  readonly compactionLock: string;
  /**
   * Formats 2 to 5 only (sorted sets: ended task ids of one status, scored by the time they ended), which
   * the ended index replaced: read and removed by the migration to format 6.
   */
  endedSet(status: EndedStatus): string;
  /**
   * Sorted set, all scored 0: every ended task as `<status>:<queue bytes>:<queue>:<ended ms, 15 digits>:<id>`,
   * so that one queue's tasks of one status page by end time with ZRANGEBYLEX (includes/ended-member.lua):
   * the task lists, and what retention removes.
   */
  readonly endedIndex: string;
  /** Hash: the projection of one task. */
  task(id: string): string;
  /**
   * Stream: ready entries of one queue at one priority level, read through the consumer group. Level 0
   * (the default) is `{ns}:ready:<queue>`; level p > 0 is `{ns}:ready@<p>:<queue>`, a different prefix, so no
   * queue name can make one level's key another's.
   */
  ready(queue: string, priority?: number): string;
  /** Set: `<priority>:<queue>` for every priority level above 0 a queue has used (never shrinks). */
  readonly levels: string;
  /**
   * Hash: per queue, its controls and live counts: `active:<q>` (running tasks, a projection of the task
   * statuses), `paused:<q>`, `concurrency:<q>`, `rate:<q>` (`<max> <perMs>`), `aging:<q>` (ms) (the
   * projection of `queue-options` events), and `hold:<q>` (Redis ms until which a RateLimitedError holds
   * the queue; transient, not a projection).
   */
  readonly controls: string;
  /** List: the Redis times (ms) of a rate-limited queue's latest starts, newest first, at most `max`. */
  rate(queue: string): string;
  /** String: the id of the task that holds one deduplication key. */
  dedup(key: string): string;
  /** Sorted set: waiting tasks of one queue not due yet (delayed or retrying), scored by due time (ms). */
  delayed(queue: string): string;
  /** Set: ids of tasks that carry one reference (schedules have their own sets, scheduleReference). */
  reference(name: string, value: string | number | boolean): string;
  /** Prefix shared by all task reference sets, for SCAN (verify). */
  readonly referencePrefix: string;
  /** Hash: one cron schedule. */
  schedule(id: string): string;
  /** Sorted set: schedule ids scored by next run time (ms). */
  readonly schedules: string;
  /** Set: ids of schedules that carry one reference. */
  scheduleReference(name: string, value: string | number | boolean): string;
  /** String: the scheduler leader's lease (a token, with a TTL). */
  readonly schedulerLeader: string;
  /** Prefix shared by all task hashes, for SCAN. */
  readonly taskPrefix: string;
}

/** The statuses a task ends in; each has a retention. */
export type EndedStatus = 'finished' | 'failed' | 'cancelled';
export const ENDED_STATUSES: readonly EndedStatus[] = ['finished', 'failed', 'cancelled'];

/** The consumer group every ready stream is read through. */
export const GROUP = 'workers';

/** Priority levels: 0 (the default) to MAX_PRIORITY; higher runs first. */
export const MAX_PRIORITY = 9;
/**
 * One consumer name for all readers. Pending entries are recovered by idle time, never by consumer, so
 * per-process consumer names would only pile up in every group for ever.
 */
export const CONSUMER = 'taskledger';

/** The keys of one partition of a namespace; partition 0's tag is the namespace itself (partitions/layout.ts). */
export function keysFor(namespace: string, partitionTag = namespace, partition = 0): Keys {
  const tag = `{${partitionTag}}`;
  return {
    namespace,
    partition,
    tag: partitionTag,
    meta: `${tag}:meta`,
    events: `${tag}:events`,
    queues: `${tag}:queues`,
    running: `${tag}:running`,
    heartbeatTtl: `${tag}:heartbeat-ttl`,
    recoveryLock: `${tag}:recovery-lock`,
    compactionLock: `${tag}:compaction-lock`,
    endedSet: (status) => `${tag}:ended:${status}`,
    endedIndex: `${tag}:ended-by-queue`,
    wake: `${tag}:wake`,
    counts: `${tag}:counts`,
    throughput: `${tag}:throughput`,
    taskPrefix: `${tag}:task:`,
    task: (id) => `${tag}:task:${id}`,
    ready: (queue, priority = 0) => (priority === 0 ? `${tag}:ready:${queue}` : `${tag}:ready@${priority}:${queue}`),
    levels: `${tag}:levels`,
    controls: `${tag}:controls`,
    rate: (queue) => `${tag}:rate:${queue}`,
    dedup: (key) => `${tag}:dedup:${key}`,
    delayed: (queue) => `${tag}:delayed:${queue}`,
    reference: (name, value) => `${tag}:ref:${encodeURIComponent(name)}=${JSON.stringify(value)}`,
    referencePrefix: `${tag}:ref:`,
    schedule: (id) => `${tag}:schedule:${id}`,
    schedules: `${tag}:schedules`,
    scheduleReference: (name, value) => `${tag}:sref:${encodeURIComponent(name)}=${JSON.stringify(value)}`,
    schedulerLeader: `${tag}:scheduler-leader`,
  };
}
