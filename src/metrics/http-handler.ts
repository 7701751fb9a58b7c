import type { IncomingMessage, ServerResponse } from 'node:http';
import { register as defaultRegistry, type Registry } from 'prom-client';
import { checkedRegistry } from './registry-helpers.js';

/**
 * A request handler for node:http serving the registry in the Prometheus text format:
 * `http.createServer(metricsHandler()).listen(9464)`. In a framework, serve `await registry.metrics()` with
 * `registry.contentType` as the content type.
 */
export function metricsHandler(
  registry: Registry = defaultRegistry,
): (req: IncomingMessage, res: ServerResponse) => void {
  checkedRegistry(registry);
  return (req, res) => {
    if (req.url !== undefined && !req.url.startsWith('/metrics')) {
      res.writeHead(404).end('not found; metrics are at /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text),
      (err: unknown) =>
        res
          .writeHead(500, { 'Content-Type': 'text/plain' })
          .end(`metrics collection failed: ${(err as Error).message}\n`),
    );
  };
}
