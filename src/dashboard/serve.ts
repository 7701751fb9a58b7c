import { createServer, type Server } from 'node:http';
import { isIP } from 'node:net';
import { DashboardAuthRequiredError, ValidationError } from '../errors.js';
import { intOption } from '../validation.js';
import { dashboardHandler, type DashboardOptions } from './handler.js';

export interface ServeDashboardOptions extends DashboardOptions {
  /** Default 127.0.0.1. Any other address than loopback needs `auth`. */
  host?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
}

export interface ServedDashboard {
  server: Server;
  /** Where it listens, e.g. http://127.0.0.1:8080/ */
  url: string;
  close(): Promise<void>;
}

/** Whether a listen address is this machine's loopback (127.0.0.0/8, ::1, localhost). */
export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

/** Serves the dashboard on its own node:http server; refuses an address beyond loopback without auth. */
export async function serveDashboard(options: ServeDashboardOptions): Promise<ServedDashboard> {
  const { host = '127.0.0.1', port: givenPort, ...rest } = options;
  if (typeof host !== 'string' || host.trim() === '') throw new ValidationError('host must be an address');
  const port = intOption(givenPort, 8080, 'port', 0, 65535);
  if (!isLoopback(host) && rest.auth === undefined) throw new DashboardAuthRequiredError(host);
  const handler = dashboardHandler(rest);
  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    server,
    url: `http://${shown}:${actual}${rest.basePath ?? ''}/`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await handler.close();
    },
  };
}
