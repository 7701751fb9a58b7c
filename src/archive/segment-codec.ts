import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { fromExportLine, toExportLine } from '../events/export-line.js';
import type { TaskEvent } from '../types.js';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** A segment's stored bytes: the events as export lines (docs/export.md), one per line, gzip'd. */
export async function encodeSegment(events: readonly TaskEvent[]): Promise<Uint8Array> {
  // In slices, letting the event loop run between them: a segment of 20,000 events encoded in one go held
  // a worker in the same process for tens of ms.
  const parts: string[] = [];
  for (let i = 0; i < events.length; i += SLICE) {
    if (i > 0) await yieldToLoop();
    parts.push(
      events
        .slice(i, i + SLICE)
        .map(toExportLine)
        .join('\n') + '\n',
    );
  }
  return gzipAsync(Buffer.from(parts.join(''), 'utf8'));
}

const SLICE = 1000;

/**
 * The events of a segment's stored bytes, in order. Throws (a zlib error, a SyntaxError or a
 * ValidationError naming the line) on bytes that are not a segment; callers say which segment.
 */
export async function decodeSegment(bytes: Uint8Array): Promise<TaskEvent[]> {
  const text = (await gunzipAsync(bytes)).toString('utf8');
  const lines = text.split('\n');
  if (lines.pop() !== '') throw new SyntaxError('the last line is not terminated');
  return lines.map((line, i) => {
    try {
      return fromExportLine(JSON.parse(line));
    } catch (err) {
      throw new SyntaxError(`line ${i + 1}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  });
}
