import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { hostname } from 'node:os';
import { TaskLedgerError, UnknownPartitionError, ValidationError } from '../errors.js';
import { partitionOfId } from '../partitions/routing.js';
import { PARTITIONED_FORMAT, readFormat } from '../redis/connection.js';
import { compareStreamIds, STREAM_ID } from '../events/stream-id.js';
import { redisNow } from '../redis/time.js';
import { endedLastMinute } from '../projections/throughput.js';
import { LISTED_STATUSES, listTasks, type ListedStatus } from '../projections/task-list.js';
import { logLength, readEventsByIds, readLog } from '../projections/log-reader.js';
import { appendEvents, keysBefore, logIsEmpty } from '../audit/import-log.js';
import { ImportChecker, KNOWN_EVENT_TYPES } from '../audit/import-check.js';
import { parseReferenceValue, validateReferences } from '../validation.js';
import { keysFor } from '../redis/keys.js';
import { rawEventToTaskEvent } from '../events/codec.js';
import { fromExportLine, toExportLine } from '../events/export-line.js';
import type { JsonValue, References, Task, TaskEvent } from '../types.js';
import { CliError, EXIT, connect, type GlobalOptions, type Session } from './connect.js';
import {
  brief,
  colour,
  duration,
  forTerminal,
  lazyProgress,
  progressBar,
  relative,
  statusColour,
  table,
  shellWord,
  describeControls,
} from './format.js';
import { logSummary, retentionChecks } from './log-health.js';

type Out = (text: string) => void;
const print: Out = (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
const json = (value: unknown) => print(JSON.stringify(value, null, 2));

/** Runs a command with a session, closing it however the command ends. */
export async function withSession<T>(opts: GlobalOptions, fn: (s: Session) => Promise<T>, create = false): Promise<T> {
  const session = await connect(opts, create);
  try {
    return await fn(session);
  } catch (err) {
    if (err instanceof TaskLedgerError) {
      const exit =
        err.code === 'ERR_TASK_NOT_FOUND'
          ? EXIT.NOT_FOUND
          : err.code === 'ERR_VALIDATION'
            ? EXIT.USAGE
            : err.code === 'ERR_REDIS_UNAVAILABLE'
              ? EXIT.UNREACHABLE
              : EXIT.REFUSED;
      throw new CliError(err.message, exit);
    }
    throw err;
  } finally {
    await session.close();
  }
}

/** A file that cannot be read or written is the caller's to fix: exit 2, naming the file and the cause. */
function fileError(err: unknown, file: string): unknown {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (err instanceof CliError || typeof code !== 'string') return err;
  return new CliError(`cannot use ${file}: ${(err as Error).message}`, EXIT.USAGE);
}

/** An event id option: exit 2 when it is not one (Redis would refuse it with an error of its own). */
function eventIdOption(name: string, id: string | undefined): void {
  if (id !== undefined && !STREAM_ID.test(id))
    throw new CliError(`${name} must be an event id such as 1700000000000-0, got "${id}"`, EXIT.USAGE);
}

/** `k=v` references: a value that reads as JSON (5, true, "5") is that value, anything else a string. */
export function parseReferences(pairs: string[] = []): References {
  const refs: References = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CliError(`a reference is name=value, got "${pair}"`, EXIT.USAGE);
    refs[pair.slice(0, eq)] = parseReferenceValue(pair.slice(eq + 1));
  }
  return refs;
}

// ---------------------------------------------------------------------------------------------- stats

interface StatsRow {
  queue: string;
  waiting: number;
  delayed: number;
  running: number | null;
  finished: number;
  failed: number;
  cancelled: number;
  oldestWaitingMs: number;
  finishedLastMinute: number;
  failedLastMinute: number;
  /** The queue's controls: paused, its cap and rate limit (null when none). */
  paused: boolean;
  concurrency: number | null;
  rateLimit: { max: number; perMs: number } | null;
}

async function readStats(s: Session) {
  const st = await s.queue.stats();
  // Summed over the partitions (§20).
  const counts = await s.queue.endedCounts();
  const perMinute = new Map<string, { finished: number; failed: number }>();
  for (const read of s.reads) {
    for (const [queue, m] of await endedLastMinute(read, st.at.getTime())) {
      const sum = perMinute.get(queue) ?? { finished: 0, failed: 0 };
      perMinute.set(queue, { finished: sum.finished + m.finished, failed: sum.failed + m.failed });
    }
  }
  const controls = await s.queue.queueControls();
  const names = new Set([...Object.keys(st.queues), ...counts.keys()]);
  const queues = [...names].sort().map((queue): StatsRow => {
    const q = st.queues[queue];
    const ended = counts.get(queue);
    return {
      queue,
      waiting: q?.waiting ?? 0,
      delayed: q?.delayed ?? 0,
      running: q ? q.running : 0,
      finished: ended?.finished ?? 0,
      failed: ended?.failed ?? 0,
      cancelled: ended?.cancelled ?? 0,
      oldestWaitingMs: q?.oldestWaitingMs ?? 0,
      finishedLastMinute: perMinute.get(queue)?.finished ?? 0,
      failedLastMinute: perMinute.get(queue)?.failed ?? 0,
      paused: controls.get(queue)?.paused ?? false,
      concurrency: controls.get(queue)?.concurrency ?? null,
      rateLimit: controls.get(queue)?.rateLimit ?? null,
    };
  });
  return { at: st.at, queues, events: st.events, log: st.log, compaction: st.compaction, ended: st.ended };
}

/** Bounds of `stats --interval`: a faster refresh only loads Redis, a slower one is not watching. */
export const STATS_INTERVAL_MS = { min: 100, max: 3_600_000 } as const;

export async function statsCommand(opts: GlobalOptions & { watch?: boolean; interval?: string }): Promise<void> {
  const intervalMs = Number(opts.interval ?? 2000);
  if (
    !/^\d+$/.test(opts.interval ?? '2000') ||
    intervalMs < STATS_INTERVAL_MS.min ||
    intervalMs > STATS_INTERVAL_MS.max
  )
    throw new CliError(
      `--interval must be a whole number of ms from ${STATS_INTERVAL_MS.min} to ${STATS_INTERVAL_MS.max}, got "${String(opts.interval)}"`,
      EXIT.USAGE,
    );
  await withSession(opts, async (s) => {
    for (;;) {
      const st = await readStats(s);
      if (opts.json) print(JSON.stringify(st, null, opts.watch ? 0 : 2));
      else {
        if (opts.watch && process.stdout.isTTY) process.stdout.write('\u001b[2J\u001b[H');
        print(
          table(
            [
              'QUEUE',
              'WAITING',
              'DELAYED',
              'RUNNING',
              'FINISHED',
              'FAILED',
              'CANCELLED',
              'OLDEST WAITING',
              'LAST MINUTE',
              'CONTROLS',
            ],
            st.queues.map((r) => [
              forTerminal(r.queue),
              r.waiting,
              r.delayed,
              r.running ?? '?',
              r.finished,
              r.failed,
              r.cancelled,
              r.oldestWaitingMs ? duration(r.oldestWaitingMs) : '-',
              `${r.finishedLastMinute} done, ${r.failedLastMinute} failed`,
              describeControls({ ...r, agingMs: null, running: r.running ?? undefined }),
            ]),
          ),
        );
        for (const line of logSummary(st)) print(colour.dim(line));
      }
      if (!opts.watch) return;
      await new Promise((res) => setTimeout(res, intervalMs));
    }
  });
}

// ---------------------------------------------------------------------------------------------- tasks

export async function tasksCommand(
  opts: GlobalOptions & {
    queue: string;
    status: string;
    limit?: string;
    oldest?: boolean;
    after?: string;
    partition?: string;
  },
): Promise<void> {
  const status = opts.status as ListedStatus;
  if (!LISTED_STATUSES.includes(status))
    throw new CliError(`--status must be one of ${LISTED_STATUSES.join(', ')}`, EXIT.USAGE);
  const limit = Number(opts.limit ?? 20);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
    throw new CliError('--limit must be a whole number from 1 to 10000', EXIT.USAGE);
  await withSession(opts, async (s) => {
    // Every partition merged, or one (§20).
    const partition = opts.partition === undefined ? undefined : Number(opts.partition);
    if (partition !== undefined && (!/^\d{1,3}$/.test(opts.partition!) || partition >= s.partitions)) {
      const err = new UnknownPartitionError(opts.partition, s.partitions, '--partition');
      throw new CliError(`${err.message} (${err.code})`, EXIT.USAGE);
    }
    const { tasks: shown, next } = await listTasks(partition === undefined ? s.reads : [s.reads[partition]!], {
      queue: opts.queue,
      status,
      limit,
      ...(opts.oldest ? { oldest: true } : {}),
      ...(opts.after ? { after: opts.after } : {}),
    });
    if (opts.json) {
      json(partition !== undefined ? { tasks: shown, next, partition } : { tasks: shown, next });
      return;
    }
    print(
      table(
        ['ID', 'STATUS', 'TYPE', 'ATTEMPT', 'CREATED', 'UPDATED', status === 'delayed' ? 'DUE' : 'PROGRESS'],
        shown.map((t) => [
          forTerminal(t.id),
          statusColour(t.status),
          forTerminal(t.type),
          t.attempt,
          relative(t.createdAt),
          relative(t.updatedAt),
          status === 'delayed' ? relative(t.runAt) : brief(t.progress, 40),
        ]),
      ),
    );
    const one = partition === undefined ? '' : ` --partition ${partition}`;
    if (next) print(colour.dim(`more: --after ${forTerminal(shellWord(next))}${one}`));
    if (s.partitions > 1)
      print(
        colour.dim(
          partition === undefined
            ? `partitions 0 to ${s.partitions - 1}, merged (--partition K lists one)`
            : `partition ${partition} of 0 to ${s.partitions - 1}`,
        ),
      );
  });
}

// ---------------------------------------------------------------------------------------------- show

export async function showCommand(id: string, opts: GlobalOptions): Promise<void> {
  await withSession(opts, async (s) => {
    const task = await s.queue.get(id);
    // A task whose projection is gone (retention, delete) may still have its history in the archive.
    const history = task || opts.archive ? await s.queue.history(id) : [];
    if (!task && history.length === 0) throw new CliError(`task ${id} not found`, EXIT.NOT_FOUND);
    if (opts.json) {
      json({ task, history });
      return;
    }
    if (!task) {
      print(
        `${colour.bold(forTerminal(id))}  ${colour.dim('projection removed (retention or delete); its archived history:')}\n`,
      );
      print(timeline(history));
      return;
    }
    print(
      `${colour.bold(forTerminal(task.id))}  ${statusColour(task.status)}  queue ${forTerminal(task.queue)}  type ${forTerminal(task.type)}  ${attempts(task)}`,
    );
    print(`spec        ${brief(task.spec, 100)}`);
    if (Object.keys(task.references).length) print(`references  ${brief(task.references, 100)}`);
    print(`progress    ${brief(task.progress, 100) || '-'}`);
    if (task.result !== null) print(`result      ${brief(task.result, 100)}`);
    if (task.error)
      print(
        `error       ${colour.red(brief(task.error.code ? `${task.error.code}: ${task.error.message}` : task.error.message, 100))}`,
      );
    print(
      `created ${relative(task.createdAt)}, updated ${relative(task.updatedAt)}${task.runAt ? `, due ${relative(task.runAt)}` : ''}\n`,
    );
    print(timeline(history));
  });
}

/**
 * "attempt 2/4" for a task that opted into retries; otherwise maxAttempts only caps stalls (a handler error
 * fails it at once, unless a worker's own `retry` option gives it retries), and that is what it says.
 */
function attempts(task: Task): string {
  return task.backoff
    ? `attempt ${task.attempt}/${task.maxAttempts}`
    : `attempt ${task.attempt} (stalls capped at ${task.maxAttempts} starts)`;
}

/** A task's events as a table: time, event, attempt, detail. */
function timeline(history: readonly TaskEvent[]): string {
  let attempt = 0;
  return table(
    ['TIME', 'EVENT', 'ATTEMPT', 'DETAIL'],
    history.map((e) => {
      if (e.type === 'started') attempt = Number(e.data.attempt);
      // Format 3 keeps an attempt's error in `failure` and a result in `result`; older logs, in `error` and `progress`.
      const failure = e.data.failure as { message?: JsonValue } | undefined;
      const detail =
        failure?.message ??
        e.data.error ??
        e.data.result ??
        (e.data.progress !== undefined ? e.data.progress : (e.data.reason ?? ''));
      const type = forTerminal(e.type);
      return [e.at.toISOString(), e.type === 'failed' ? colour.red(type) : type, attempt || '-', brief(detail, 80)];
    }),
  );
}

// ---------------------------------------------------------------------------------------------- events

function eventLine(e: TaskEvent): string {
  const who = forTerminal(e.scheduleId ? `schedule ${e.scheduleId}` : e.taskId);
  return `${colour.dim(e.at.toISOString())} ${e.id.padEnd(17)} ${forTerminal(e.type).padEnd(11)} ${who} ${brief(e.data, 100)}`;
}

export async function eventsCommand(
  opts: GlobalOptions & { from?: string; follow?: boolean; task?: string; type?: string },
): Promise<void> {
  if (opts.type !== undefined && !KNOWN_EVENT_TYPES.has(opts.type))
    throw new CliError(`--type must be one of ${[...KNOWN_EVENT_TYPES].join(', ')}; got "${opts.type}"`, EXIT.USAGE);
  const onlyNew = opts.from === '$';
  if (onlyNew && !opts.follow) throw new CliError("--from '$' (only new events) needs --follow", EXIT.USAGE);
  if (onlyNew && opts.archive) throw new CliError("--from '$' reads no history: it takes no --archive", EXIT.USAGE);
  if (!onlyNew) eventIdOption('--from', opts.from);
  await withSession(opts, async (s) => {
    const stop = new AbortController();
    const onSigint = () => stop.abort();
    process.once('SIGINT', onSigint);
    const emit = (e: TaskEvent) => {
      if (opts.type && e.type !== opts.type) return;
      if (opts.task && e.taskId !== opts.task) return;
      print(opts.json ? JSON.stringify(e) : eventLine(e));
    };
    try {
      if (opts.task && !opts.follow && !opts.from) {
        // One task's events cost in proportion to that task, not the log.
        const history = await s.queue.history(opts.task);
        if (history.length === 0 && !(await s.queue.get(opts.task)))
          throw new CliError(`task ${opts.task} not found`, EXIT.NOT_FOUND);
        for (const e of history) emit(e);
        return;
      }
      // '$': after the newest event now (or from the start of a log that is empty).
      // With several partitions, after the newest of them all (a bare id: after it in every partition).
      const newest = onlyNew
        ? (
            await Promise.all(
              s.reads.map(async (r) => (await s.redis.xrevrange(r.keys.events, '+', '-', 'COUNT', 1))[0]?.[0] ?? null),
            )
          ).reduce<string | null>((a, b) => (b !== null && (a === null || compareStreamIds(b, a) > 0) ? b : a), null)
        : null;
      for await (const e of s.queue.events({
        ...(onlyNew ? (newest ? { after: newest } : {}) : opts.from ? { from: opts.from } : {}),
        follow: !!opts.follow,
        signal: stop.signal,
        archive: !!opts.archive,
      }))
        emit(e);
    } finally {
      process.off('SIGINT', onSigint);
    }
  });
}

// ---------------------------------------------------------------------------------------------- export / import

export async function exportCommand(opts: GlobalOptions & { out: string; from?: string; to?: string }): Promise<void> {
  eventIdOption('--from', opts.from);
  eventIdOption('--to', opts.to);
  await withSession(opts, async (s) => {
    const out = createWriteStream(opts.out, { encoding: 'utf8' });
    try {
      await once(out, 'open');
      await writeExport(s, opts, out);
    } catch (err) {
      out.destroy();
      throw fileError(err, opts.out);
    }
  });
}

async function writeExport(
  s: Session,
  opts: GlobalOptions & { out: string; from?: string; to?: string },
  out: WriteStream,
): Promise<void> {
  {
    const bar = progressBar('exporting', await logLengths(s));
    let count = 0;
    const write = async (events: readonly TaskEvent[]) => {
      if (!events.length) return;
      if (!out.write(events.map(toExportLine).join('\n') + '\n')) await once(out, 'drain');
      count += events.length;
      bar.update(count);
    };
    if (opts.archive || s.partitions > 1) {
      // The archive, then the log: one sequence (the bar counts the log's part of it). With several
      // partitions, their logs merged in one order (§20), each event with its partition.
      const to = opts.to;
      let page: TaskEvent[] = [];
      const from = opts.from ? { from: opts.from } : {};
      for await (const e of s.queue.events(opts.archive ? { archive: true, ...from } : from)) {
        if (to !== undefined && compareStreamIds(e.id, to) > 0) break;
        page.push(e);
        if (page.length === 1000) {
          await write(page);
          page = [];
        }
      }
      await write(page);
    } else {
      for await (const page of readLog(s.read, opts.from ?? '-', opts.to ?? '+'))
        await write(page.map(rawEventToTaskEvent));
    }
    out.end();
    await once(out, 'finish');
    bar.end();
    if (opts.json) json({ file: opts.out, events: count });
    else print(`exported ${count} events to ${opts.out}`);
  }
}

/** The length of every partition's log together. */
async function logLengths(s: Session): Promise<number> {
  return (await Promise.all(s.reads.map((r) => logLength(r)))).reduce((a, b) => a + b, 0);
}

/**
 * The partition an exported event belongs in: the one its line names, else its task's route (partition 0
 * for a namespace event). A partition the namespace does not have is UnknownPartitionError.
 */
function partitionOfLine(event: TaskEvent, partitions: number, where: string): number {
  if (event.partition !== undefined) {
    if (event.partition >= partitions) throw new UnknownPartitionError(event.partition, partitions, where);
    return event.partition;
  }
  return event.taskId === '' ? 0 : partitionOfId(event.taskId, partitions);
}

/** Each line's event, and the line as JSON.stringify writes it back (verify-export compares that). */
async function* readExport(file: string): AsyncGenerator<{ line: number; event: TaskEvent; json: string }> {
  const rl = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let line = 0;
  for await (const text of rl) {
    line++;
    if (text.trim() === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new CliError(`${file}:${line}: not a JSON line`, EXIT.USAGE);
    }
    let event: TaskEvent;
    try {
      event = fromExportLine(parsed);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      throw new CliError(`${file}:${line}: not an exported event: ${err.message}`, EXIT.USAGE);
    }
    yield { line, event, json: JSON.stringify(parsed) };
  }
}

async function* eventsOf(lines: AsyncIterable<{ event: TaskEvent }>): AsyncGenerator<TaskEvent> {
  for await (const { event } of lines) yield event;
}

/** Compares every line of an export with the event of the same id in the log. */
export async function verifyExportCommand(file: string, opts: GlobalOptions): Promise<void> {
  await withSession(opts, async (s) => {
    const bar = progressBar('verifying', await logLengths(s));
    const problems: string[] = [];
    let checked = 0;
    let batch: { line: number; event: TaskEvent; json: string }[] = [];
    const flush = async () => {
      const where = batch.map((b) => partitionOfLine(b.event, s.partitions, `${file}:${b.line}`));
      const found = await Promise.all(
        s.reads.map((read, p) =>
          readEventsByIds(
            read,
            batch.flatMap((b, i) => (where[i] === p ? [b.event.id] : [])),
          ),
        ),
      );
      const next = s.reads.map(() => 0);
      batch.forEach((b, i) => {
        const p = where[i]!;
        const event = found[p]![next[p]!++];
        const logged = event && rawEventToTaskEvent(event);
        if (logged && s.partitions > 1) logged.partition = p;
        if (!logged) problems.push(`line ${b.line}: event ${b.event.id} is not in the log`);
        else if (toExportLine(logged) !== b.json)
          problems.push(`line ${b.line}: event ${b.event.id} differs from the log`);
      });
      checked += batch.length;
      bar.update(checked);
      batch = [];
    };
    try {
      for await (const item of readExport(file)) {
        batch.push(item);
        if (batch.length === 1000) await flush();
      }
    } catch (err) {
      throw fileError(err, file);
    }
    if (batch.length) await flush();
    bar.end();
    if (opts.json) json({ file, events: checked, mismatches: problems });
    else {
      for (const p of problems.slice(0, 50)) print(colour.red(p));
      print(
        `${checked} events checked against the log: ${problems.length === 0 ? colour.green('all match') : colour.red(`${problems.length} mismatches`)}`,
      );
    }
    if (problems.length) process.exitCode = EXIT.CHECK_FAILED;
  });
}

/**
 * Loads an export into an empty namespace (same event ids), then rebuilds its projections from it. The whole
 * file is checked first with the rules live writes follow (import-check.ts); a bad line writes nothing, and
 * a failure while writing takes back every key the import made.
 */
export async function importCommand(file: string, opts: GlobalOptions): Promise<void> {
  const checker = new ImportChecker();
  let lines = 0;
  // The line naming the highest partition: the namespace must have it (checked once connected).
  let highest: { line: number; partition: number } | undefined;
  try {
    for await (const { line, event } of readExport(file)) {
      try {
        checker.check(event);
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        throw new CliError(`${file}:${line}: ${err.message}; nothing imported`, EXIT.USAGE);
      }
      if (event.partition !== undefined && event.partition > (highest?.partition ?? -1))
        highest = { line, partition: event.partition };
      lines++;
    }
  } catch (err) {
    throw fileError(err, file);
  }
  await withSession(
    opts,
    async (s) => {
      if (highest && highest.partition >= s.partitions) {
        const err = new UnknownPartitionError(highest.partition, s.partitions, `${file}:${highest.line}`);
        throw new CliError(
          `${err.message} (${err.code}); nothing imported (--partitions makes a new namespace of several)`,
          EXIT.USAGE,
        );
      }
      if (!(await logIsEmpty(s.reads)))
        throw new CliError(
          `namespace "${s.queue.namespace}" already has events: import only into an empty namespace`,
          EXIT.REFUSED,
        );
      const befores = await Promise.all(s.reads.map((r) => keysBefore(r)));
      let count: number;
      let tasks: number;
      try {
        // Opened first: a namespace made here records its partition count and format (undone on failure).
        await s.queue.stats();
        count = await appendEvents(s.reads, eventsOf(readExport(file)), (e) => partitionOfLine(e, s.partitions, file));
        if (count !== lines) throw new Error(`${file} changed while it was imported (${lines} events, then ${count})`);
        const bar = progressBar('rebuilding', count);
        tasks = (await s.queue.rebuild({ onProgress: (done) => bar.update(done) })).tasks;
        bar.end();
      } catch (err) {
        for (const before of befores) await before.undo();
        throw new CliError(
          `import failed, nothing imported: ${err instanceof Error ? err.message : String(err)}`,
          EXIT.CHECK_FAILED,
        );
      }
      if (opts.json) json({ file, events: count, tasks });
      else print(`imported ${count} events into "${s.queue.namespace}"; ${tasks} task projections rebuilt`);
    },
    true,
  );
}

// ---------------------------------------------------------------------------------------------- verify / rebuild

export async function verifyCommand(opts: GlobalOptions & { repair?: boolean }): Promise<void> {
  await withSession(opts, async (s) => {
    const bar = lazyProgress('verifying');
    const report = await s.queue.verify({ onProgress: bar.onProgress, repair: !!opts.repair });
    bar.end();
    const { repair } = report;
    if (opts.json) json(report);
    else {
      for (const m of report.mismatches.slice(0, 50)) print(colour.red(m));
      print(
        `${report.tasks} tasks checked against the log: ${report.mismatches.length === 0 ? colour.green('no mismatches') : colour.red(`${report.mismatches.length} mismatches`)}`,
      );
      if (repair)
        print(
          `repaired: the indexes of ${repair.tasks} tasks, ${repair.counts} counts; left: ${repair.movedOn} moved on (verify again), ${repair.needRebuild} need rebuild`,
        );
    }
    // With --repair, only what it left is a failure: projections (rebuild's) and what moved on meanwhile.
    const left = repair
      ? report.mismatches.length - report.indexes.length + repair.movedOn + repair.needRebuild
      : report.mismatches.length;
    if (left) process.exitCode = EXIT.CHECK_FAILED;
  });
}

export async function rebuildCommand(opts: GlobalOptions): Promise<void> {
  await withSession(opts, async (s) => {
    const bar = lazyProgress('rebuilding');
    const report = await s.queue.rebuild({ onProgress: bar.onProgress });
    bar.end();
    if (opts.json) json(report);
    else print(`${report.events} events folded; ${report.tasks} task projections rewritten`);
  });
}

// ---------------------------------------------------------------------------------------------- operate

export async function cancelCommand(id: string, opts: GlobalOptions): Promise<void> {
  await withSession(opts, async (s) => {
    const changed = await s.queue.cancel(id);
    if (opts.json) json({ id, cancelled: true, changed });
    else print(changed ? `cancelled ${id}` : `${id} was cancelled already`);
  });
}

export async function retryCommand(id: string, opts: GlobalOptions): Promise<void> {
  await withSession(opts, async (s) => {
    const changed = await s.queue.retry(id);
    if (opts.json) json({ id, waiting: true, changed });
    else print(changed ? `${id} is waiting again` : `${id} is waiting or running already`);
  });
}

export async function deleteCommand(
  opts: GlobalOptions & { reference: string[]; yes?: boolean; dryRun?: boolean },
): Promise<void> {
  const refs = parseReferences(opts.reference);
  if (Object.keys(refs).length === 0) throw new CliError('give at least one --reference name=value', EXIT.USAGE);
  // isTTY is undefined, not false, on a stream that is not a terminal: only its truth is used.
  const interactive = !opts.yes && !opts.dryRun && process.stdin.isTTY;
  if (!opts.yes && !opts.dryRun && !interactive)
    throw new CliError(
      `not deleting what carries ${JSON.stringify(refs)} without confirmation: this is not a terminal, so pass --yes (or --dry-run to count)`,
      EXIT.USAGE,
    );
  await withSession(opts, async (s) => {
    if (opts.dryRun || interactive) {
      const found = await countByReference(s, refs);
      if (opts.dryRun) {
        if (opts.json) json({ ...found, dryRun: true });
        else
          print(`would delete ${found.tasks} tasks and ${found.schedules} schedules carrying ${JSON.stringify(refs)}`);
        return;
      }
      if (
        !(await askYes(
          `This deletes ${found.tasks} tasks and ${found.schedules} schedules carrying ${JSON.stringify(refs)}.`,
        ))
      )
        throw new CliError('not deleted: the answer was not "yes"', EXIT.REFUSED);
    }
    const result = await s.queue.deleteByReference(refs);
    if (opts.json) json(result);
    else print(`deleted ${result.tasks} tasks and ${result.schedules} schedules carrying ${JSON.stringify(refs)}`);
  });
}

/** What deleteByReference would delete now: tasks still there, and schedules, carrying every reference. */
async function countByReference(s: Session, refs: References): Promise<{ tasks: number; schedules: number }> {
  const valid = validateReferences(refs);
  const members = async (keys: string[]) =>
    keys.length === 1 ? await s.redis.smembers(keys[0]!) : await s.redis.sinter(...keys);
  let tasks = 0;
  let schedules = 0;
  // Each partition's own reference sets (§20).
  for (const { keys: k } of s.reads) {
    const ids = await members(Object.entries(valid).map(([n, v]) => k.reference(n, v)));
    for (let i = 0; i < ids.length; i += 1000) {
      const p = s.redis.pipeline();
      for (const id of ids.slice(i, i + 1000)) p.exists(k.task(id));
      for (const [err, n] of (await p.exec()) ?? []) {
        if (err) throw err;
        tasks += Number(n);
      }
    }
    schedules += (await members(Object.entries(valid).map(([n, v]) => k.scheduleReference(n, v)))).length;
  }
  return { tasks, schedules };
}

/** Asks on the terminal; true when "yes" is typed. */
async function askYes(what: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  // Input that ends before a line is typed is no confirmation.
  const closed = once(rl, 'close').then(() => null);
  try {
    process.stderr.write(`${what}\n`);
    const answer = await Promise.race([new Promise<string>((res) => rl.question('type yes to go on: ', res)), closed]);
    return answer?.trim() === 'yes';
  } finally {
    rl.close();
  }
}

// ---------------------------------------------------------------------------------------------- schedules

export async function schedulesCommand(opts: GlobalOptions): Promise<void> {
  await withSession(opts, async (s) => {
    const list = await s.scheduler().listSchedules();
    if (opts.json) {
      json(list);
      return;
    }
    print(
      table(
        ['ID', 'QUEUE', 'TYPE', 'CRON', 'TIMEZONE', 'NEXT RUN', 'LAST RUN', 'REFERENCES'],
        list.map((x) => [
          forTerminal(x.id),
          forTerminal(x.queue),
          forTerminal(x.type),
          forTerminal(x.cronSchedule),
          forTerminal(x.timezone),
          `${x.nextRunAt.toISOString()} (${relative(x.nextRunAt)})`,
          relative(x.lastRunAt),
          brief(x.references, 40),
        ]),
      ),
    );
  });
}

export async function scheduleAddCommand(
  opts: GlobalOptions & {
    queue: string;
    type: string;
    cron: string;
    timezone?: string;
    spec?: string;
    reference?: string[];
    catchUp?: string;
  },
): Promise<void> {
  let spec: JsonValue = null;
  if (opts.spec !== undefined) {
    try {
      spec = JSON.parse(opts.spec) as JsonValue;
    } catch {
      throw new CliError(`--spec must be JSON, got ${opts.spec}`, EXIT.USAGE);
    }
  }
  await withSession(
    opts,
    async (s) => {
      const id = await s.scheduler().schedule({
        queue: opts.queue,
        type: opts.type,
        cronSchedule: opts.cron,
        spec,
        references: parseReferences(opts.reference),
        ...(opts.timezone ? { timezone: opts.timezone } : {}),
        ...(opts.catchUp ? { catchUp: opts.catchUp as 'one' } : {}),
      });
      const schedule = (await s.scheduler().listSchedules()).find((x) => x.id === id);
      if (opts.json) json(schedule);
      else
        print(
          `scheduled ${id}: next run ${schedule ? schedule.nextRunAt.toISOString() : 'unknown (the schedule is no longer listed)'}`,
        );
    },
    true,
  );
}

export async function scheduleRemoveCommand(
  opts: GlobalOptions & { queue: string; type: string; reference?: string[] },
): Promise<void> {
  await withSession(opts, async (s) => {
    const removed = await s
      .scheduler()
      .unschedule({ queue: opts.queue, type: opts.type, references: parseReferences(opts.reference) });
    if (opts.json) json({ removed });
    else print(removed ? 'schedule removed' : 'no such schedule');
    if (!removed) process.exitCode = EXIT.NOT_FOUND;
  });
}

// ---------------------------------------------------------------------------------------------- doctor

interface Check {
  check: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
  fix?: string;
}

export async function doctorCommand(opts: GlobalOptions): Promise<void> {
  await withSession(
    opts,
    async (s) => {
      const checks: Check[] = [];
      const info = (await s.redis.info()).split('\r\n');
      const field = (name: string) => info.find((l) => l.startsWith(`${name}:`))?.slice(name.length + 1);
      const version = field('redis_version') ?? '?';
      const [major = 0, minor = 0] = version.split('.').map(Number);
      checks.push(
        major > 6 || (major === 6 && minor >= 2)
          ? { check: 'Redis version', status: 'ok', detail: version }
          : {
              check: 'Redis version',
              status: 'fail',
              detail: version,
              fix: 'upgrade to Redis 6.2 or newer (XAUTOCLAIM, XINFO lag)',
            },
      );
      const config = async (name: string) => {
        try {
          return ((await s.redis.config('GET', name)) as string[])[1];
        } catch {
          return undefined; // managed Redis may refuse CONFIG
        }
      };
      const policy = await config('maxmemory-policy');
      checks.push(
        policy === undefined
          ? {
              check: 'maxmemory-policy',
              status: 'warn',
              detail: 'CONFIG GET refused',
              fix: 'make sure maxmemory-policy is noeviction',
            }
          : policy === 'noeviction'
            ? { check: 'maxmemory-policy', status: 'ok', detail: policy }
            : {
                check: 'maxmemory-policy',
                status: 'fail',
                detail: policy,
                fix: 'set maxmemory-policy noeviction: under memory pressure Redis would otherwise evict tasks and events',
              },
      );
      const aof = field('aof_enabled') === '1';
      const fsync = await config('appendfsync');
      checks.push(
        aof
          ? fsync === 'no'
            ? {
                check: 'persistence',
                status: 'warn',
                detail: 'appendonly yes, appendfsync no',
                fix: 'set appendfsync everysec (or always): with no, the OS decides when writes reach disk',
              }
            : { check: 'persistence', status: 'ok', detail: `appendonly yes, appendfsync ${fsync ?? '?'}` }
          : {
              check: 'persistence',
              status: 'warn',
              detail: `appendonly no, ${(await config('save')) ? 'RDB snapshots only' : 'no snapshots either'}`,
              fix: 'set appendonly yes and appendfsync everysec (or always): otherwise a restart loses acknowledged work',
            },
      );
      // Read through the raw connection: a TaskQueue would record a format version in an empty namespace.
      const format = await readFormat(s.redis, keysFor(opts.namespace));
      checks.push(
        format === null
          ? { check: 'format version', status: 'warn', detail: `namespace "${opts.namespace}" has no data yet` }
          : format <= PARTITIONED_FORMAT
            ? {
                check: 'format version',
                status: 'ok',
                detail: `${format} (this taskledger reads up to ${PARTITIONED_FORMAT})`,
              }
            : {
                check: 'format version',
                status: 'fail',
                detail: `${format}, newer than this taskledger (${PARTITIONED_FORMAT})`,
                fix: 'upgrade taskledger',
              },
      );
      const before = Date.now();
      const redisMs = await redisNow(s.redis);
      const after = Date.now();
      const skew = Math.round(redisMs - (before + after) / 2);
      checks.push(
        Math.abs(skew) <= 1000
          ? { check: 'clock skew', status: 'ok', detail: `${skew} ms between ${hostname()} and Redis` }
          : {
              check: 'clock skew',
              status: 'warn',
              detail: `${skew} ms between ${hostname()} and Redis`,
              fix: 'run NTP: taskledger times use the Redis clock, but runAt dates given by clients use theirs',
            },
      );
      if (format !== null) checks.push(...(await retentionChecks(s.redis, keysFor(opts.namespace))));
      if (opts.json) json({ ok: !checks.some((c) => c.status === 'fail'), checks });
      else {
        const mark = { ok: colour.green('ok  '), warn: colour.yellow('warn'), fail: colour.red('FAIL') };
        for (const c of checks)
          print(`${mark[c.status]}  ${c.check.padEnd(17)} ${c.detail}${c.fix ? `\n      → ${c.fix}` : ''}`);
      }
      if (checks.some((c) => c.status === 'fail')) process.exitCode = EXIT.CHECK_FAILED;
    },
    true,
  );
}
