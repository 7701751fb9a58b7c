// A redis-server of the benchmark's own on a free port (or BENCH_REDIS_URL), with or without AOF.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export const freePort = () =>
  new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });

/**
 * A redis-server on a free loopback port with `args` added, in a directory of its own; resolves once it
 * answers PING. stop() kills it and removes the directory.
 */
export async function spawnRedis(args = []) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'taskledger-bench-'));
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--loglevel', 'warning', ...args],
    { stdio: 'ignore' },
  );
  child.on('error', () => {
    console.error('redis-server not found: install it (apt-get install redis-server) or set BENCH_REDIS_URL');
    process.exit(2);
  });
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    probe.on('error', () => {});
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      break;
    } catch {
      probe.disconnect();
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    port,
    url,
    dir,
    child,
    stop: () => {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function startRedis({ aof }) {
  if (process.env.BENCH_REDIS_URL) return { url: process.env.BENCH_REDIS_URL, stop: () => {}, own: false };
  const { url, stop } = await spawnRedis(
    aof ? ['--appendonly', 'yes', '--appendfsync', 'everysec'] : ['--appendonly', 'no'],
  );
  return { url, own: true, stop };
}
