import { readdirSync } from 'node:fs';
import { FileArchive } from '../archive/file-archive.js';
import type { ArchiveVerifyReport } from '../archive/archive.js';
import { ArchiveUnavailableError } from '../errors.js';
import { CliError, EXIT } from './connect.js';
import { colour, lazyProgress } from './format.js';

const print = (text: string) => process.stdout.write(`${text}\n`);

/** The key from --hmac-key, else TASKLEDGER_ARCHIVE_HMAC_KEY (which keeps it out of the process list). */
const keyFrom = (given: string | undefined) => given ?? process.env.TASKLEDGER_ARCHIVE_HMAC_KEY;

/**
 * `archive verify DIR`: every check of Archive.verify() on a directory archive, with no Redis. Exit 1 on any
 * break (each named by its segment), 4 when the directory cannot be read.
 */
export async function archiveVerifyCommand(dir: string, opts: { json?: boolean; hmacKey?: string }): Promise<void> {
  const key = keyFrom(opts.hmacKey);
  const archive = new FileArchive(dir, key ? { hmacKey: key } : {});
  // A namespace of several partitions archives each but the first in its own chain, beside it (§20).
  const partitions = [0, ...partitionDirs(dir)];
  const reports: { partition: number; location: string; report: ArchiveVerifyReport }[] = [];
  for (const k of partitions) {
    const part = archive.partition(k);
    const bar = lazyProgress(partitions.length > 1 ? `verifying partition ${k}` : 'verifying');
    try {
      reports.push({
        partition: k,
        location: part.location,
        report: await part.verify({ onProgress: bar.onProgress }),
      });
    } catch (err) {
      if (err instanceof ArchiveUnavailableError) throw new CliError(err.message, EXIT.UNREACHABLE);
      throw err;
    } finally {
      bar.end();
    }
  }
  const [first, ...rest] = reports;
  if (opts.json)
    print(
      JSON.stringify(
        {
          location: archive.location,
          signaturesChecked: !!key,
          ...first!.report,
          ...(rest.length ? { partitions: rest.map((r) => ({ partition: r.partition, ...r.report })) } : {}),
        },
        null,
        2,
      ),
    );
  else for (const r of reports) printReport(r.location, r.report, !!key);
  if (reports.some((r) => !r.report.ok)) process.exitCode = EXIT.CHECK_FAILED;
}

/** The partitions (1, 2, ...) whose archives lie in `partition-<k>` directories under `dir`. */
function partitionDirs(dir: string): number[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return []; // verify() says why the directory cannot be read
  }
  return names
    .map((n) => /^partition-([1-9]\d{0,2})$/.exec(n)?.[1])
    .filter((k): k is string => k !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

function printReport(location: string, report: ArchiveVerifyReport, keyed: boolean): void {
  for (const p of report.problems.slice(0, 100)) print(colour.red(`${p.segment}: ${p.problem}`));
  if (report.problems.length > 100) print(colour.red(`... and ${report.problems.length - 100} more problems`));
  for (const n of report.notes ?? []) print(colour.yellow(`${n.segment}: ${n.note}`));
  const ns = report.namespace ? ` of namespace "${report.namespace}"` : '';
  const what = `${report.segments} segments, ${report.events} events${keyed ? ', signatures checked' : ''}`;
  print(
    `archive ${location}${ns}: ${what}: ${report.ok ? colour.green('intact') : colour.red(`${report.problems.length} problems`)}`,
  );
}
