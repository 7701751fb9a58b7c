import { describe, expect, it } from 'vitest';
import { NO_REDIS_MESSAGE, startRedis } from './helpers/redis.js';

describe('test harness', () => {
  it('fails, saying how to get Redis, when there is none (never skips)', async () => {
    const saved = { PATH: process.env.PATH, REDIS_URL: process.env.REDIS_URL };
    process.env.PATH = '/nonexistent';
    delete process.env.REDIS_URL;
    try {
      await expect(startRedis()).rejects.toThrow(NO_REDIS_MESSAGE);
    } finally {
      process.env.PATH = saved.PATH;
      if (saved.REDIS_URL !== undefined) process.env.REDIS_URL = saved.REDIS_URL;
    }
    expect(NO_REDIS_MESSAGE).toMatch(/apt-get install redis-server/);
    expect(NO_REDIS_MESSAGE).toMatch(/REDIS_URL/);
  });
});
