import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useRedis } from './helpers/fixture.js';
import { namespace } from './helpers/redis.js';

/**
 * The package as published: what `npm pack` puts in the tarball, and that tarball installed into a project
 * of its own (with prom-client 14, the oldest the peer range allows), then loaded with require() and import.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);
const r = useRedis();

/**
 * The environment without what `npm test` sets for its scripts: npm_config_local_prefix would point a
 * child npm at this checkout instead of the temp project. Network, cache and auth settings stay.
 */
function npmEnv(): NodeJS.ProcessEnv {
  const keep = /^npm_config_(cache|registry|userconfig|globalconfig|cafile|ca|proxy|https_proxy|noproxy|strict_ssl)$/i;
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) || keep.test(k)));
}

const npm = (args: string[], cwd: string) => run('npm', args, { cwd, env: npmEnv(), maxBuffer: 16 * 1024 * 1024 });
const node = (args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) =>
  run(process.execPath, args, { cwd, env: { ...process.env, ...env } });

interface PackResult {
  filename: string;
  files: { path: string }[];
}

let packed: string[] = [];
let dir = '';
let app = '';

beforeAll(async () => {
  expect(existsSync(join(ROOT, 'dist/index.js')), 'the package is packed from the build: npm run build').toBe(true);
  dir = mkdtempSync(join(tmpdir(), 'taskledger-pack-'));
  // --ignore-scripts: prepack would rebuild dist under the feet of the other test files.
  const { stdout } = await npm(['pack', '--json', '--ignore-scripts', '--pack-destination', dir], ROOT);
  const [result] = JSON.parse(stdout) as PackResult[];
  packed = result!.files.map((f) => f.path);
  app = join(dir, 'app');
  await run('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }));
  await npm(
    [
      'install',
      join(dir, result!.filename),
      'prom-client@14',
      '--prefix',
      app,
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--no-package-lock',
      '--ignore-scripts',
    ],
    app,
  );
}, 180_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the packed files', () => {
  it('are the build, the docs, README and LICENSE, with nothing twice and nothing stale', () => {
    expect(packed).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'LICENSE',
        'dist/index.js',
        'dist/index.d.ts',
        'dist/metrics/index.js',
        'dist/metrics/index.d.ts',
        'dist/cli/main.js',
        'docs/export.md',
      ]),
    );
    expect(packed.filter((p) => !/^(dist|docs)\//.test(p)).sort()).toEqual(['LICENSE', 'README.md', 'package.json']);
    // The Lua scripts once, in dist/lua where they are loaded from.
    const lua = packed.filter((p) => p.endsWith('.lua'));
    expect(lua.length).toBeGreaterThan(0);
    expect(lua.every((p) => p.startsWith('dist/lua/'))).toBe(true);
    // Every compiled file has its source: a build left over from a moved file would ship dead modules.
    const stale = packed.filter(
      (p) => /^dist\/.*\.js$/.test(p) && !existsSync(join(ROOT, p.replace(/^dist\//, 'src/').replace(/\.js$/, '.ts'))),
    );
    expect(stale, 'dist has files with no source: npm run build (it starts from an empty dist)').toEqual([]);
    // The maps carry their sources, since src is not shipped.
    const map = JSON.parse(readFileSync(join(ROOT, 'dist/index.js.map'), 'utf8')) as { sourcesContent?: string[] };
    expect(map.sourcesContent?.[0]).toContain('export');
  });

  it('leave prom-client to taskledger/metrics alone, so the main entry needs no peer', () => {
    const importers = packed.filter(
      (p) => p.endsWith('.js') && readFileSync(join(ROOT, p), 'utf8').includes("from 'prom-client'"),
    );
    expect(importers.length).toBeGreaterThan(0);
    expect(importers.filter((p) => !p.startsWith('dist/metrics/'))).toEqual([]);
  });

  it('hold every file the README links to', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const links = [...readme.matchAll(/\]\(([^)\s]+)\)/g)]
      .map((m) => m[1]!)
      .filter((href) => !/^[a-z]+:/i.test(href) && !href.startsWith('#'));
    expect(links.length).toBeGreaterThan(0);
    expect(
      links.map((href) => href.replace(/#.*$/, '').replace(/^\.\//, '')).filter((path) => !packed.includes(path)),
    ).toEqual([]);
  });

  it('are exported with types first, for import and require alike', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      exports: Record<string, Record<string, string>>;
    };
    for (const entry of ['.', './metrics']) {
      const conditions = pkg.exports[entry]!;
      expect(Object.keys(conditions)[0]).toBe('types');
      expect(conditions.default).toBeDefined();
      for (const target of Object.values(conditions)) expect(packed).toContain(target.replace(/^\.\//, ''));
    }
  });
});

describe('the installed tarball', () => {
  it('loads with require() and with import, as one module', async () => {
    writeFileSync(
      join(app, 'esm.mjs'),
      `import { createRequire } from 'node:module';
import { TaskQueue } from 'taskledger';
import { setupTaskQueueMetrics } from 'taskledger/metrics';
const require = createRequire(import.meta.url);
if (typeof TaskQueue !== 'function' || typeof setupTaskQueueMetrics !== 'function') throw new Error('missing exports');
// require(esm) returns the same module instance: no second copy of the classes or the metrics state.
if (require('taskledger').TaskQueue !== TaskQueue) throw new Error('require and import gave two copies');
if (require('taskledger/metrics').setupTaskQueueMetrics !== setupTaskQueueMetrics) throw new Error('two copies of metrics');
console.log('esm ok');
`,
    );
    expect((await node(['esm.mjs'], app)).stdout).toBe('esm ok\n');
    const cjs = await node(
      [
        '-e',
        "const t = require('taskledger'); const m = require('taskledger/metrics'); console.log(typeof t.TaskQueue, typeof t.TaskLedgerError, typeof m.metricsHandler)",
      ],
      app,
    );
    expect(cjs.stdout).toBe('function function function\n');
  });

  it('records into the app’s own prom-client 14 registry, counters and scraped gauges', async () => {
    expect(
      (JSON.parse(readFileSync(join(app, 'node_modules/prom-client/package.json'), 'utf8')) as { version: string })
        .version,
    ).toMatch(/^14\./);
    writeFileSync(
      join(app, 'scrape.cjs'),
      `const client = require('prom-client');
const { TaskQueue } = require('taskledger');
const { setupTaskQueueMetrics, queuerWithMetrics, queueStateMetrics } = require('taskledger/metrics');
(async () => {
  setupTaskQueueMetrics('app');
  const q = queuerWithMetrics(new TaskQueue({ connection: process.env.REDIS_URL, namespace: process.env.NS, recoveryIntervalMs: 0 }));
  queueStateMetrics(q, 'app');
  try {
    await q.enqueue({ queue: 'q', type: 't' });
    process.stdout.write(await client.register.metrics());
  } finally {
    await q.close();
  }
})().catch((err) => { console.error(err); process.exit(1); });
`,
    );
    const ns = namespace();
    const { stdout } = await node(['scrape.cjs'], app, { REDIS_URL: r.url, NS: ns });
    expect(stdout).toContain('app_tasks_enqueued_total{queue="q",type="t"} 1\n');
    expect(stdout).toContain(`app_queue_waiting{namespace="${ns}",queue="q"} 1\n`);
    expect(stdout).toContain(`app_event_log_entries{namespace="${ns}"} 1\n`);
    // The metadata's totals are counters set at each scrape (collect), which prom-client 14 runs too.
    expect(stdout).toContain(`# TYPE app_compaction_removed_tasks_total counter\n`);
    expect(stdout).toContain(`app_compaction_removed_tasks_total{namespace="${ns}"} 0\n`);
    expect(stdout).toContain(`app_ended_tasks_held{namespace="${ns}",status="finished"} 0\n`);
  });

  it('type-checks against prom-client 14 from an ES module and a CommonJS one', async () => {
    writeFileSync(
      join(app, 'esm.mts'),
      `import { Registry } from 'prom-client';
import { TaskQueue } from 'taskledger';
import { metricsHandler, queueStateMetrics, setupTaskQueueMetrics, type TaskQueueMetrics } from 'taskledger/metrics';
const registry = new Registry();
const metrics: TaskQueueMetrics = setupTaskQueueMetrics('app', registry);
metrics.taskCounter.inc({ queue: 'q', type: 't' });
export const watch = (q: TaskQueue) => queueStateMetrics(q, 'app', registry);
export const handler = metricsHandler(registry);
`,
    );
    writeFileSync(
      join(app, 'cjs.cts'),
      `import { Registry } from 'prom-client';
import { TaskQueue } from 'taskledger';
import { setupTaskQueueMetrics } from 'taskledger/metrics';
export const metrics = setupTaskQueueMetrics('app', new Registry());
export const Queue = TaskQueue;
`,
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          strict: true,
          noEmit: true,
          // Our declaration files are checked too, against the app's prom-client 14 types.
          skipLibCheck: false,
          types: ['node'],
          typeRoots: [join(ROOT, 'node_modules/@types')],
        },
        files: ['esm.mts', 'cjs.cts'],
      }),
    );
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    const result = await node([tsc, '-p', app], app).catch((err: unknown) => ({
      stdout: (err as { stdout?: string }).stdout ?? String(err),
    }));
    expect(result.stdout).toBe('');
  }, 60_000);

  it('names the export format’s documentation by a path that exists', async () => {
    const { stdout } = await node([join(app, 'node_modules/taskledger/dist/cli/main.js'), 'export', '--help'], app);
    const path = /(\/\S*docs\/export\.md)/.exec(stdout.replace(/\n\s*/g, ' '))?.[1];
    expect(path, stdout).toBe(join(app, 'node_modules/taskledger/docs/export.md'));
    expect(existsSync(path!)).toBe(true);
  });
});
