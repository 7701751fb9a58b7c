import { createHash, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { monotonicFactory } from 'ulid';
import { GROUP } from '../keys.js';
import { createContext, enter, type Context, type ContextOptions } from '../context.js';
import { NotScheduledError, ValidationError } from '../errors.js';
import { intOption, toJsonText, validateQueueNames, validateReferences, validateRequest } from '../validation.js';
import type { JsonValue, References } from '../types.js';
import { removeSchedule } from './remove.js';
import { CATCH_UP, planTick, nextRun, validateCron, validateTimezone, type CatchUp } from './cron.js';

export interface SchedulerOptions extends Pick<ContextOptions, 'connection' | 'namespace' | 'connectTimeoutMs' | 'maxAttempts'> {
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

const ulid = monotonicFactory();

/**
 * Cron schedules whose ticks enqueue tasks. Runs in every app instance; one leader (a lease in Redis)
 * emits, and each emission is one Lua call that advances the schedule only from the run time it read, so
 * no tick is enqueued twice even while leadership moves.
 */
export class Scheduler {
  readonly namespace: string;
  private readonly ctx: Context;
  private readonly owned: boolean;
  private readonly leaseMs: number;
  private readonly pollIntervalMs: number;
  private readonly token = `${hostname()}:${process.pid}:${randomUUID()}`;
  private leaderUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(options: SchedulerOptions = {}) {
    const { ctx, owned } = createContext(options);
    this.ctx = ctx;
    this.owned = owned;
    this.namespace = ctx.keys.namespace;
    this.leaseMs = intOption(options.leaseMs, 10_000, 'leaseMs', 100);
    this.pollIntervalMs = intOption(options.pollIntervalMs, 500, 'pollIntervalMs', 10, Math.floor(this.leaseMs / 3));
  }

  /** True while this instance holds an unexpired lease (by its own clock, with a margin). */
  get isLeader(): boolean {
    return Date.now() < this.leaderUntil;
  }

  /** Creates or updates the schedule keyed by (queue, type, references); returns its id. */
  async schedule(req: ScheduleRequest): Promise<string> {
    const valid = validateRequest({ queue: req.queue, type: req.type, spec: req.spec, references: req.references });
    const timezone = validateTimezone(req.timezone ?? 'UTC');
    const cron = validateCron(req.cronSchedule, timezone);
    const catchUp = req.catchUp ?? 'one';
    if (!CATCH_UP.includes(catchUp)) throw new ValidationError(`catchUp must be one of ${CATCH_UP.join(', ')}, got "${String(catchUp)}"`);
    await enter(this.ctx);
    const id = scheduleId(valid.queue, valid.type, valid.references);
    const next = nextRun(cron, timezone, await this.redisNow());
    const k = this.ctx.keys;
    const keys = [k.events, k.schedule(id), k.schedules, ...Object.entries(valid.references).map(([n, v]) => k.scheduleReference(n, v))];
    await this.ctx.scripts.scheduleUpsert(keys.length, ...keys, id, valid.queue, valid.type, valid.specJson, cron, timezone, valid.referencesJson, catchUp, next);
    return id;
  }

  /** Resolves when the schedule exists; NotScheduledError otherwise (the Go original's EnsureSchedule). */
  async ensureSchedule(key: ScheduleKey): Promise<void> {
    const id = this.idOf(key);
    await enter(this.ctx);
    if ((await this.ctx.redis.exists(this.ctx.keys.schedule(id))) === 0) {
      throw new NotScheduledError(`queue "${key.queue}", type "${key.type}", references ${JSON.stringify(key.references ?? {})}`);
    }
  }

  /** Removes the schedule; false when there was none. Tasks it emitted stay. */
  async unschedule(key: ScheduleKey): Promise<boolean> {
    const id = this.idOf(key);
    await enter(this.ctx);
    return (await removeSchedule(this.ctx, id)) === 1;
  }

  async listSchedules(): Promise<Schedule[]> {
    await enter(this.ctx);
    const ids = await this.ctx.redis.zrange(this.ctx.keys.schedules, 0, -1);
    const pipeline = this.ctx.redis.pipeline();
    for (const id of ids) pipeline.hgetall(this.ctx.keys.schedule(id));
    const rows = ((await pipeline.exec()) ?? []).map(([, h]) => h as Record<string, string>);
    return rows.filter((h) => h.id).map(toSchedule);
  }

  /** Starts competing for leadership and, while leading, emitting due ticks. */
  async start(): Promise<void> {
    if (this.timer || this.stopped) return;
    await enter(this.ctx);
    await this.cycle();
    this.timer = setInterval(() => {
      this.running = this.running.then(() => this.cycle());
    }, this.pollIntervalMs);
  }

  /** Stops emitting and gives up the lease at once (so another instance takes over without waiting). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
    if (this.leaderUntil > 0) await this.ctx.scripts.leaderRelease(this.ctx.keys.schedulerLeader, this.token).catch(() => undefined);
    this.leaderUntil = 0;
    this.ctx.closed = true;
    if (this.owned) await this.ctx.redis.quit().catch(() => this.ctx.redis.disconnect());
  }

  private async cycle(): Promise<void> {
    if (this.stopped) return;
    try {
      if (await this.holdLease()) await this.emitDue();
    } catch {
      // Redis unreachable for a moment: this cycle did nothing; the next one tries again.
    }
  }

  /** Takes or renews the lease. A renewal that fails means another instance leads now. */
  private async holdLease(): Promise<boolean> {
    const k = this.ctx.keys.schedulerLeader;
    const askedAt = Date.now();
    const ok =
      this.leaderUntil > 0
        ? Number(await this.ctx.scripts.leaderRenew(k, this.token, this.leaseMs)) === 1
        : (await this.ctx.redis.set(k, this.token, 'PX', this.leaseMs, 'NX')) === 'OK';
    // Counted from before the request, less a margin for clock drift: we stop believing we lead first.
    this.leaderUntil = ok ? askedAt + this.leaseMs - Math.min(this.pollIntervalMs, this.leaseMs / 10) : 0;
    return ok;
  }

  /**
   * Emits every due tick once. Safe to run in several instances at once: each emission only advances a
   * schedule from the run time it read.
   * @internal Run by the leader's timer; exposed for tests of split-brain safety.
   */
  async emitDue(): Promise<number> {
    const k = this.ctx.keys;
    let emitted = 0;
    for (let round = 0; round < 100; round++) {
      const now = await this.redisNow();
      const ids = await this.ctx.redis.zrangebyscore(k.schedules, '-inf', now, 'LIMIT', 0, 100);
      if (ids.length === 0) return emitted;
      for (const id of ids) {
        const h = await this.ctx.redis.hgetall(k.schedule(id));
        if (!h.id || h.nextRunAt === undefined) {
          await this.ctx.redis.zrem(k.schedules, id); // a stray index entry of a removed schedule
          continue;
        }
        const plan = planTick(h.cron!, h.timezone!, h.catchUp as CatchUp, Number(h.nextRunAt), now, Math.max(2 * this.pollIntervalMs, 1000));
        const refs = { ...(JSON.parse(h.references ?? '{}') as References), scheduleId: id };
        const taskId = ulid();
        const keys = [k.events, k.queues, k.schedule(id), k.schedules, k.task(taskId), k.ready(h.queue!), k.delayed(h.queue!)];
        keys.push(...Object.entries(refs).map(([n, v]) => k.reference(n, v)));
        const result = Number(
          await this.ctx.scripts.scheduleEmit(keys.length, ...keys, GROUP, id, h.nextRunAt!, plan.tick ?? '', plan.next, taskId, toJsonText(refs, 'references'), this.ctx.maxAttempts),
        );
        if (result === 1) emitted++;
      }
    }
    return emitted;
  }

  private idOf(key: ScheduleKey): string {
    const [queue] = validateQueueNames([key.queue]);
    if (typeof key.type !== 'string' || key.type.trim() === '') throw new ValidationError('type is blank');
    const refs = key.references && Object.keys(key.references).length ? validateReferences(key.references) : {};
    return scheduleId(queue!, key.type, refs);
  }

  private async redisNow(): Promise<number> {
    const [s, us] = await this.ctx.redis.time();
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  }
}

/** The schedule id: a digest of (queue, type, references), so every instance upserts the same schedule. */
export function scheduleId(queue: string, type: string, references: References): string {
  const refs = Object.entries(references).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `s-${createHash('sha256').update(JSON.stringify([queue, type, refs])).digest('hex').slice(0, 24)}`;
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
