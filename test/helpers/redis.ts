import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/**
 * Test Redis, never a mock: REDIS_URL when set, else a redis-server of our own on a free loopback port
 * (temp dir, killed at the end), else a testcontainers Redis where a Docker engine answers. With none of
 * these the tests fail, saying how to get one.
 *
 * The REDIS_URL server is the user's: tests only write keys of their own namespaces there (removed after
 * each file, removeNamespaces()). A test that changes the server itself (CONFIG SET, CONFIG RESETSTAT,
 * FLUSHALL/FLUSHDB, SCRIPT FLUSH, CLIENT KILL or PAUSE, SHUTDOWN, DEBUG, ACL, ...), kills it, or counts
 * what the whole server did (other test files share REDIS_URL's server) runs on a server this process
 * started: startPrivateRedis(), or useRedis({ own: true }) / ownServer() in fixture.ts.
 */
export interface TestRedis {
  url: string;
  /** True when this process started the server (and so can kill and restart it). */
  owned: boolean;
  stop(): Promise<void>;
  /** SIGKILL the server (owned servers only). */
  kill(): Promise<void>;
  /** Start it again on the same port and dir (owned servers only). */
  restart(): Promise<void>;
}

export interface StartOptions {
  /** appendonly yes with this fsync policy. */
  appendfsync?: 'always' | 'everysec';
  /** Ignore REDIS_URL: the test needs a server of its own (one it changes, flushes or kills). */
  own?: boolean;
  /** Listen on this port (default: a free one). */
  port?: number;
  /** Allow DEBUG (SLEEP, ...) from local connections: Redis >= 7 refuses it by default. */
  debug?: boolean;
}

export const NO_REDIS_MESSAGE =
  'taskledger tests need a real Redis (>= 6.2). Install one (Debian/Ubuntu: sudo apt-get install redis-server; ' +
  'macOS: brew install redis) so that `redis-server` is on PATH, or set REDIS_URL=redis://host:port, ' +
  'or run a Docker engine so testcontainers can start one.';

/** Why a test that needs a server of its own fails when it cannot start one. */
export const NO_PRIVATE_REDIS_MESSAGE =
  'this test needs a Redis server of its own (it changes, flushes or kills the server, or counts what the whole server did), ' +
  'so it never runs on REDIS_URL: it starts a redis-server itself. ' +
  'Install one (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis) so that `redis-server` ' +
  'is on PATH, or run a Docker engine so testcontainers can start one.';

export function hasRedisBinary(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

export async function waitForPing(url: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const probe = new Redis(url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout: 500,
    });
    probe.on('error', () => {});
    try {
      await probe.connect();
      // Loading an AOF answers LOADING (an error) until done.
      await probe.ping();
      probe.disconnect();
      return;
    } catch {
      // not up yet
    }
    probe.disconnect();
    if (Date.now() > deadline) throw new Error(`redis at ${url} did not come up within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startRedis(options: StartOptions = {}): Promise<TestRedis> {
  if (process.env.REDIS_URL && !options.own) {
    const url = process.env.REDIS_URL;
    await waitForPing(url, 5000).catch((err: unknown) => {
      throw new Error(
        `REDIS_URL=${url} does not answer (${err instanceof Error ? err.message : String(err)}). ${NO_REDIS_MESSAGE}`,
      );
    });
    const refuse = async () => {
      throw new Error('this test needs a redis-server it started itself');
    };
    return { url, owned: false, stop: async () => {}, kill: refuse, restart: refuse };
  }
  if (hasRedisBinary()) return startOwnServer(options);
  if (!options.appendfsync && (await dockerAvailable())) return startContainer();
  throw new Error(options.own ? NO_PRIVATE_REDIS_MESSAGE : NO_REDIS_MESSAGE);
}

/**
 * A Redis server this process started, even when REDIS_URL is set: for a test that changes the server's
 * configuration or state, kills it, or counts what the whole server did. Stop it when done (that removes
 * its temp dir).
 */
export function startPrivateRedis(options: Omit<StartOptions, 'own'> = {}): Promise<TestRedis> {
  return startRedis({ ...options, own: true });
}

/**
 * What to undo should the process end without a test's stop() (a hook that threw, a test that timed out
 * before its finally): redis-servers still running are killed and temp dirs removed when the process
 * exits, or when it is told to end (vitest stops its worker processes with SIGTERM; Ctrl-C sends SIGINT),
 * after which the signal is raised again. One registry and one set of listeners per process, however many
 * test files import this module.
 */
interface Leftovers {
  children: Set<ChildProcess>;
  dirs: Set<string>;
}
const LEFTOVERS = Symbol.for('taskledger.test.leftovers');
function leftovers(): Leftovers {
  const g = globalThis as { [LEFTOVERS]?: Leftovers };
  if (!g[LEFTOVERS]) {
    const l: Leftovers = { children: new Set(), dirs: new Set() };
    g[LEFTOVERS] = l;
    const undo = () => {
      for (const c of l.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      l.children.clear();
      // A server killed this instant may still hold files open; removal by name works all the same on Linux and macOS.
      for (const dir of l.dirs) rmSync(dir, { recursive: true, force: true });
      l.dirs.clear();
    };
    process.on('exit', undo);
    for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
      process.once(signal, () => {
        undo();
        process.kill(process.pid, signal); // this listener is gone: the signal does what it would have done
      });
    }
  }
  return g[LEFTOVERS];
}

/** A temp dir (under the OS temp dir, named taskledger-<prefix>-XXXXXX) removed at process exit if not before. */
export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `taskledger-${prefix}-`));
  leftovers().dirs.add(path);
  return {
    path,
    remove: () => {
      rmSync(path, { recursive: true, force: true });
      leftovers().dirs.delete(path);
    },
  };
}

function track(child: ChildProcess): ChildProcess {
  const l = leftovers();
  l.children.add(child);
  child.once('exit', () => l.children.delete(child));
  return child;
}

async function startOwnServer(options: StartOptions): Promise<TestRedis> {
  const port = options.port ?? (await freePort());
  const dir = tempDir('redis');
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir.path,
    '--save',
    '',
    '--daemonize',
    'no',
    '--loglevel',
    'warning',
  ];
  if (options.debug) args.push('--enable-debug-command', 'local');
  if (options.appendfsync) args.push('--appendonly', 'yes', '--appendfsync', options.appendfsync);
  else args.push('--appendonly', 'no');
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const launch = async () => {
    child = track(spawn('redis-server', args, { stdio: 'ignore' }));
    await waitForPing(url);
  };
  const killChild = async (signal: NodeJS.Signals) => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill(signal);
    });
  };
  try {
    await launch();
  } catch (err) {
    await killChild('SIGKILL');
    dir.remove();
    throw err;
  }
  return {
    url,
    owned: true,
    stop: async () => {
      try {
        await killChild('SIGKILL');
      } finally {
        dir.remove();
      }
    },
    kill: () => killChild('SIGKILL'),
    restart: launch,
  };
}

async function dockerAvailable(): Promise<boolean> {
  return spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 5000 }).status === 0;
}

async function startContainer(): Promise<TestRedis> {
  const { RedisContainer } = await import('@testcontainers/redis');
  const container = await new RedisContainer('redis:7').start();
  const url = container.getConnectionUrl();
  const refuse = async () => {
    throw new Error('this test needs a redis-server binary');
  };
  return {
    url,
    owned: true,
    stop: async () => {
      await container.stop();
    },
    kill: refuse,
    restart: refuse,
  };
}

let counter = 0;
const made = new Set<string>();
/** A fresh namespace per test, so tests sharing a server never see each other's keys. */
export function namespace(): string {
  const ns = `t${process.pid}-${Date.now().toString(36)}-${counter++}`;
  made.add(ns);
  return ns;
}

/** A namespace a test's child process made (the demo's, say): its keys are removed with those of namespace(). */
export function adoptNamespace(ns: string): void {
  made.add(ns);
}

/**
 * Removes the keys of the namespaces this test file made (namespace(), adoptNamespace()) from the server
 * at `url`: a REDIS_URL server is the user's, and is left as the tests found it. One SCAN over the keys
 * with a hash tag (a key prefix before it or not), deleting those whose tag is one of ours; resolves with
 * how many went.
 */
export async function removeNamespaces(url: string): Promise<number> {
  if (made.size === 0) return 0;
  const raw = new Redis(url, { maxRetriesPerRequest: 1 });
  raw.on('error', () => {});
  let removed = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await raw.scan(cursor, 'MATCH', '*{*}*', 'COUNT', 1000);
      cursor = next;
      // The hash tag, as Redis reads it: from the first '{' to the next '}' (after a caller's key prefix too).
      const tag = (k: string) => k.slice(k.indexOf('{') + 1, k.indexOf('}', k.indexOf('{')));
      const ours = keys.filter((k) => made.has(tag(k)));
      if (ours.length > 0) removed += await raw.unlink(...ours);
    } while (cursor !== '0');
  } finally {
    raw.disconnect();
  }
  return removed;
}

export interface TestCluster {
  ports: number[];
  stop(): Promise<void>;
  /** SIGKILLs the node on `port` (a primary, for a failover test). */
  kill(port: number): Promise<void>;
}

export interface ClusterOptions {
  /** Primaries (default 3). */
  primaries?: number;
  /** Replicas per primary (default 0). */
  replicas?: number;
  /** cluster-node-timeout: how long a primary may be silent before its replica takes over (default 15000). */
  nodeTimeoutMs?: number;
  /** Each node with appendonly and appendfsync always. */
  aof?: boolean;
}

/**
 * A Redis Cluster on free loopback ports (redis-server --cluster-enabled and redis-cli --cluster create):
 * three primaries by default, with replicas when asked (`redis-cli` gives each primary its replicas).
 */
export async function startCluster(options: ClusterOptions = {}): Promise<TestCluster> {
  if (!hasRedisBinary() || spawnSync('redis-cli', ['--version'], { stdio: 'ignore' }).status !== 0)
    throw new Error(NO_REDIS_MESSAGE);
  const { primaries = 3, replicas = 0, nodeTimeoutMs = 15_000, aof = false } = options;
  const ports: number[] = [];
  while (ports.length < primaries * (1 + replicas)) {
    const port = await freePort();
    if (!ports.includes(port)) ports.push(port);
  }
  const dirs: { remove(): void }[] = [];
  const children: ChildProcess[] = [];
  const stop = async () => {
    try {
      await Promise.all(
        children.map(
          (c) =>
            new Promise<void>((res) =>
              c.exitCode !== null || c.signalCode !== null ? res() : (c.once('exit', () => res()), c.kill('SIGKILL')),
            ),
        ),
      );
    } finally {
      for (const dir of dirs) dir.remove();
    }
  };
  try {
    for (const port of ports) {
      const dir = tempDir('cluster');
      dirs.push(dir);
      children.push(
        track(
          spawn(
            'redis-server',
            [
              '--port',
              String(port),
              '--bind',
              '127.0.0.1',
              '--cluster-enabled',
              'yes',
              '--cluster-config-file',
              'nodes.conf',
              '--dir',
              dir.path,
              '--save',
              '',
              '--cluster-node-timeout',
              String(nodeTimeoutMs),
              ...(aof ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
            ],
            { stdio: 'ignore' },
          ),
        ),
      );
    }
    for (const port of ports) await waitForPing(`redis://127.0.0.1:${port}`);
    const create = spawnSync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...ports.map((p) => `127.0.0.1:${p}`),
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    // Wait until every node agrees the cluster is up.
    for (const port of ports) {
      const probe = new Redis(`redis://127.0.0.1:${port}`);
      try {
        for (let i = 0; i < 100 && !/cluster_state:ok/.test(await probe.cluster('INFO')); i++)
          await new Promise((r) => setTimeout(r, 100));
      } finally {
        probe.disconnect();
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const kill = (port: number) => {
    const child = children[ports.indexOf(port)];
    return new Promise<void>((res) =>
      !child || child.exitCode !== null || child.signalCode !== null
        ? res()
        : (child.once('exit', () => res()), child.kill('SIGKILL')),
    );
  };
  return { ports, stop, kill };
}
