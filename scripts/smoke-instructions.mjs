#!/usr/bin/env node
// Smoke test of the instruction counts, kept out of `npm test` because it needs valgrind (which Apple
// Silicon lacks): bench/ablate.mjs still finds every part it takes out of the scripts and counts what they
// save, and bench/instructions.mjs counts Redis instructions per task under callgrind. Tiny N, so they
// cannot rot. Needs valgrind (callgrind_control, callgrind_annotate), redis-server and a build (dist/):
//   npm run smoke:instructions
// Exits 0 when every check holds, 1 when one fails (printing the script's output), 2 without valgrind.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HINT = '(valgrind and callgrind_control must be on the PATH: apt-get install valgrind)';
const TIMEOUT_MS = 180_000;

for (const tool of ['valgrind', 'callgrind_control', 'callgrind_annotate', 'redis-server']) {
  if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).error) {
    console.error(
      `smoke-instructions: ${tool} not found on the PATH. ${tool === 'redis-server' ? 'Install redis-server (apt-get install redis-server).' : HINT}`,
    );
    process.exit(2);
  }
}

// What the scripts put in the temp dir (callgrind output, redis-server dirs) goes under one dir, removed at the end.
const tmp = mkdtempSync(join(tmpdir(), 'taskledger-smoke-'));

/**
 * Runs a bench script with this Node in a process group of its own; resolves with its exit code and all
 * its output. Afterwards the group is killed, so a redis-server under valgrind that a failed run left
 * behind does not outlive it; past TIMEOUT_MS the run is killed and fails.
 */
function runNode(args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, {
      env: { ...process.env, TMPDIR: tmp },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    const killGroup = () => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // the group is gone already
      }
    };
    const timer = setTimeout(() => {
      out += `\n(killed after ${TIMEOUT_MS / 1000} s)`;
      killGroup();
    }, TIMEOUT_MS);
    child.stdout.on('data', (d) => (out += d.toString()));
    child.stderr.on('data', (d) => (out += d.toString()));
    child.on('error', (err) => (clearTimeout(timer), resolve({ code: -1, out: String(err) })));
    child.on('exit', (code) => {
      clearTimeout(timer);
      killGroup();
      resolve({ code, out });
    });
  });
}

const checks = [
  {
    name: 'bench/ablate.mjs still finds every part it takes out of the scripts, and counts what they save',
    // `all` applies every replacement the parts use: one that no longer matches the scripts stops the run.
    args: [
      fileURLToPath(new URL('../bench/ablate.mjs', import.meta.url)),
      '--n',
      '100',
      '--workloads',
      '64',
      '--parts',
      'all',
    ],
    check(out) {
      const m = /\| all: [^|]+\| (-?\d+)k \(-?\d+ %\) \|/.exec(out);
      if (!m) return 'no `| all: ... | <n>k (<p> %) |` row in the output';
      // Taking those parts out saves instructions.
      if (!(Number(m[1]) > 0)) return `taking every part out saved ${m[1]}k instructions per task, not more than 0`;
      return null;
    },
  },
  {
    name: 'bench/instructions.mjs counts Redis instructions per task under callgrind',
    args: [
      fileURLToPath(new URL('../bench/instructions.mjs', import.meta.url)),
      '--systems',
      'taskledger',
      '--n',
      '100',
    ],
    check(out) {
      for (const workload of ['bulk enqueue', 'processing, concurrency 64', 'processing, concurrency 1']) {
        const m = new RegExp(`\\| ${workload} \\| ([\\d,]+) \\|`).exec(out);
        if (!m) return `no \`| ${workload} | <n> |\` row in the output`;
        if (!(Number(m[1].replace(/,/g, '')) > 0)) return `${workload}: ${m[1]} instructions per task, not more than 0`;
      }
      return null;
    },
  },
];

let failed = 0;
try {
  for (const { name, args, check } of checks) {
    const started = Date.now();
    const { code, out } = await runNode(args);
    const problem = code !== 0 ? `exited with ${code} ${HINT}` : check(out);
    const took = `${((Date.now() - started) / 1000).toFixed(1)} s`;
    if (problem) {
      failed++;
      console.error(`FAIL ${name} (${took}): ${problem}\n--- output ---\n${out.trimEnd()}\n--------------`);
    } else {
      console.log(`ok   ${name} (${took})`);
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
if (failed) {
  console.error(`smoke-instructions: ${failed} of ${checks.length} checks failed`);
  process.exit(1);
}
console.log(`smoke-instructions: all ${checks.length} checks passed`);
