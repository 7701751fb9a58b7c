import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ValidationError } from '../errors.js';

/** Who may use a dashboard: a token (`Authorization: Bearer`, or once `?token=` which sets a cookie), or basic auth. */
export type DashboardAuth = { token: string } | { username: string; password: string };

/** The cookie a browser keeps the token in after opening `/?token=...` (HttpOnly, SameSite=Strict). */
export const TOKEN_COOKIE = 'taskledger_token';

/** Checks the auth option at the boundary: a non-blank token, or a non-blank user and password. */
export function authOption(auth: unknown): DashboardAuth | undefined {
  if (auth === undefined) return undefined;
  const a = auth as Record<string, unknown> | null;
  const text = (v: unknown) => typeof v === 'string' && v.trim() !== '';
  if (a && typeof a === 'object' && 'token' in a && text(a.token)) return { token: a.token as string };
  if (a && typeof a === 'object' && text(a.username) && text(a.password))
    return { username: a.username as string, password: a.password as string };
  throw new ValidationError('dashboard auth is { token } or { username, password }, each a non-blank string');
}

/** Compares in time that does not depend on where the strings differ (digests: equal lengths). */
function same(a: string, b: string): boolean {
  const d = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(d(a), d(b));
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

/** Whether the request carries the credentials `auth` asks for (always, without auth). */
export function authorized(req: IncomingMessage, auth: DashboardAuth | undefined, queryToken: string | null): boolean {
  if (!auth) return true;
  const header = req.headers.authorization ?? '';
  if ('token' in auth) {
    const given = header.startsWith('Bearer ') ? header.slice(7) : (queryToken ?? cookie(req, TOKEN_COOKIE));
    return given !== undefined && same(given, auth.token);
  }
  if (!header.startsWith('Basic ')) return false;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 && same(decoded.slice(0, colon), auth.username) && same(decoded.slice(colon + 1), auth.password);
}
