import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** The header an action must carry, with the token the page was given (GET /api/session). */
export const CSRF_HEADER = 'x-taskledger-csrf';

/**
 * Protection of the actions against cross-site requests: an action is a POST with a JSON body, the header
 * CSRF_HEADER holding this handler's token, and no Origin of another host. A page of another site cannot
 * set that header without a CORS preflight, which this server never grants, nor read the token.
 */
export class CsrfGuard {
  readonly token = createHmac('sha256', randomBytes(32)).update('taskledger-dashboard').digest('base64url');

  check(req: IncomingMessage): string | null {
    const given = req.headers[CSRF_HEADER];
    if (typeof given !== 'string' || given.length !== this.token.length) return 'missing or wrong CSRF token';
    if (!timingSafeEqual(Buffer.from(given), Buffer.from(this.token))) return 'missing or wrong CSRF token';
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== 'null') {
      let host: string | null = null;
      try {
        host = new URL(origin).host;
      } catch {
        // reported below
      }
      if (host !== req.headers.host) return `requests from ${origin} are refused`;
    }
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return 'an action is sent as JSON';
    return null;
  }
}
