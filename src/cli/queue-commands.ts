/** `queue show|pause|resume|set|history`: a queue's controls, changed and audited. */
import type { QueueOptions, QueueOptionsChange } from '../types.js';
import { QUEUE_OPTIONS_EVENT } from '../events/fold-rules.js';
import { CliError, EXIT, type GlobalOptions } from './connect.js';
import { withSession } from './commands.js';
import { describeControls, duration, forTerminal, table } from './format.js';

const print = (text: string) => process.stdout.write(`${text}\n`);

export async function queueShowCommand(queue: string, opts: GlobalOptions): Promise<void> {
  await withSession(opts, async (s) => {
    const c = await s.queue.getQueueOptions(queue);
    if (opts.json) {
      print(JSON.stringify(c, null, 2));
      return;
    }
    const held = c.heldUntil && c.heldUntil.getTime() > Date.now() ? `until ${c.heldUntil.toISOString()}` : '-';
    print(
      table(
        ['QUEUE', 'PAUSED', 'RUNNING', 'CONCURRENCY', 'RATE LIMIT', 'AGING', 'HELD (429)'],
        [
          [
            forTerminal(queue),
            c.paused ? 'yes' : 'no',
            c.running,
            c.concurrency ?? '-',
            c.rateLimit ? `${c.rateLimit.max} per ${duration(c.rateLimit.perMs)}` : '-',
            c.agingMs !== null ? duration(c.agingMs) : '-',
            held,
          ],
        ],
      ),
    );
  });
}

export async function queuePauseCommand(queue: string, paused: boolean, opts: GlobalOptions): Promise<void> {
  await withSession(opts, async (s) => {
    const changed = paused ? await s.queue.pause(queue) : await s.queue.resume(queue);
    if (opts.json) print(JSON.stringify({ queue, paused, changed }));
    else
      print(
        changed
          ? `${forTerminal(queue)} ${paused ? 'paused' : 'resumed'}`
          : `${forTerminal(queue)} was ${paused ? 'paused' : 'not paused'} already`,
      );
  });
}

/** A flag's value: a whole number, or `none` to remove the option. */
function wholeOrNone(flag: string, value: string): number | null {
  if (value === 'none') return null;
  if (!/^\d+$/.test(value)) throw new CliError(`${flag} must be a whole number or none, got "${value}"`, EXIT.USAGE);
  return Number(value);
}

export interface QueueSetOptions extends GlobalOptions {
  concurrency?: string;
  rate?: string;
  aging?: string;
}

/** The change the flags ask for; the library checks the ranges (exit 2 through its ValidationError). */
export function changeOf(opts: QueueSetOptions): QueueOptionsChange {
  const change: QueueOptionsChange = {};
  if (opts.concurrency !== undefined) change.concurrency = wholeOrNone('--concurrency', opts.concurrency);
  if (opts.rate !== undefined) {
    if (opts.rate === 'none') change.rateLimit = null;
    else {
      const m = /^(\d+)\/(\d+)$/.exec(opts.rate);
      if (!m)
        throw new CliError(
          `--rate must be MAX/PERMS (50/1000: 50 starts a second) or none, got "${opts.rate}"`,
          EXIT.USAGE,
        );
      change.rateLimit = { max: Number(m[1]), perMs: Number(m[2]) };
    }
  }
  if (opts.aging !== undefined) change.agingMs = wholeOrNone('--aging', opts.aging);
  if (Object.keys(change).length === 0)
    throw new CliError('queue set needs at least one of --concurrency, --rate, --aging', EXIT.USAGE);
  return change;
}

export async function queueSetCommand(queue: string, opts: QueueSetOptions): Promise<void> {
  const change = changeOf(opts);
  await withSession(opts, async (s) => {
    await s.queue.setQueueOptions(queue, change);
    const after = await s.queue.getQueueOptions(queue);
    if (opts.json) print(JSON.stringify(after));
    else print(`${forTerminal(queue)}: ${describeControls(after)}`);
  });
}

/** Every operator change of a queue's controls, from the log (with --archive, the archive's too). */
export async function queueHistoryCommand(queue: string, opts: GlobalOptions & { archive?: string }): Promise<void> {
  await withSession(opts, async (s) => {
    const rows: (string | number)[][] = [];
    for await (const e of s.queue.events({ archive: !!opts.archive })) {
      if (e.type !== QUEUE_OPTIONS_EVENT || e.data.queue !== queue) continue;
      if (opts.json) {
        print(JSON.stringify(e));
        continue;
      }
      rows.push([
        e.at.toISOString(),
        e.data.action as string,
        describeControls(e.data.options as unknown as QueueOptions),
        forTerminal((e.data.by as string | undefined) ?? ''),
      ]);
    }
    if (!opts.json)
      print(
        rows.length
          ? table(['AT', 'ACTION', 'OPTIONS AFTER', 'BY'], rows)
          : `no changes of ${forTerminal(queue)} in the log`,
      );
  });
}
