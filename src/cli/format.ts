import type { QueueOptions } from '../types.js';
/** Terminal output: aligned tables, relative times, colour only on a TTY (and never with NO_COLOR). */

export const useColour = (stream: NodeJS.WriteStream = process.stdout) =>
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-boolean-literal-compare -- isTTY is undefined, not false, on a stream that is not a terminal (typed boolean); this keeps a boolean
  stream.isTTY === true && !process.env.NO_COLOR;

const paint = (code: number) => (s: string) => (useColour() ? `\u001b[${code}m${s}\u001b[0m` : s);
export const colour = { red: paint(31), green: paint(32), yellow: paint(33), dim: paint(2), bold: paint(1) };

export function statusColour(status: string): string {
  switch (status) {
    case 'finished':
      return colour.green(status);
    case 'failed':
      return colour.red(status);
    case 'running':
      return colour.yellow(status);
    case 'cancelled':
      return colour.dim(status);
    default:
      return status;
  }
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;
const width = (s: string) => s.replace(ANSI, '').length;

/** Columns padded to their widest cell; numbers (and cells flagged right) align right. */
export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => width(r[i] ?? ''))));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number'));
  return cells
    .map((r, ri) =>
      r
        .map((c, i) => {
          const pad = ' '.repeat(widths[i]! - width(c));
          const text = ri === 0 ? colour.bold(c) : c;
          return numeric[i] ? pad + text : text + pad;
        })
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** "12s ago", "3m ago", "in 2h", from a time relative to `now`. */
export function relative(at: Date | null | undefined, now = Date.now()): string {
  if (!at) return '-';
  const ms = at.getTime() - now;
  const abs = Math.abs(ms);
  const unit =
    abs < 1000
      ? `${abs}ms`
      : abs < 60_000
        ? `${Math.round(abs / 1000)}s`
        : abs < 3_600_000
          ? `${Math.round(abs / 60_000)}m`
          : abs < 86_400_000
            ? `${Math.round(abs / 3_600_000)}h`
            : `${Math.round(abs / 86_400_000)}d`;
  return ms <= 0 ? `${unit} ago` : `in ${unit}`;
}

/** A duration in ms as "850ms", "12s", "3m 5s". */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${Math.round(ms / 1000)}s`;
  return `${Math.floor(ms / 60_000)}m ${Math.round((ms % 60_000) / 1000)}s`;
}

/** A progress bar on stderr when it is a terminal; silent otherwise. */
export function progressBar(label: string, total: number): { update(done: number): void; end(): void } {
  // Only tested for truth: undefined (not false) when stderr is not a terminal, whatever the typing says.
  const tty = process.stderr.isTTY;
  let last = 0;
  const draw = (done: number) => {
    const frac = total > 0 ? Math.min(1, done / total) : 1;
    const bar = '#'.repeat(Math.round(frac * 30)).padEnd(30, '.');
    process.stderr.write(`\r${label} [${bar}] ${done}/${total}`);
  };
  return {
    update(done) {
      if (!tty || Date.now() - last < 100) return;
      last = Date.now();
      draw(done);
    },
    end() {
      if (tty) process.stderr.write('\r\u001b[2K');
    },
  };
}

/** A progress bar made on the first report, once the total is known. */
export function lazyProgress(label: string): { onProgress: (done: number, total: number) => void; end(): void } {
  let bar: ReturnType<typeof progressBar> | undefined;
  return {
    onProgress: (done, total) => (bar ??= progressBar(label, total)).update(done),
    end: () => bar?.end(),
  };
}

/**
 * What a terminal would act on instead of showing: C0 and C1 controls (escape sequences that clear the
 * screen or set the window title start with them), DEL, and the bidirectional overrides and isolates that
 * reorder what is shown (a name could then read as another).
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** `text` with what a terminal would act on written as \u escapes, always (for tests and callers that know). */
export const neutralise = (text: string): string =>
  text.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** Stored text for the terminal: neutralised when stdout is one, left as it is for a pipe or a file. */
export const forTerminal = (text: string): string => (process.stdout.isTTY ? neutralise(text) : text);

/** Shortens a JSON rendering for a table cell (stored data: neutralised on a terminal). */
export function brief(value: unknown, max = 60): string {
  if (value === undefined || value === null) return '';
  const s = typeof value === 'string' ? value : JSON.stringify(value);
  return forTerminal(s.length > max ? `${s.slice(0, max - 1)}…` : s);
}

/** One line of a queue's options: what limits it. */
export function describeControls(o: QueueOptions & { running?: number }): string {
  const parts: string[] = [];
  if (o.paused) parts.push('paused');
  if (o.concurrency !== null) parts.push(`cap ${o.running ?? '?'}/${o.concurrency}`);
  if (o.rateLimit) parts.push(`rate ${o.rateLimit.max}/${duration(o.rateLimit.perMs)}`);
  if (o.agingMs !== null) parts.push(`aging ${duration(o.agingMs)}`);
  return parts.join(', ') || '-';
}

/**
 * A word to paste into a POSIX shell: as it is when it holds only safe characters, else in single quotes (a
 * cursor names a task id, which may hold spaces, `;` or `$(…)`).
 */
export const shellWord = (text: string): string =>
  /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
