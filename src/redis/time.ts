import type { Connection } from './connection.js';

/** Redis TIME's reply ([seconds, microseconds]) as milliseconds. */
export function timeToMs([seconds, micros]: readonly (string | number)[]): number {
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

/** The Redis clock in ms: the one clock every instance shares. */
export async function redisNow(redis: Connection): Promise<number> {
  return timeToMs(await redis.time());
}
