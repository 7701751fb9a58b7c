/** `compact` and `drop`: the command line's hands on what Redis holds. */
import { once } from 'node:events';
import { createInterface } from 'node:readline/promises';
import { TaskQueue } from '../task-queue.js';
import { FileArchive } from '../archive/file-archive.js';
import type { Archive } from '../archive/archive.js';
import { ValidationError } from '../errors.js';
import { keysFor } from '../redis/keys.js';
import { prefixPattern, scanKeys } from '../redis/scan.js';
import type { Connection } from '../redis/connection.js';
import { compactionConfig, type RetentionOptions } from '../retention/options.js';
import type { CompactionReport } from '../retention/compact.js';
import { NAMESPACE_PATTERN } from '../validation.js';
import { CliError, EXIT, type GlobalOptions } from './connect.js';
import { withSession } from './commands.js';
import { bytes, span } from './log-health.js';

const print = (text: string) => process.stdout.write(`${text}\n`);

// ---------------------------------------------------------------------------------------------- compact

export interface CompactOptions extends Omit<GlobalOptions, 'archive'> {
  dryRun?: boolean;
  finishedMs?: string;
  failedMs?: string;
  cancelledMs?: string;
  logMs?: string;
  /** A FileArchive directory (--archive DIR), or false with --no-archive. */
  archive?: string | false;
}

const RETENTION_FLAGS = [
  ['finishedMs', '--finished-ms'],
  ['failedMs', '--failed-ms'],
  ['cancelledMs', '--cancelled-ms'],
  ['logMs', '--log-ms'],
] as const;

/** The retention the flags give; the library checks it (ranges, logMs without an archive) before connecting. */
function retentionOf(opts: CompactOptions): { retention: RetentionOptions; archive: Archive | false | undefined } {
  const retention: RetentionOptions = {};
  for (const [name, flag] of RETENTION_FLAGS) {
    const value = opts[name];
    if (value === undefined) continue;
    if (!/^\d+$/.test(value))
      throw new CliError(`${flag} must be a whole number of milliseconds, got "${value}"`, EXIT.USAGE);
    retention[name] = Number(value);
  }
  const archive =
    opts.archive === false ? false : typeof opts.archive === 'string' ? new FileArchive(opts.archive) : undefined;
  try {
    compactionConfig(retention, archive);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    const hint =
      retention.logMs !== undefined && archive === undefined ? ' (here: --archive DIR, or --no-archive)' : '';
    throw new CliError(`${err.message}${hint}`, EXIT.USAGE);
  }
  return { retention, archive };
}

/**
 * One compaction pass with the retention the flags give (the command line's TaskQueue has none of its
 * own). Without any, the library's reason for doing nothing is printed.
 */
export async function compactCommand(opts: CompactOptions): Promise<void> {
  const { retention, archive } = retentionOf(opts);
  // The session's own queue reads no archive: this command makes the queue that compacts.
  const { archive: _flag, ...session } = opts;
  await withSession(session, async (s) => {
    const keys = keysFor(opts.namespace);
    const archivedTo = await s.redis.hget(keys.meta, 'archivedTo');
    if (retention.logMs !== undefined && archive === false && archivedTo && !opts.dryRun)
      throw new CliError(
        `namespace "${opts.namespace}" archives its log (archived up to ${archivedTo}): trimming it with ` +
          '--no-archive would leave a gap in that archive. Let the application that holds the archive compact it',
        EXIT.REFUSED,
      );
    const queue = new TaskQueue({
      connection: s.redis,
      namespace: opts.namespace,
      partitions: s.partitions,
      recoveryIntervalMs: 0,
      compactIntervalMs: 0,
      retention,
      ...(archive !== undefined ? { archive } : {}),
    });
    try {
      const report = await queue.compact({ dryRun: !!opts.dryRun });
      if (opts.json) print(JSON.stringify(report, null, 2));
      else printReport(opts.namespace, report);
    } finally {
      await queue.close();
    }
  });
}

function printReport(namespace: string, r: CompactionReport): void {
  if (r.skipped) {
    const flags = r.skipped.startsWith('no retention')
      ? ' (give --finished-ms, --failed-ms, --cancelled-ms or --log-ms)'
      : '';
    print(`nothing done: ${r.skipped}${flags}`);
    return;
  }
  const would = r.dryRun ? 'would be ' : '';
  print(
    r.dryRun
      ? `compaction of "${namespace}", dry run (nothing written):`
      : `compaction of "${namespace}" done in ${span(r.durationMs)}:`,
  );
  print(`  ${r.removedTasks} ended tasks ${would}removed`);
  print(`  ${r.snapshots} live tasks ${would}snapshotted`);
  print(`  ${r.archivedEvents} events ${would}archived`);
  print(
    `  ${r.trimmedEvents} events ${would}trimmed${r.trimmedTo ? `: the log ${r.dryRun ? 'would start' : 'starts'} at ${r.trimmedTo}` : ''}`,
  );
  if (!r.dryRun) print(`  ${bytes(r.reclaimedLogBytes)} of log memory reclaimed (an estimate)`);
}

// ---------------------------------------------------------------------------------------------- drop

/** Keys per UNLINK. */
const UNLINK_BATCH = 500;

export interface DropOptions extends GlobalOptions {
  yes?: boolean;
  /** Whether --namespace was given on the command line (drop never falls back on the default). */
  namespaceGiven: boolean;
}

/**
 * Asks for the namespace's name on `output`, reading the answer from `input`; true when it is typed back
 * exactly.
 */
export async function confirmDrop(
  namespace: string,
  what: string,
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
): Promise<boolean> {
  const rl = createInterface({ input, output });
  // Input that ends before a line is typed is no confirmation.
  const closed = once(rl, 'close').then(() => null);
  try {
    output.write(`${what}\n`);
    const answer = await Promise.race([rl.question('type the namespace name to confirm: ').catch(() => null), closed]);
    return answer?.trim() === namespace;
  } finally {
    rl.close();
  }
}

/**
 * Deletes every key of the namespace (`{NAME}:*`, SCAN on every primary, UNLINK in batches), its metadata
 * last, so that a drop cut short can be run again. Asks first on a terminal; elsewhere needs --yes.
 */
export async function dropCommand(opts: DropOptions): Promise<void> {
  if (!opts.namespaceGiven)
    throw new CliError(
      'drop deletes a whole namespace: name it with --namespace NAME (there is no default)',
      EXIT.USAGE,
    );
  const namespace = opts.namespace;
  if (!NAMESPACE_PATTERN.test(namespace))
    throw new CliError(`namespace "${namespace}" must be 1 to 64 letters, digits, '_', '.' or '-'`, EXIT.USAGE);
  // isTTY is undefined, not false, on a stream that is not a terminal: only its truth is used.
  const interactive = !opts.yes && process.stdin.isTTY;
  if (!opts.yes && !interactive)
    throw new CliError(
      `not dropping namespace "${namespace}" without confirmation: this is not a terminal, so pass --yes`,
      EXIT.USAGE,
    );
  await withSession(
    opts,
    async (s) => {
      const keys = keysFor(namespace);
      const pattern = prefixPattern(`{${namespace}}:`);
      const hasMeta = (await s.redis.exists(keys.meta)) === 1;
      if (!hasMeta && !(await anyKey(s.redis, pattern)))
        throw new CliError(`namespace "${namespace}" does not exist here (no keys)`, EXIT.NO_NAMESPACE);
      if (interactive) {
        const [events, running] = await Promise.all([s.redis.xlen(keys.events), s.redis.zcard(keys.running)]);
        const what =
          `This deletes every key of namespace "${namespace}": ${events} events in the log, ${running} running ` +
          'tasks, every task, schedule and count. Stop every process that uses it first.';
        if (!(await confirmDrop(namespace, what, process.stdin, process.stderr)))
          throw new CliError(`not dropped: the name typed was not "${namespace}"`, EXIT.REFUSED);
      }
      let removed = 0;
      for await (const batch of scanKeys(s.redis, pattern)) {
        const rest = batch.filter((k) => k !== keys.meta);
        for (let i = 0; i < rest.length; i += UNLINK_BATCH)
          removed += await s.redis.unlink(...rest.slice(i, i + UNLINK_BATCH));
      }
      removed += await s.redis.unlink(keys.meta);
      const left = await anyKey(s.redis, pattern);
      if (opts.json) print(JSON.stringify({ namespace, keys: removed, complete: !left }, null, 2));
      else print(`dropped namespace "${namespace}": ${removed} keys deleted`);
      if (left) {
        process.stderr.write(
          `taskledger: keys of "${namespace}" were written while it was dropped: something still uses it. ` +
            'Stop it and drop again\n',
        );
        process.exitCode = EXIT.CHECK_FAILED;
      }
    },
    true,
  );
}

async function anyKey(redis: Connection, pattern: string): Promise<boolean> {
  for await (const batch of scanKeys(redis, pattern)) if (batch.length) return true;
  return false;
}
