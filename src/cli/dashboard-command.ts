/** `dashboard`: serves the web dashboard for every namespace found in the Redis, or the ones named. */
import { once } from 'node:events';
import { TaskQueue } from '../task-queue.js';
import { serveDashboard } from '../dashboard/serve.js';
import type { DashboardAuth } from '../dashboard/auth.js';
import { keysFor } from '../redis/keys.js';
import { scanKeys } from '../redis/scan.js';
import { NAMESPACE_PATTERN } from '../validation.js';
import { TaskLedgerError } from '../errors.js';
import { CliError, EXIT, connect, type GlobalOptions } from './connect.js';

export interface DashboardCommandOptions extends GlobalOptions {
  host?: string;
  port?: string;
  /** Comma-separated namespaces; else the global --namespace when given, else every namespace found. */
  namespaces?: string;
  /** Whether --namespace was given (not its default). */
  namespaceGiven?: boolean;
  readOnly?: boolean;
}

/** Every namespace with data in the Redis: the `{ns}:meta` keys (one SCAN at start-up). */
async function namespacesFound(redis: import('ioredis').Redis): Promise<string[]> {
  const found = new Set<string>();
  for await (const batch of scanKeys(redis, '{*}:meta'))
    for (const key of batch) {
      const ns = /^\{([^{}@]+)\}:meta$/.exec(key)?.[1];
      if (ns !== undefined && NAMESPACE_PATTERN.test(ns)) found.add(ns);
    }
  return [...found].sort();
}

/** The auth from the environment: TASKLEDGER_DASHBOARD_TOKEN, or TASKLEDGER_DASHBOARD_USER and _PASSWORD. */
function authFromEnv(): DashboardAuth | undefined {
  const {
    TASKLEDGER_DASHBOARD_TOKEN: token,
    TASKLEDGER_DASHBOARD_USER: username,
    TASKLEDGER_DASHBOARD_PASSWORD: password,
  } = process.env;
  if (token) return { token };
  if (username && password) return { username, password };
  return undefined;
}

export async function dashboardCommand(opts: DashboardCommandOptions): Promise<void> {
  const port = opts.port === undefined ? 8080 : Number(opts.port);
  if (!/^\d{1,5}$/.test(opts.port ?? '8080') || port > 65535)
    throw new CliError(`--port must be a port number, got "${opts.port ?? ''}"`, EXIT.USAGE);
  const s = await connect(opts, true);
  const queues: TaskQueue[] = [];
  try {
    const named = opts.namespaces?.split(',').map((n) => n.trim()) ?? (opts.namespaceGiven ? [opts.namespace] : null);
    const names = named ?? (await namespacesFound(s.redis));
    for (const ns of named ?? []) {
      if (!NAMESPACE_PATTERN.test(ns)) throw new CliError(`"${ns}" is not a namespace name`, EXIT.USAGE);
      if ((await s.redis.exists(keysFor(ns).meta)) === 0)
        throw new CliError(`namespace "${ns}" does not exist (no taskledger data there)`, EXIT.NO_NAMESPACE);
    }
    if (names.length === 0)
      throw new CliError('no taskledger namespace in this Redis (name one with --namespace)', EXIT.NO_NAMESPACE);
    for (const ns of names) {
      const partitions = Number((await s.redis.hget(keysFor(ns).meta, 'partitions')) ?? 1);
      queues.push(
        new TaskQueue({ connection: s.redis, namespace: ns, partitions, recoveryIntervalMs: 0, compactIntervalMs: 0 }),
      );
    }
    const auth = authFromEnv();
    let served;
    try {
      served = await serveDashboard({
        queue: queues,
        host: opts.host ?? '127.0.0.1',
        port,
        ...(auth ? { auth } : {}),
        ...(opts.readOnly ? { readOnly: true } : {}),
      });
    } catch (err) {
      if (err instanceof TaskLedgerError && err.code === 'ERR_DASHBOARD_AUTH_REQUIRED')
        throw new CliError(
          `${err.message}: set TASKLEDGER_DASHBOARD_TOKEN, or TASKLEDGER_DASHBOARD_USER and TASKLEDGER_DASHBOARD_PASSWORD`,
          EXIT.REFUSED,
        );
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE')
        throw new CliError(`port ${port} is in use`, EXIT.REFUSED);
      throw err;
    }
    process.stdout.write(
      opts.json
        ? `${JSON.stringify({ url: served.url, namespaces: names })}\n`
        : `dashboard at ${served.url} for ${names.map((n) => `"${n}"`).join(', ')} (Ctrl-C to stop)\n`,
    );
    await Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM')]);
    await served.close();
  } finally {
    for (const q of queues) await q.close();
    await s.close();
  }
}
