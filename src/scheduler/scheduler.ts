import { createHash, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { GROUP, type Keys } from '../redis/keys.js';
import { redisNow } from '../redis/time.js';
import { idIn, partitionOfKey } from '../partitions/routing.js';
import { partitionKeys } from '../partitions/layout.js';
import { SafeEmitter } from '../util/safe-emitter.js';
import { openContext, type ContextOptions } from '../context/open.js';
import type { ReadContext } from '../context/read-context.js';
import { unschedule } from '../commands/unschedule.js';
import { NotScheduledError, TypeNotSpecifiedError, ValidationError } from '../errors.js';
import {
  intOption,
  MAX_REFERENCES,
  toJsonText,
  validateName,
  validateQueueNames,
  validateReferences,
  validateRequest,
} from '../validation.js';
import { knownKeys } from '../known-keys.js';
import type { JsonValue, References } from '../types.js';
import { timerOption } from '../util/long-timer.js';
import { CATCH_UP, planTick, nextRun, validateCron, validateTimezone, type CatchUp } from './cron.js';

export interface SchedulerOptions extends Pick<
  ContextOptions,
  'connection' | 'namespace' | 'connectTimeoutMs' | 'maxAttempts' | 'maxPayloadBytes'
> {
  /** How long a leader's lease lasts; a dead leader is replaced within this. Default 10000. */
  leaseMs?: number;
  /** How often the leader looks for due schedules (and others try to lead). Default 500. */
  pollIntervalMs?: number;
}

export interface ScheduleRequest {
  queue: string;
  type: string;
  spec?: JsonValue;
  /** 5 fields, 6 with seconds first, or an alias such as @hourly. */
  cronSchedule: string;
  /** IANA timezone the cron is read in. Default 'UTC'. */
  timezone?: string;
  references?: References;
  /** Ticks missed while no scheduler ran: run 'one' (default), 'all', or 'none' of them. */
  catchUp?: CatchUp;
}

const SCHEDULER_OPTIONS = [
  'connection',
  'namespace',
  'connectTimeoutMs',
  'maxAttempts',
  'maxPayloadBytes',
  'leaseMs',
  'pollIntervalMs',
];
const SCHEDULE_REQUEST = ['queue', 'type', 'spec', 'cronSchedule', 'timezone', 'references', 'catchUp'];
const SCHEDULE_KEY = ['queue', 'type', 'references'];

export interface ScheduleKey {
  queue: string;
  type: string;
  references?: References;
}

export interface Schedule {
  id: string;
  queue: string;
  type: string;
  spec: JsonValue;
  cronSchedule: string;
  timezone: string;
  references: References;
  catchUp: CatchUp;
  nextRunAt: Date;
  lastRunAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** What a Scheduler reports, with each event's arguments. */
export interface SchedulerEvents {
  /** A tick was enqueued as a task, delayMs after its time. */
  tick: [schedule: { id: string; queue: string; type: string }, delayMs: number, taskId: string];
  /** This instance became leader (true) or stopped leading (false). */
  leadership: [leading: boolean];
  /** A cycle failed (Redis unreachable, ...); the next one tries again. */
  error: [error: unknown];
}

/**
 * Cron schedules whose ticks enqueue tasks. Runs in every app instance; one leader (a lease in Redis)
 * emits, and each emission is one Lua call that advances the schedule only from the run time it read, so
 * no tick is enqueued twice even while leadership moves.
 */
export class Scheduler extends SafeEmitter<SchedulerEvents> {
  readonly namespace: string;
  private readonly ctx: ReadContext;
  private readonly owned: boolean;
  private readonly leaseMs: number;
  private readonly pollIntervalMs: number;
  private readonly token = `${hostname()}:${process.pid}:${randomUUID()}`;
  /** Until when (performance.now(), immune to wall-clock steps) this instance may believe it leads. */
  private leaderUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  /** The cycle in flight, if any: cycles never overlap or pile up. */
  private inFlight: Promise<void> | undefined;
  private stopped = false;
  /** The keys of every partition, for the partition count last read (§20). */
  private layout: readonly Keys[] = [];

  constructor(options: SchedulerOptions = {}) {
    super();
    knownKeys(options, SCHEDULER_OPTIONS, 'Scheduler options');
    // Checked before the connection opens, so that a refused option leaves nothing open.
    this.leaseMs = timerOption(options.leaseMs, 10_000, 'leaseMs', 100);
    const maxPoll = Math.floor(this.leaseMs / 3);
    this.pollIntervalMs = intOption(options.pollIntervalMs, Math.min(500, maxPoll), 'pollIntervalMs', 10, maxPoll);
    const { ctx, owned } = openContext({ ...options, partitions: 'any' }, (err) => this.emit('error', err));
    this.ctx = ctx;
    this.owned = owned;
    this.namespace = ctx.keys.namespace;
  }

  /** True while this instance holds an unexpired lease (by its own clock, with a margin). */
  get isLeader(): boolean {
    return performance.now() < this.leaderUntil;
  }

  /** Creates or updates the schedule keyed by (queue, type, references); returns its id. */
  async schedule(req: ScheduleRequest): Promise<string> {
    knownKeys(req, SCHEDULE_REQUEST, 'a schedule request', true);
    const valid = validateRequest(
      { queue: req.queue, type: req.type, spec: req.spec, references: req.references },
      undefined,
      this.ctx.settings.maxPayloadBytes,
    );
    if ('scheduleId' in valid.references)
      throw new ValidationError('references.scheduleId is set on emitted tasks by the scheduler; choose another name');
    // Emitted tasks carry scheduleId besides these, within the limit of references per task.
    if (Object.keys(valid.references).length >= MAX_REFERENCES)
      throw new ValidationError(
        `a schedule has at most ${MAX_REFERENCES - 1} references (its tasks also carry scheduleId)`,
      );
    const timezone = validateTimezone(req.timezone ?? 'UTC');
    const cron = validateCron(req.cronSchedule, timezone);
    const catchUp = req.catchUp ?? 'one';
    if (!CATCH_UP.includes(catchUp)) {
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-conversion -- a value that fails the check can be anything a JavaScript caller passed (String() also takes a symbol)
      throw new ValidationError(`catchUp must be one of ${CATCH_UP.join(', ')}, got "${String(catchUp)}"`);
    }
    await this.ctx.life.whenOpen();
    const id = scheduleId(valid.queue, valid.type, valid.references);
    const next = nextRun(cron, timezone, await this.redisNow());
    const { keys: k } = await this.home(id, valid.queue);
    const keys = [
      k.events,
      k.schedule(id),
      k.schedules,
      ...Object.entries(valid.references).map(([n, v]) => k.scheduleReference(n, v)),
    ];
    // References in one key order, so callers listing them differently do not count as a change.
    const refsJson = JSON.stringify(
      Object.fromEntries(Object.entries(valid.references).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    );
    await this.ctx.scripts.scheduleUpsert(
      keys.length,
      ...keys,
      id,
      valid.queue,
      valid.type,
      valid.specJson,
      cron,
      timezone,
      refsJson,
      catchUp,
      next,
    );
    return id;
  }

  /** Resolves when the schedule exists; NotScheduledError otherwise (the Go original's EnsureSchedule). */
  async ensureSchedule(key: ScheduleKey): Promise<void> {
    const id = this.idOf(key);
    await this.ctx.life.whenOpen();
    const { keys: k } = await this.home(id, key.queue);
    if ((await this.ctx.redis.exists(k.schedule(id))) === 0) {
      throw new NotScheduledError(
        `queue "${key.queue}", type "${key.type}", references ${JSON.stringify(key.references ?? {})}`,
      );
    }
  }

  /** Removes the schedule; false when there was none. Tasks it emitted stay. */
  async unschedule(key: ScheduleKey): Promise<boolean> {
    const id = this.idOf(key);
    await this.ctx.life.whenOpen();
    const { keys } = await this.home(id, key.queue);
    return (await unschedule({ ...this.ctx, keys }, id)) === 1;
  }

  /** Every schedule, partition by partition, each partition's by next run. */
  async listSchedules(): Promise<Schedule[]> {
    await this.ctx.life.whenOpen();
    const schedules: Schedule[] = [];
    for (const k of await this.partitions()) {
      const ids = await this.ctx.redis.zrange(k.schedules, 0, -1);
      const pipeline = this.ctx.redis.pipeline();
      for (const id of ids) pipeline.hgetall(k.schedule(id));
      const rows = ((await pipeline.exec()) ?? []).map(([, h]) => h as Record<string, string>);
      schedules.push(...rows.filter((h) => h.id).map(toSchedule));
    }
    return schedules;
  }

  /** How many schedules the namespace holds (one ZCARD per partition). */
  async countSchedules(): Promise<number> {
    await this.ctx.life.whenOpen();
    const counts = await Promise.all((await this.partitions()).map((k) => this.ctx.redis.zcard(k.schedules)));
    return counts.reduce((a, b) => a + b, 0);
  }

  /** The keys of every partition of the namespace, read afresh: a migration may have added some (§20). */
  private async partitions(): Promise<readonly Keys[]> {
    const count = Number((await this.ctx.redis.hget(this.ctx.keys.meta, 'partitions')) ?? 1);
    if (this.layout.length !== count) {
      const { namespace } = this.ctx.keys;
      this.layout = partitionKeys(namespace, count);
    }
    return this.layout;
  }

  /**
   * The partition a schedule lives in (§20): its queue's home partition, where a cap or a rate limit also
   * pins the queue, so that its ticks are minted beside the queue's controls. A schedule made before a
   * migration to more partitions stays in partition 0, and is found there.
   */
  private async home(id: string, queue: string): Promise<{ keys: Keys; partition: number }> {
    const parts = await this.partitions();
    const home = partitionOfKey(queue, parts.length);
    if (home !== 0 && (await this.ctx.redis.exists(parts[0]!.schedule(id))) === 1)
      return { keys: parts[0]!, partition: 0 };
    return { keys: parts[home]!, partition: home };
  }

  /** Starts competing for leadership and, while leading, emitting due ticks. Redis being down is not fatal. */
  async start(): Promise<void> {
    if (this.timer || this.stopped) return;
    // The timer exists before the first await, so a stop() racing start() always finds and clears it.
    this.timer = setInterval(() => void this.cycle(), this.pollIntervalMs);
    await this.cycle();
  }

  /**
   * Stops emitting and gives up the lease at once (so another instance takes over without waiting). Waits
   * for a cycle in flight at most leaseMs.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    if (this.inFlight) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.inFlight, new Promise((res) => (timer = setTimeout(res, this.leaseMs)))]);
      clearTimeout(timer);
    }
    if (this.leaderUntil > 0) {
      // Unreleased, the lease expires by itself within leaseMs: another instance then takes over later.
      await this.ctx.scripts
        .leaseRelease(this.ctx.keys.schedulerLeader, this.token)
        .catch((err: unknown) => this.emit('error', err));
      this.leaderUntil = 0;
      this.emit('leadership', false);
    }
    this.ctx.life.close();
    // QUIT fails on a connection that is down already; disconnecting is all that is left to do then.
    if (this.owned) await this.ctx.redis.quit().catch(() => this.ctx.redis.disconnect());
  }

  /** One cycle: hold (or seek) the lease, then emit if leading. Skipped while the previous one runs. */
  private cycle(): Promise<void> {
    if (this.stopped || this.inFlight) return this.inFlight ?? Promise.resolve();
    this.inFlight = (async () => {
      try {
        await this.ctx.life.whenOpen();
        if (await this.holdLease()) await this.emitDue();
      } catch (err) {
        // Redis unreachable for a moment: this cycle did nothing; the next one tries again.
        this.emit('error', err);
      } finally {
        this.inFlight = undefined;
      }
    })();
    return this.inFlight;
  }

  /** Takes or renews the lease. A renewal that fails means another instance leads now. */
  private async holdLease(): Promise<boolean> {
    const k = this.ctx.keys.schedulerLeader;
    const askedAt = performance.now();
    const ok =
      this.leaderUntil > 0
        ? Number(await this.ctx.scripts.leaseRenew(k, this.token, this.leaseMs)) === 1
        : (await this.ctx.redis.set(k, this.token, 'PX', this.leaseMs, 'NX')) === 'OK';
    const was = this.leaderUntil > 0;
    // Counted from before the request, less a margin for clock drift: we stop believing we lead first.
    this.leaderUntil = ok ? askedAt + this.leaseMs - Math.min(this.pollIntervalMs, this.leaseMs / 10) : 0;
    if (ok !== was) this.emit('leadership', ok);
    return ok;
  }

  /**
   * Emits every due tick once. Safe to run in several instances at once: each emission only advances a
   * schedule from the run time it read.
   * @internal Run by the leader's timer; exposed for tests of split-brain safety.
   */
  async emitDue(): Promise<number> {
    const parts = await this.partitions();
    let emitted = 0;
    for (const [p, k] of parts.entries()) emitted += await this.emitDueIn(k, p, parts.length);
    return emitted;
  }

  /** Emits the due ticks of one partition's schedules. */
  private async emitDueIn(k: Keys, partition: number, partitions: number): Promise<number> {
    let emitted = 0;
    for (let round = 0; round < 100; round++) {
      const now = await this.redisNow();
      const ids = await this.ctx.redis.zrangebyscore(k.schedules, '-inf', now, 'LIMIT', 0, 100);
      if (ids.length === 0) return emitted;
      let moved = 0;
      for (const id of ids) {
        try {
          const result = await this.emitOne(k, id, now, idIn(partition, partitions));
          if (result === 1) emitted++;
          if (result !== 0) moved++;
        } catch (err) {
          // One broken schedule (say a timezone this runtime no longer knows) must not hold up the others.
          this.emit('error', err);
        }
      }
      // Nothing advanced (another emitter got there first, or only broken schedules are due): next cycle.
      if (moved === 0) return emitted;
    }
    return emitted;
  }

  /** Emits (or skips) the due tick of one schedule: 1 enqueued, 2 skipped, 0 nothing done (schedule-emit.lua). */
  private async emitOne(k: Keys, id: string, now: number, taskId: string): Promise<number> {
    const h = await this.ctx.redis.hgetall(k.schedule(id));
    if (!h.id || h.nextRunAt === undefined) {
      await this.ctx.scripts.scheduleTidy(k.schedule(id), k.schedules, id); // an index entry of a removed schedule
      return 0;
    }
    // Late by up to a lease (a leader change) plus two polls is on time, not missed.
    const graceMs = this.leaseMs + 2 * this.pollIntervalMs;
    const plan = planTick(h.cron!, h.timezone!, h.catchUp as CatchUp, Number(h.nextRunAt), now, graceMs);
    const refs = { ...(JSON.parse(h.references ?? '{}') as References), scheduleId: id };
    const keys = [
      k.events,
      k.queues,
      k.schedule(id),
      k.schedules,
      k.task(taskId),
      k.ready(h.queue!),
      k.delayed(h.queue!),
    ];
    keys.push(...Object.entries(refs).map(([n, v]) => k.reference(n, v)));
    const result = Number(
      await this.ctx.scripts.scheduleEmit(
        keys.length,
        ...keys,
        GROUP,
        id,
        h.nextRunAt,
        plan.tick ?? '',
        plan.next,
        taskId,
        toJsonText(refs, 'references'),
        this.ctx.settings.maxAttempts,
      ),
    );
    if (result === 1) this.emit('tick', { id, queue: h.queue!, type: h.type! }, now - plan.tick!, taskId);
    return result;
  }

  private idOf(key: ScheduleKey): string {
    knownKeys(key, SCHEDULE_KEY, 'a schedule key', true);
    return scheduleId(key.queue, key.type, key.references ?? {});
  }

  private redisNow(): Promise<number> {
    return redisNow(this.ctx.redis);
  }
}

/** The schedule id: a digest of (queue, type, references), so every instance upserts the same schedule. */
export function scheduleId(queue: string, type: string, references: References): string {
  validateQueueNames([queue]);
  const given: unknown = type; // a JavaScript caller can pass anything
  if (given === undefined || given === null || (typeof given === 'string' && given.trim() === ''))
    throw new TypeNotSpecifiedError();
  validateName(type, 'type');
  const refs = Object.entries(validateReferences(references, true)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `s-${createHash('sha256')
    .update(JSON.stringify([queue, type, refs]))
    .digest('hex')
    .slice(0, 24)}`;
}

function toSchedule(h: Record<string, string>): Schedule {
  const date = (v: string | undefined) => (v === undefined ? null : new Date(Number(v)));
  return {
    id: h.id!,
    queue: h.queue!,
    type: h.type!,
    spec: JSON.parse(h.spec ?? 'null') as JsonValue,
    cronSchedule: h.cron!,
    timezone: h.timezone!,
    references: JSON.parse(h.references ?? '{}') as References,
    catchUp: h.catchUp as CatchUp,
    nextRunAt: new Date(Number(h.nextRunAt)),
    lastRunAt: date(h.lastRunAt),
    createdAt: new Date(Number(h.createdAt)),
    updatedAt: new Date(Number(h.updatedAt)),
  };
}
