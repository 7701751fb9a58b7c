import { afterAll, afterEach, beforeAll } from 'vitest';
import { Redis } from 'ioredis';
import { TaskQueue, type TaskQueueOptions } from '../../src/index.js';
import {
  namespace,
  removeNamespaces,
  startPrivateRedis,
  startRedis,
  type StartOptions,
  type TestRedis,
} from './redis.js';

/**
 * One redis-server per test file; queues made through `queue()` are closed after each test, and the test
 * fails if a queue leaves a connection open behind it.
 */
export function useRedis(options: StartOptions = {}) {
  let server: TestRedis | undefined;
  let privateServer: Promise<TestRedis> | undefined;
  const open: TaskQueue[] = [];
  const clients: Redis[] = [];
  const rawClient = (url: string) => {
    const r = new Redis(url);
    clients.push(r);
    return r;
  };
  const state = {
    get url(): string {
      if (!server) throw new Error('redis not started');
      return server.url;
    },
    get server(): TestRedis {
      if (!server) throw new Error('redis not started');
      return server;
    },
    queue(opts: TaskQueueOptions = {}): TaskQueue {
      const q = new TaskQueue({ connection: state.url, namespace: namespace(), recoveryIntervalMs: 0, ...opts });
      open.push(q);
      return q;
    },
    /** A raw client for looking at keys. */
    raw(): Redis {
      return rawClient(state.url);
    },
    /**
     * A redis-server this process started, never REDIS_URL's: for a test that changes the server (CONFIG
     * SET, CONFIG RESETSTAT, CLIENT PAUSE, ...) or counts what the whole server did (INFO commandstats,
     * CLIENT LIST, blocked clients), which other test files sharing REDIS_URL's server would disturb. The
     * file's own server when it has one; else one started on first use, shared by the file's tests that
     * ask and stopped after them. Its queues and clients are closed as the file's are.
     */
    async ownServer(): Promise<{ url: string; queue(opts?: TaskQueueOptions): TaskQueue; raw(): Redis }> {
      let url = state.server.url;
      if (!state.server.owned) {
        privateServer ??= startPrivateRedis();
        url = (await privateServer).url;
      }
      return { url, queue: (opts = {}) => state.queue({ connection: url, ...opts }), raw: () => rawClient(url) };
    },
  };
  beforeAll(async () => {
    server = await startRedis(options);
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((q) => q.close()));
  });
  afterAll(async () => {
    await Promise.all(clients.splice(0).map((c) => c.quit().catch(() => c.disconnect())));
    const extra = privateServer;
    privateServer = undefined;
    try {
      await (await extra?.catch(() => undefined))?.stop();
      // REDIS_URL's server is the user's: the keys of the namespaces the tests made go.
      if (server && !server.owned) await removeNamespaces(server.url);
      if (server?.owned) {
        // Nothing leaked: every queue the tests made has closed all its connections (blocking ones too).
        const probe = new Redis(server.url);
        await new Promise((res) => setTimeout(res, 100));
        const list = (await probe.client('LIST')) as string;
        await probe.quit();
        const others = list
          .trim()
          .split('\n')
          .filter((line) => !/ cmd=client\|list /.test(line));
        if (others.length > 0) throw new Error(`connections left open after the tests:\n${others.join('\n')}`);
      }
    } finally {
      // Stopped (its temp dir removed) even when the check above failed.
      await server?.stop();
    }
  });
  return state;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `check` holds, looking every 10 ms; throws after `ms` (generous: CI machines may be loaded). */
export async function until(check: () => Promise<boolean> | boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(10);
  }
}

/**
 * Resolves with how late a timer set for `at` (ms since the epoch) fired. Latency bounds add it: on a
 * loaded machine this process's own timers run late, and a bound on the queue should not count that.
 */
export function timerLateness(at: number): Promise<number> {
  return new Promise((res) => setTimeout(() => res(Math.max(0, Date.now() - at)), Math.max(0, at - Date.now())));
}

/** Calls of one command (as INFO commandstats names it, e.g. `client|id`) the server has run so far. */
export async function commandCalls(raw: Redis, command: string): Promise<number> {
  const stats = await raw.info('commandstats');
  return Number(new RegExp(`cmdstat_${command.replace('|', '\\|')}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
}

/** Script calls (EVALSHA) the server has run so far: the round trips a change saves, counted by Redis. */
export const scriptCalls = (raw: Redis): Promise<number> => commandCalls(raw, 'evalsha');

/** Clients the server holds blocked (in XREAD BLOCK, say): for waiting until a reader is really waiting. */
export async function blockedClients(raw: Redis): Promise<number> {
  const list = (await raw.client('LIST')) as string;
  return list.split('\n').filter((line) => / flags=\S*b/.test(line)).length;
}

/** Keys of one namespace (its hash tag). */
export async function namespaceKeys(raw: Redis, ns: string): Promise<string[]> {
  return (await raw.keys(`{${ns}}:*`)).sort();
}
