import type { Archive, ArchiveSegment, ArchiveVerifyReport } from '../../src/archive/archive.js';
import { compareStreamIds } from '../../src/events/stream-id.js';
import type { TaskEvent } from '../../src/types.js';

/**
 * An Archive in memory, for tests that need compaction to archive (the FileArchive lives elsewhere): it
 * keeps the segments it is given and answers lastId() from them. Nothing is durable.
 */
export class MemoryArchive implements Archive {
  readonly location = 'memory';
  readonly events: TaskEvent[] = [];
  private readonly segs: ArchiveSegment[] = [];
  private namespace: string | undefined;

  open(namespace: string): Promise<void> {
    if (this.namespace !== undefined && this.namespace !== namespace)
      return Promise.reject(new Error(`archive of ${this.namespace}, not ${namespace}`));
    this.namespace = namespace;
    return Promise.resolve();
  }

  lastId(): Promise<string | null> {
    return Promise.resolve(this.events.at(-1)?.id ?? null);
  }

  append(events: readonly TaskEvent[]): Promise<ArchiveSegment> {
    const segment: ArchiveSegment = {
      seq: this.segs.length,
      name: `${events[0]!.id}_${events.at(-1)!.id}`,
      first: events[0]!.id,
      last: events.at(-1)!.id,
      count: events.length,
      bytes: JSON.stringify(events).length,
      sha256: '',
      prev: '',
    };
    this.events.push(...events);
    this.segs.push(segment);
    return Promise.resolve(segment);
  }

  async *read(range: { from?: string; after?: string; to?: string } = {}): AsyncGenerator<TaskEvent> {
    await Promise.resolve();
    for (const e of this.events) {
      if (range.from !== undefined && compareStreamIds(e.id, range.from) < 0) continue;
      if (range.after !== undefined && compareStreamIds(e.id, range.after) <= 0) continue;
      if (range.to !== undefined && compareStreamIds(e.id, range.to) > 0) return;
      yield e;
    }
  }

  eventsOf(taskId: string): Promise<TaskEvent[]> {
    return Promise.resolve(this.events.filter((e) => e.taskId === taskId));
  }

  segments(): Promise<ArchiveSegment[]> {
    return Promise.resolve([...this.segs]);
  }

  verify(): Promise<ArchiveVerifyReport> {
    return Promise.resolve({ ok: true, segments: this.segs.length, events: this.events.length, problems: [] });
  }
}
