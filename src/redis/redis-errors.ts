import { RedisUnavailableError } from '../errors.js';

/**
 * The one place errors from ioredis and Redis become library errors: each mapping is a small function of
 * its own, tried in turn; an error none of them knows is returned as it is.
 */
export function fromRedisError(err: unknown): unknown {
  return maxRetriesError(err) ?? err;
}

/**
 * ioredis gave up on a command after `maxRetriesPerRequest` reconnects (Redis down or unreachable). Matched
 * by name: ioredis does not export the class.
 */
export function maxRetriesError(err: unknown): RedisUnavailableError | undefined {
  if (!(err instanceof Error) || err.name !== 'MaxRetriesPerRequestError') return undefined;
  return new RedisUnavailableError(`Redis did not answer: ${err.message}`, err);
}
