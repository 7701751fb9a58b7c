#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { CliError, EXIT, type GlobalOptions } from './connect.js';
import * as c from './commands.js';
import { archiveVerifyCommand } from './archive-commands.js';
import { partitionsArg, partitionsCommand } from './partition-commands.js';
import { dashboardCommand } from './dashboard-command.js';
import { compactCommand, dropCommand } from './retention-commands.js';
import { queueHistoryCommand, queuePauseCommand, queueSetCommand, queueShowCommand } from './queue-commands.js';

// A reader that stops early (`taskledger events | head`) closes the pipe: that ends the command, quietly.
for (const stream of [process.stdout, process.stderr])
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT.OK);
    throw err;
  });

const { version } = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as {
  version: string;
};

const program = new Command('taskledger')
  .description('Inspect, audit, replay and operate taskledger queues.')
  .version(version, '--version', 'print the version')
  .option('--redis <url>', 'Redis URL (default: REDIS_URL, else redis://127.0.0.1:6379)')
  .option('--namespace <name>', 'taskledger namespace', 'taskledger')
  .option('--json', 'machine-readable output')
  .showHelpAfterError()
  .exitOverride();

const globals = (cmd: Command) => cmd.optsWithGlobals<GlobalOptions & Record<string, unknown>>();
const collect = (value: string, list: string[] = []) => [...list, value];

program
  .command('stats')
  .description('per queue: waiting, delayed, running, finished, failed, cancelled, oldest waiting, last minute')
  .option('--watch', 'refresh in place until interrupted')
  .option('--interval <ms>', 'refresh interval with --watch (100 to 3600000)', '2000')
  .action((_, cmd: Command) => c.statsCommand(globals(cmd)));

program
  .command('tasks')
  .description('list the tasks of a queue in one status, newest first (--oldest for oldest first), with paging')
  .requiredOption('--queue <name>', 'queue')
  .requiredOption('--status <status>', 'waiting, delayed, running, finished, failed or cancelled')
  .option('--limit <n>', 'tasks per page', '20')
  .option('--oldest', 'oldest first')
  .option('--after <cursor>', 'the page after this cursor (printed with each full page)')
  .option('--partition <k>', 'on a namespace of several partitions: list only this partition (default: all, merged)')
  .action((_, cmd: Command) => c.tasksCommand(globals(cmd) as never));

program
  .command('show <id>')
  .description('a task and its full history as a timeline')
  .option('--archive <dir>', 'also read the events compaction archived there (FileArchive)')
  .action((id: string, _, cmd: Command) => c.showCommand(id, globals(cmd)));

program
  .command('events')
  .description('the event log, replayed (and with --follow tailed live)')
  .option('--from <id>', "start at this event id ('$' with --follow: only events written from now on)")
  .option('--follow', 'keep streaming new events until interrupted')
  .option('--task <id>', 'only this task')
  .option('--type <type>', 'only this event type (enqueued, started, finished, ...)')
  .option('--archive <dir>', 'replay the archive in that directory first, then the log')
  .action((_, cmd: Command) => c.eventsCommand(globals(cmd)));

program
  .command('export')
  .summary('the audit log as NDJSON, one event per line')
  // The format's documentation ships in the package: name the installed file, which resolves wherever that is.
  .description(
    `the audit log as NDJSON, one event per line; the format: ${fileURLToPath(new URL('../../docs/export.md', import.meta.url))}`,
  )
  .requiredOption('--out <file>', 'file to write')
  .option('--from <id>', 'first event id (inclusive)')
  .option('--to <id>', 'last event id (inclusive)')
  .option('--archive <dir>', 'export the archive in that directory first, then the log')
  .action((_, cmd: Command) => c.exportCommand(globals(cmd) as never));

program
  .command('verify-export <file>')
  .description('check an export line by line against the log')
  .action((file: string, _, cmd: Command) => c.verifyExportCommand(file, globals(cmd)));
program
  .command('import <file>')
  .description('load an export into an empty namespace and rebuild its projections')
  .option('--partitions <count>', 'partitions of the namespace made here (an export of several carries them)')
  .action((file: string, _, cmd: Command) => {
    const { partitions, ...rest } = globals(cmd);
    const count = partitionsArg(partitions as string | undefined);
    return c.importCommand(file, count === undefined ? rest : { ...rest, partitions: count });
  });
program
  .command('dashboard')
  .description('serve the web dashboard for every namespace found (or --namespace, --namespaces a,b)')
  .option(
    '--host <address>',
    'address to listen on; beyond loopback it needs TASKLEDGER_DASHBOARD_TOKEN (or _USER and _PASSWORD)',
    '127.0.0.1',
  )
  .option('--port <port>', 'port to listen on', '8080')
  .option('--namespaces <list>', 'only these namespaces, comma-separated')
  .option('--read-only', 'hide and refuse every action')
  .action((_, cmd: Command) =>
    dashboardCommand({
      ...globals(cmd),
      namespaceGiven: cmd.getOptionValueSourceWithGlobals('namespace') !== 'default',
    }),
  );
program
  .command('partitions')
  .description('the partition count; --to moves a namespace of one partition to more, online')
  .option('--to <count>', 'move a namespace of one partition to this many (2 or more)')
  .option('--finish', 'end a migration once partition 0 holds no task routed elsewhere')
  .action((_, cmd: Command) => partitionsCommand(globals(cmd)));
program
  .command('verify')
  .description('check every projection and index against a fold of the log (exit 1 on mismatch)')
  .option('--repair', 'put the index entries found wrong back in step (each fix is logged); exit 1 if any is left')
  .action((_, cmd: Command) => c.verifyCommand(globals(cmd)));
program
  .command('rebuild')
  .description('rewrite every projection from the log')
  .action((_, cmd: Command) => c.rebuildCommand(globals(cmd)));
program
  .command('cancel <id>')
  .description('cancel a waiting or running task')
  .action((id: string, _, cmd: Command) => c.cancelCommand(id, globals(cmd)));
program
  .command('retry <id>')
  .description('give a failed or cancelled task another run')
  .action((id: string, _, cmd: Command) => c.retryCommand(id, globals(cmd)));

program
  .command('delete')
  .description('delete every task and schedule carrying all the references')
  .requiredOption('--reference <name=value>', 'a reference (repeat for several)', collect)
  .option('--dry-run', 'count what would be deleted, delete nothing')
  .option('--yes', 'do not ask (needed when not on a terminal)')
  .action((_, cmd: Command) => c.deleteCommand(globals(cmd) as never));

program
  .command('schedules')
  .description('cron schedules with their next run times')
  .action((_, cmd: Command) => c.schedulesCommand(globals(cmd)));

const schedule = program.command('schedule').description('add or remove a cron schedule');
schedule
  .command('add')
  .description('add a cron schedule, or update the one with the same queue, type and references')
  .requiredOption('--queue <name>', 'queue the ticks go to')
  .requiredOption('--type <type>', 'task type')
  .requiredOption('--cron <expression>', 'cron expression (5 fields, 6 with seconds, or @hourly...)')
  .option('--timezone <tz>', 'IANA timezone', 'UTC')
  .option('--spec <json>', 'task spec as JSON')
  .option('--reference <name=value>', 'a reference (repeat for several)', collect)
  .addOption(new Option('--catch-up <mode>', 'missed ticks').choices(['one', 'all', 'none']))
  .action((_, cmd: Command) => c.scheduleAddCommand(globals(cmd) as never));
schedule
  .command('remove')
  .description('remove the cron schedule with this queue, type and references (exit 3 when there is none)')
  .requiredOption('--queue <name>', 'queue')
  .requiredOption('--type <type>', 'task type')
  .option('--reference <name=value>', 'a reference (repeat for several)', collect)
  .action((_, cmd: Command) => c.scheduleRemoveCommand(globals(cmd) as never));

const archive = program.command('archive').description('check an archive that compaction wrote (no Redis needed)');
archive
  .command('verify <dir>')
  .description(
    'check an archive directory: the manifest chain, every segment and task filter, the signatures with a key (exit 1 on any break)',
  )
  .option('--hmac-key <key>', 'the signing key (default: TASKLEDGER_ARCHIVE_HMAC_KEY)')
  .action((dir: string, _, cmd: Command) => archiveVerifyCommand(dir, globals(cmd)));

const queue = program.command('queue').description("a queue's controls: show, pause, resume, set, and their history");
queue
  .command('show <queue>')
  .description('paused or not, running tasks, concurrency cap, rate limit, priority aging, a RateLimitedError hold')
  .action((name: string, _, cmd: Command) => queueShowCommand(name, globals(cmd)));
queue
  .command('pause <queue>')
  .description('start nothing new from the queue (enqueue still works; running tasks finish)')
  .action((name: string, _, cmd: Command) => queuePauseCommand(name, true, globals(cmd)));
queue
  .command('resume <queue>')
  .description('let a paused queue start tasks again')
  .action((name: string, _, cmd: Command) => queuePauseCommand(name, false, globals(cmd)));
queue
  .command('set <queue>')
  .description("change the queue's controls, across every worker (each change is logged)")
  .option('--concurrency <n>', 'most tasks of the queue running at once (none: no cap)')
  .option('--rate <max/perms>', 'at most MAX starts in any PERMS ms, e.g. 50/1000 (none: no limit)')
  .option('--aging <ms>', 'serve a priority level first once its oldest task waited this long (none: strict)')
  .action((name: string, _, cmd: Command) => queueSetCommand(name, globals(cmd)));
queue
  .command('history <queue>')
  .description("every change of the queue's controls, from the log: when, what, the options after, by whom")
  .option('--archive <dir>', 'also read the events compaction archived there (FileArchive)')
  .action((name: string, _, cmd: Command) => queueHistoryCommand(name, globals(cmd)));

program
  .command('compact')
  .description('run one compaction pass with the retention given: ended tasks, then the log (--dry-run: count only)')
  .option('--dry-run', 'count what a pass would do, write nothing')
  .option('--finished-ms <ms>', 'remove finished tasks ended longer ago than this')
  .option('--failed-ms <ms>', 'remove failed tasks ended longer ago than this')
  .option('--cancelled-ms <ms>', 'remove cancelled tasks ended longer ago than this')
  .option('--log-ms <ms>', 'trim log entries older than this (needs --archive DIR or --no-archive)')
  .option('--archive <dir>', 'archive the trimmed events to this directory (FileArchive) first')
  .option('--no-archive', 'trim the log without archiving: the events beyond --log-ms are gone for good')
  .action((_, cmd: Command) => compactCommand(globals(cmd)));

program
  .command('drop')
  .description('delete every key of a namespace: tasks, log, schedules, all (asks first on a terminal)')
  .option('--yes', 'do not ask (needed when not on a terminal)')
  .action((_, cmd: Command) =>
    dropCommand({ ...globals(cmd), namespaceGiven: program.getOptionValueSource('namespace') === 'cli' }),
  );

program
  .command('doctor')
  .description('check the Redis it points at and say what to change')
  .action((_, cmd: Command) => c.doctorCommand(globals(cmd)));

async function main(): Promise<number> {
  try {
    await program.parseAsync(process.argv);
    return Number(process.exitCode ?? EXIT.OK);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are not errors; usage mistakes have been printed with the usage.
      return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    const json = process.argv.includes('--json');
    const message = err instanceof Error ? err.message : String(err);
    const code = err instanceof CliError ? err.exitCode : EXIT.CHECK_FAILED;
    if (json) process.stdout.write(`${JSON.stringify({ error: message, exitCode: code })}\n`);
    process.stderr.write(`taskledger: ${message}\n`);
    return code;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    // Only a failure inside main()'s own error handling gets here: report it, and fail.
    process.stderr.write(`taskledger: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(EXIT.CHECK_FAILED);
  },
);
