import type { IncomingMessage, ServerResponse } from 'node:http';

/** A JSON reply; every dashboard response says what it is and may not be sniffed or framed. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...SECURITY_HEADERS,
    ...headers,
  });
  res.end(text);
}

/** Headers on every response: no sniffing, no framing, only this origin's scripts. */
export const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
} as const;

/** The most bytes an action's body may have. */
const MAX_BODY = 16 * 1024;

/** A request's JSON body (an object), or an error message for a 400. */
export async function readJson(req: IncomingMessage): Promise<Record<string, unknown> | string> {
  // A framework's body parser ran first: the body is gone (docs/dashboard.md shows how to mount it before).
  if (req.readableEnded || (req as IncomingMessage & { body?: unknown }).body !== undefined)
    return 'the body was read before the dashboard got it: mount the dashboard before any body parser';
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) return `the body is over ${MAX_BODY} bytes`;
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'the body must be a JSON object';
    return parsed as Record<string, unknown>;
  } catch {
    return 'the body is not JSON';
  }
}

/** An HTTP error with its status: thrown by a route, answered as JSON by the handler. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}
