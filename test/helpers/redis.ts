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
  /** Ignore REDIS_URL: the test needs a server it can kill. */
  own?: boolean;
  /** Listen on this port (default: a free one). */
  port?: number;
}

export const NO_REDIS_MESSAGE =
  'taskledger tests need a real Redis (>= 6.2). Install one (Debian/Ubuntu: sudo apt-get install redis-server; ' +
  'macOS: brew install redis) so that `redis-server` is on PATH, or set REDIS_URL=redis://host:port, ' +
  'or run a Docker engine so testcontainers can start one.';

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
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 });
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
      throw new Error(`REDIS_URL=${url} does not answer (${err instanceof Error ? err.message : String(err)}). ${NO_REDIS_MESSAGE}`);
    });
    const refuse = async () => {
      throw new Error('this test needs a redis-server it started itself');
    };
    return { url, owned: false, stop: async () => {}, kill: refuse, restart: refuse };
  }
  if (hasRedisBinary()) return startOwnServer(options);
  if (!options.appendfsync && (await dockerAvailable())) return startContainer();
  throw new Error(NO_REDIS_MESSAGE);
}

async function startOwnServer(options: StartOptions): Promise<TestRedis> {
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'taskledger-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no', '--loglevel', 'warning'];
  if (options.appendfsync) args.push('--appendonly', 'yes', '--appendfsync', options.appendfsync);
  else args.push('--appendonly', 'no');
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const launch = async () => {
    child = spawn('redis-server', args, { stdio: 'ignore' });
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
  await launch();
  return {
    url,
    owned: true,
    stop: async () => {
      await killChild('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
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
/** A fresh namespace per test, so tests sharing a server never see each other's keys. */
export function namespace(): string {
  return `t${process.pid}-${Date.now().toString(36)}-${counter++}`;
}

export interface TestCluster {
  ports: number[];
  stop(): Promise<void>;
}

/** A three-master Redis Cluster on free loopback ports (redis-server and redis-cli --cluster create). */
export async function startCluster(): Promise<TestCluster> {
  if (!hasRedisBinary() || spawnSync('redis-cli', ['--version'], { stdio: 'ignore' }).status !== 0) throw new Error(NO_REDIS_MESSAGE);
  const ports = [await freePort(), await freePort(), await freePort()];
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  for (const port of ports) {
    const dir = mkdtempSync(join(tmpdir(), 'taskledger-cluster-'));
    dirs.push(dir);
    children.push(
      spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' }),
    );
  }
  for (const port of ports) await waitForPing(`redis://127.0.0.1:${port}`);
  const create = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8', timeout: 30_000 });
  if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
  // Wait until every node agrees the cluster is up.
  for (const port of ports) {
    const probe = new Redis(`redis://127.0.0.1:${port}`);
    for (let i = 0; i < 100 && !/cluster_state:ok/.test(await probe.cluster('INFO')); i++) await new Promise((r) => setTimeout(r, 100));
    probe.disconnect();
  }
  return {
    ports,
    stop: async () => {
      await Promise.all(children.map((c) => new Promise<void>((res) => (c.exitCode !== null ? res() : (c.once('exit', () => res()), c.kill('SIGKILL'))))));
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    },
  };
}
