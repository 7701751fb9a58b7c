import { spawn } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ArchiveUnavailableError, FileArchive, ValidationError } from '../src/index.js';
import { fromExportLine, toExportLine } from '../src/events/export-line.js';
import { FileStore } from '../src/archive/file-store.js';
import { TaskFilter } from '../src/archive/task-filter.js';
import { archiveBehaviours, ev, threeSegments } from './helpers/archive.js';
import { tempDir } from './helpers/redis.js';

function dir(): string {
  const d = tempDir('archive');
  onTestFinished(() => d.remove());
  return d.path;
}

describe('FileArchive', () => {
  archiveBehaviours(async () => {
    const path = dir();
    return { archive: (options) => new FileArchive(path, options), store: new FileStore(path) };
  });

  it('lays out gzip’d export lines, a filter beside each segment and a manifest, and no temp files', async () => {
    const path = dir();
    const events = await threeSegments(new FileArchive(path));
    expect(readdirSync(path).sort()).toEqual([
      'manifest.json',
      'seg-10-0-10-4.filter',
      'seg-10-0-10-4.ndjson.gz',
      'seg-20-0-20-4.filter',
      'seg-20-0-20-4.ndjson.gz',
      'seg-30-0-30-4.filter',
      'seg-30-0-30-4.ndjson.gz',
    ]);
    const lines = gunzipSync(readFileSync(join(path, 'seg-10-0-10-4.ndjson.gz'))).toString('utf8');
    expect(lines).toBe(events.slice(0, 5).map(toExportLine).join('\n') + '\n');
    const manifest = JSON.parse(readFileSync(join(path, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({ format: 1, namespace: 'ns' });
  });

  it('needs an existing, writable directory: it never creates one (ArchiveUnavailableError)', async () => {
    const path = dir();
    await expect(new FileArchive(join(path, 'missing')).open('ns')).rejects.toBeInstanceOf(ArchiveUnavailableError);
    expect(existsSync(join(path, 'missing'))).toBe(false);
    // Under a regular file nothing can be made or written, root or not.
    writeFileSync(join(path, 'file'), 'x');
    await expect(new FileArchive(join(path, 'file', 'sub')).open('ns')).rejects.toBeInstanceOf(ArchiveUnavailableError);
    await expect(new FileArchive(join(path, 'file')).open('ns')).rejects.toThrow(/not a directory/);
    await expect(new FileArchive(join(path, 'missing')).verify()).rejects.toBeInstanceOf(ArchiveUnavailableError);
    await expect(new FileArchive(join(path, 'missing')).lastId()).rejects.toBeInstanceOf(ArchiveUnavailableError);
  });

  it('refuses a directory it cannot write to, yet reads and verifies a read-only archive', async () => {
    const path = dir();
    await threeSegments(new FileArchive(path));
    chmodSync(path, 0o555);
    onTestFinished(() => chmodSync(path, 0o755));
    // Root writes through a mode of 0o555; /proc/self takes no new file from anyone.
    const unwritable = process.getuid?.() === 0 ? '/proc/self' : path;
    await expect(new FileArchive(unwritable).open('ns')).rejects.toBeInstanceOf(ArchiveUnavailableError);
    expect((await new FileArchive(path).verify()).ok).toBe(true);
  });

  it('removes what an interrupted put left (temp files) on the next append', async () => {
    const path = dir();
    const archive = new FileArchive(path);
    await archive.open('ns');
    writeFileSync(join(path, '.tmp-manifest.json-dead'), 'half');
    expect((await archive.verify()).ok).toBe(true);
    await archive.append([ev(1, 0, 'a')]);
    expect(readdirSync(path).filter((n) => n.startsWith('.'))).toEqual([]);
  });
});

describe('the task filter', () => {
  it('never misses an id it holds, and is wrong about others about 1% of the time', () => {
    const held = new Set(Array.from({ length: 5000 }, (_, i) => `held-${i}`));
    const filter = TaskFilter.fromBytes(TaskFilter.of(held).toBytes(), 'test');
    for (const id of held) expect(filter.mayHold(id)).toBe(true);
    let wrong = 0;
    for (let i = 0; i < 20_000; i++) if (filter.mayHold(`other-${i}`)) wrong++;
    expect(wrong / 20_000).toBeLessThan(0.02);
    expect(TaskFilter.of(held).toBytes().length).toBeLessThan(5000 * 1.3);
  });

  it('refuses bytes that are not a filter', () => {
    expect(() => TaskFilter.fromBytes(Buffer.from('nope'), 'f')).toThrow(/not a task filter/);
  });
});

describe('export lines', () => {
  it('round-trip an event, with and without a schedule id, any type', () => {
    for (const e of [
      ev(1_795_804_900_716, 3, 'T', 'enqueued', { spec: { s: 'é😀' } }),
      { ...ev(2, 0, '', 'scheduled'), scheduleId: 'S' },
      ev(3, 0, '', 'expired', { tasks: 'a b' }),
    ])
      expect(fromExportLine(JSON.parse(toExportLine(e)))).toEqual(e);
  });

  it('are checked field by field', () => {
    const good = { id: '1-0', at: '1970-01-01T00:00:00.001Z', type: 'progress', taskId: 't', data: {} };
    expect(fromExportLine(good)).toMatchObject({ id: '1-0', type: 'progress' });
    for (const bad of [
      null,
      [],
      { ...good, id: 'x' },
      { ...good, at: 'yesterday' },
      { ...good, type: '' },
      { ...good, taskId: 5 },
      { ...good, scheduleId: 1 },
      { ...good, data: [] },
    ])
      expect(() => fromExportLine(bad)).toThrow(ValidationError);
  });
});

// The command line as it ships: dist/cli/main.js (npm test builds it first).
const BIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // No Redis anywhere: an unroutable REDIS_URL shows the command never needs one.
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, NO_COLOR: '1', REDIS_URL: 'redis://127.0.0.1:1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('taskledger archive verify', { timeout: 60_000 }, () => {
  it('exits 0 on an intact archive, 1 naming the segment on a tampered one, 4 on a missing directory', async () => {
    const path = dir();
    const archive = new FileArchive(path, { hmacKey: 'secret' });
    await threeSegments(archive);
    const good = await cli(['archive', 'verify', path, '--hmac-key', 'secret']);
    expect(good).toMatchObject({ code: 0, stderr: '' });
    expect(good.stdout).toMatch(/3 segments, 15 events, signatures checked: intact/);

    const json = await cli(['--json', 'archive', 'verify', path]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, segments: 3, events: 15, namespace: 'ns' });

    const wrongKey = await cli(['archive', 'verify', path, '--hmac-key', 'guess']);
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stdout).toMatch(/seg-10-0-10-4\.ndjson\.gz: the signature does not match/);

    const name = join(path, 'seg-20-0-20-4.ndjson.gz');
    const bytes = readFileSync(name);
    bytes[10]! ^= 0xff;
    writeFileSync(name, bytes);
    const bad = await cli(['archive', 'verify', path]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/seg-20-0-20-4\.ndjson\.gz: sha256 does not match/);
    expect(bad.stdout).not.toMatch(/seg-10-0-10-4|seg-30-0-30-4/);
    const badJson = JSON.parse((await cli(['--json', 'archive', 'verify', path])).stdout) as {
      problems: { segment: string }[];
    };
    expect(new Set(badJson.problems.map((p) => p.segment))).toEqual(new Set(['seg-20-0-20-4.ndjson.gz']));

    const missing = await cli(['archive', 'verify', join(path, 'nope')]);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toMatch(/must exist/);
  });
});
