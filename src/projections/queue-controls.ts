import type { ReadContext } from '../context/read-context.js';
import type { QueueOptions } from '../types.js';

/** A queue's controls as `{ns}:controls` holds them, with its running tasks and any RateLimitedError hold. */
export interface QueueControls extends QueueOptions {
  queue: string;
  /** Tasks of the queue running now (stalled ones count until recovered). */
  running: number;
  /** Until when a RateLimitedError holds the queue (Redis clock), or null. */
  heldUntil: Date | null;
}

const NAMES = ['active', 'paused', 'concurrency', 'rate', 'aging', 'hold'] as const;
type Name = (typeof NAMES)[number];

/** Options and counts from the fields of one queue (`<name>:<queue>` in the controls hash). */
function toControls(queue: string, f: Partial<Record<Name, string | null>>): QueueControls {
  const rate = f.rate ? /^(\d+) (\d+)$/.exec(f.rate) : null;
  return {
    queue,
    paused: f.paused === '1',
    concurrency: f.concurrency ? Number(f.concurrency) : null,
    rateLimit: rate ? { max: Number(rate[1]), perMs: Number(rate[2]) } : null,
    agingMs: f.aging ? Number(f.aging) : null,
    running: Number(f.active ?? 0),
    heldUntil: f.hold ? new Date(Number(f.hold)) : null,
  };
}

/** One queue's controls (the defaults for a queue never configured). */
export async function queueControls(ctx: ReadContext, queue: string): Promise<QueueControls> {
  await ctx.life.whenOpen();
  const values = await ctx.redis.hmget(ctx.keys.controls, ...NAMES.map((n) => `${n}:${queue}`));
  return toControls(queue, Object.fromEntries(NAMES.map((n, i) => [n, values[i]])));
}

/** Every queue the controls hash names (configured, or with a running count), by name. */
export async function allQueueControls(ctx: ReadContext): Promise<Map<string, QueueControls>> {
  await ctx.life.whenOpen();
  const raw = await ctx.redis.hgetall(ctx.keys.controls);
  const byQueue = new Map<string, Partial<Record<Name, string>>>();
  for (const [field, value] of Object.entries(raw)) {
    const at = field.indexOf(':');
    const name = field.slice(0, at) as Name;
    if (at < 0 || !NAMES.includes(name)) continue;
    const queue = field.slice(at + 1);
    const f = byQueue.get(queue) ?? {};
    f[name] = value;
    byQueue.set(queue, f);
  }
  return new Map([...byQueue].map(([queue, f]) => [queue, toControls(queue, f)]));
}
