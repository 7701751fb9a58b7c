/** `partitions`: a namespace's partition count, and the online move of one partition to several (§20). */
import { finishPartitionMigration, migratePartitions } from '../partitions/migrate.js';
import { MAX_PARTITIONS } from '../partitions/layout.js';
import { CliError, EXIT, type GlobalOptions } from './connect.js';
import { withSession } from './commands.js';

const print = (text: string) => process.stdout.write(`${text}\n`);

/** A --partitions value: a whole number from 1 to MAX_PARTITIONS (a usage error otherwise). */
export function partitionsArg(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > MAX_PARTITIONS)
    throw new CliError(`--partitions must be a whole number from 1 to ${MAX_PARTITIONS}, got "${text}"`, EXIT.USAGE);
  return n;
}

/**
 * Shows the partition count and whether a migration is open; `--to N` starts the move of a namespace of one
 * partition to N (README "Partitions"), `--finish` ends it once partition 0 holds no task routed elsewhere.
 */
export async function partitionsCommand(opts: GlobalOptions & { to?: string; finish?: boolean }): Promise<void> {
  const to = partitionsArg(opts.to);
  if (to !== undefined && opts.finish) throw new CliError('give --to or --finish, not both', EXIT.USAGE);
  await withSession(opts, async (s) => {
    const target = { connection: s.redis, namespace: opts.namespace };
    if (to !== undefined) {
      const moved = await migratePartitions({ ...target, partitions: to });
      if (opts.json) print(JSON.stringify({ partitions: to, migrated: moved }));
      else
        print(
          moved
            ? `namespace "${opts.namespace}" now has ${to} partitions; restart its instances with partitions: ${to}, then run --finish`
            : `namespace "${opts.namespace}" has ${to} partitions already`,
        );
      return;
    }
    if (opts.finish) {
      const left = await finishPartitionMigration(target);
      if (opts.json) print(JSON.stringify({ finished: left === 0, tasksLeft: left }));
      else
        print(
          left === 0
            ? 'migration finished: lookups by id no longer look in partition 0 first'
            : `not finished: partition 0 still holds ${left} tasks routed elsewhere (end the instances with one partition, let them finish, or let retention expire them)`,
        );
      if (left > 0) process.exitCode = EXIT.CHECK_FAILED;
      return;
    }
    const meta = await s.redis.hmget(s.read.keys.meta, 'partitions', 'legacy');
    const partitions = Number(meta[0] ?? 1);
    const migrating = meta[1] === '1';
    if (opts.json) print(JSON.stringify({ partitions, migrating }));
    else
      print(
        `${partitions} partition${partitions === 1 ? '' : 's'}${migrating ? ', migration open (run --finish)' : ''}`,
      );
  });
}
