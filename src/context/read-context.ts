import type { Connection } from '../redis/connection.js';
import type { Keys } from '../redis/keys.js';
import type { Scripts } from '../redis/scripts.js';
import type { BlockingPool } from '../redis/blocking-pool.js';
import type { TaskDefinition } from '../task-definition.js';
import type { Lifecycle } from './lifecycle.js';
import type { Archive } from '../archive/archive.js';

/** Settings fixed when a TaskQueue or Scheduler is made. */
export interface Settings {
  /** A running task with no heartbeat for this long is stalled. */
  readonly heartbeatTtlMs: number;
  /** Starts a task gets by default. */
  readonly maxAttempts: number;
  /** A claimed entry not started within this long was lost by its reader. */
  readonly deliveryTimeoutMs: number;
  /** The most bytes of JSON a spec, progress or result may take. */
  readonly maxPayloadBytes: number;
}

/** What every command needs and never changes: the connection, scripts, keys and settings. */
export interface Deps {
  readonly redis: Connection;
  readonly scripts: Scripts;
  readonly keys: Keys;
  /** The keys of every partition of the namespace (§20), partition 0 first; `keys` is one of them. */
  readonly layout: readonly Keys[];
  /**
   * Read when the namespace opens: `legacy` while a migration from one partition is open (§20), when
   * partition 0 may hold tasks whose ids route elsewhere. Shared by every partition's context.
   */
  readonly migration: { legacy: boolean };
  /** Connections for blocking reads. */
  readonly blocking: BlockingPool;
  readonly settings: Settings;
  /** Task types declared with a schema: enqueue checks their specs. */
  readonly definitions: ReadonlyMap<string, TaskDefinition>;
  /** Where compaction put the events it trimmed: history() and events() read it too. Null when none. */
  readonly archive: Archive | null;
}

/** The read side's context: dependencies and the lifecycle, no write-side state. */
export interface ReadContext extends Deps {
  readonly life: Lifecycle;
}
