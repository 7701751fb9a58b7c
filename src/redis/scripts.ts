import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { Command, type Cluster, type Redis } from 'ioredis';
import { fromRedisError } from '../errors.js';
import { foldRulesAsLua } from '../events/fold-rules.js';
import { enqueueConstants } from './protocols/enqueue.js';
import { constantsAsLua, inlineConstants, inlinedConstants, type LuaConstant } from './protocols/lua.js';
import { startConstants } from './protocols/start.js';
import { taskWritesConstants } from './protocols/task-writes.js';

const LUA_DIR = new URL('../lua/', import.meta.url);

/**
 * Includes whose Lua is generated from TypeScript and placed after their file's text (their header), so
 * that Lua and TypeScript share one definition: the fold (fold-rules.ts), and the layout of each script
 * protocol (protocols/*.ts), given as constants (constantsAsLua: each number or string is written in place
 * of its name where a script uses it).
 */
export const GENERATED: Readonly<Record<string, () => string | Readonly<Record<string, LuaConstant>>>> = {
  'fold-apply': foldRulesAsLua,
  'start-protocol': startConstants,
  'enqueue-protocol': enqueueConstants,
  'task-writes-protocol': taskWritesConstants,
};

/** An include as it lands in a script: the includes it declares, its text without them, its inlined constants. */
export interface Include {
  needs: string[];
  lua: string;
  constants?: ReadonlyMap<string, string>;
}

/**
 * Splits a file's `--@include name` lines from its text. They come first, after the header comment: a line
 * the loader did not expand would stay a comment and the script would fail only when run, and one after
 * the code would land after its first user.
 */
function declarations(file: string, source: string): { needs: string[]; lines: (string | { include: string })[] } {
  const needs: string[] = [];
  const lines: (string | { include: string })[] = [];
  let inComment = false;
  let code = false;
  for (const line of source.split('\n')) {
    const include = /^--@include(.*)$/.exec(line);
    if (include) {
      const name = include[1]!.trim();
      if (!/^[\w-]+$/.test(name)) throw new Error(`${file}: bad include line "${line}"`);
      if (inComment) throw new Error(`${file}: "${line}" inside a comment`);
      if (code)
        throw new Error(`${file}: "${line}" after the code: includes are declared first, after the header comment`);
      needs.push(name);
      lines.push({ include: name });
      continue;
    }
    lines.push(line);
    if (inComment) inComment = !line.includes(']]');
    else if (line.startsWith('--[[')) inComment = !line.slice(4).includes(']]');
    else if (line.trim() !== '' && !line.startsWith('--')) code = true;
  }
  return { needs, lines };
}

/** An include from src/lua/includes: its declared includes, and its text then its generated part, if any. */
export function readInclude(name: string): Include | undefined {
  const url = new URL(`includes/${name}.lua`, LUA_DIR);
  if (!existsSync(url)) return undefined;
  const { needs, lines } = declarations(`includes/${name}.lua`, readFileSync(url, 'utf8'));
  let lua = lines.filter((l): l is string => typeof l === 'string').join('\n');
  if (!lua.endsWith('\n')) lua += '\n';
  const generated = Object.hasOwn(GENERATED, name) ? GENERATED[name]!() : '';
  if (typeof generated === 'string') return { needs, lua: lua + generated };
  return { needs, lua: lua + constantsAsLua(generated), constants: inlinedConstants(generated) };
}

/**
 * Expands a script's `--@include name` lines. Each include declares its own includes at its top, and lands
 * in the script once, before its first user, after what it needs (depth first, in the order declared); an
 * include already placed is not placed again. A cycle, or a name with no include, is refused. The
 * constants of the includes placed are then written in place of their names. Returns the text and the
 * includes in the order they landed.
 */
export function expandIncludes(
  file: string,
  source: string,
  read: (name: string) => Include | undefined = readInclude,
): { lua: string; includes: string[] } {
  const placed: string[] = [];
  const path: string[] = [];
  const constants = new Map<string, string>();
  const place = (name: string, from: string): string => {
    if (placed.includes(name)) return '';
    const at = path.indexOf(name);
    if (at >= 0) throw new Error(`${file}: include cycle ${[...path.slice(at), name].join(' -> ')}`);
    const include = read(name);
    if (!include) throw new Error(`${from}: unknown include "${name}" (no src/lua/includes/${name}.lua)`);
    path.push(name);
    const needed = include.needs.map((n) => place(n, `includes/${name}.lua`)).join('');
    path.pop();
    placed.push(name);
    for (const [constant, value] of include.constants ?? []) constants.set(constant, value);
    return needed + include.lua;
  };
  const out: string[] = [];
  for (const line of declarations(file, source).lines) {
    if (typeof line === 'string') out.push(line);
    else {
      const text = place(line.include, file);
      if (text) out.push(text.replace(/\n$/, ''));
    }
  }
  return { lua: inlineConstants(out.join('\n'), constants), includes: placed };
}

/** Loads a script from src/lua and expands its includes (expandIncludes). */
export function loadScript(file: string): string {
  return expandIncludes(file, readFileSync(new URL(file, LUA_DIR), 'utf8')).lua;
}

/** An include with everything it needs, as a script declaring only it would hold them (tests). */
export const loadInclude = (name: string): string => expandIncludes(`includes/${name}.lua`, `--@include ${name}\n`).lua;

/** `history-2.lua` -> `history` with 2 keys; `enqueue.lua` -> variable keys (the caller passes numkeys). */
function parseName(file: string): { name: string; numberOfKeys?: number } {
  const m = /^([a-z-]+?)(?:-(\d+))?\.lua$/.exec(file);
  if (!m) throw new Error(`bad script file name ${file}`);
  const name = `tl_${m[1]!.replace(/-/g, '_')}`;
  return m[2] === undefined ? { name } : { name, numberOfKeys: Number(m[2]) };
}

export const SCRIPT_FILES: readonly string[] = readdirSync(LUA_DIR).filter((f) => f.endsWith('.lua'));

/** The includes in src/lua/includes, by name (`push-ready` for push-ready.lua). */
export const INCLUDE_NAMES: readonly string[] = readdirSync(new URL('includes/', LUA_DIR))
  .filter((f) => f.endsWith('.lua'))
  .map((f) => f.slice(0, -'.lua'.length));

type ScriptFn = (...args: (string | number)[]) => Promise<unknown>;

/** Each script's name in TypeScript, and its file's name (without the key count) in src/lua. */
const SCRIPT_FILE_NAMES = {
  enqueue: 'enqueue',
  dedupEnqueue: 'dedup-enqueue',
  claim: 'claim',
  start: 'start',
  heartbeat: 'heartbeat',
  finish: 'finish',
  fail: 'fail',
  cancel: 'cancel',
  release: 'release',
  recoverStalled: 'recover-stalled',
  redeliver: 'redeliver',
  promote: 'promote',
  retry: 'retry',
  retryLater: 'retry-later',
  delete: 'delete',
  history: 'history',
  restore: 'restore',
  repairTask: 'repair-task',
  repairCounts: 'repair-counts',
  repairControls: 'repair-controls',
  scheduleUpsert: 'schedule-upsert',
  scheduleRemove: 'schedule-remove',
  scheduleEmit: 'schedule-emit',
  scheduleTidy: 'schedule-tidy',
  leaseRenew: 'lease-renew',
  leaseRelease: 'lease-release',
  expire: 'expire',
  snapshot: 'snapshot',
  compacted: 'compacted',
  trim: 'trim',
  queueOptions: 'queue-options',
  reprioritize: 'reprioritize',
  partitions: 'partitions',
  logPage: 'log-page',
  workers: 'workers',
  migratePartitions: 'migrate-partitions',
} as const;

export type ScriptName = keyof typeof SCRIPT_FILE_NAMES;

/** The command name a script is defined under on a connection (ioredis defineCommand). */
export const commandName = (name: ScriptName): string => `tl_${SCRIPT_FILE_NAMES[name].replace(/-/g, '_')}`;

/** Scripts by name: each sends EVALSHA, and EVAL on NOSCRIPT (directScript, or ioredis' defineCommand function). */
export type Scripts = Record<ScriptName, ScriptFn>;

interface ScriptSource {
  lua: string;
  sha: string;
  numberOfKeys?: number;
}

const sources = new Map<string, ScriptSource>();
for (const file of SCRIPT_FILES) {
  const { name, numberOfKeys } = parseName(file);
  const lua = loadScript(file);
  const sha = createHash('sha1').update(lua).digest('hex');
  sources.set(name, numberOfKeys === undefined ? { lua, sha } : { lua, sha, numberOfKeys });
}

/** A Command that keeps `args` as given: its constructor would copy them with Array.prototype.flat(). */
function commandWith(name: string, args: (string | number)[]): Command {
  const command = new Command(name, [], { replyEncoding: 'utf8' }); // strings back, as ioredis' own command functions give
  command.args = args;
  command.stringifyArguments(); // numbers to strings, in place, as ioredis' own command functions do
  return command;
}

const rethrowMapped = (err: unknown): never => {
  throw fromRedisError(err);
};

const isNoScript = (err: unknown) => err instanceof Error && err.message.startsWith('NOSCRIPT');

/**
 * A script sent as EVALSHA directly, not through the function ioredis' defineCommand makes, which copies the
 * arguments twice more, once with Array.prototype.flat(), which V8 runs element by element, for every call
 * (docs/benchmark-history.md). On NOSCRIPT (Redis restarted, or its script cache was
 * flushed) the same arguments go again as EVAL, which also caches the script. Redis answers NOSCRIPT before
 * running anything, so a script never runs twice; the reply is matched at its start, as a script's own
 * error may quote a task id.
 *
 * Calls in flight together all meet NOSCRIPT together (a batch of enqueues at start-up, a worker's calls
 * when Redis restarts): one of them goes as EVAL and the others wait for it, then go as EVALSHA again,
 * instead of each making Redis hash the whole script text. One that still meets NOSCRIPT (a cluster node
 * the EVAL did not reach, or a flush in between) goes as EVAL itself.
 */
function directScript(redis: Redis | Cluster, { lua, sha, numberOfKeys }: ScriptSource): ScriptFn {
  let loading: Promise<void> | undefined; // the EVAL putting this script back into Redis' cache, while in flight
  const send = (name: 'evalsha' | 'eval', args: (string | number)[]) =>
    redis.sendCommand(commandWith(name, args)) as Promise<unknown>;
  const noop = () => undefined;
  const evalOnce = (args: (string | number)[]) => {
    const sent = send('eval', [lua, ...args.slice(1)]);
    // Done whatever its reply: a script's own error still loaded the script.
    loading ??= sent.then(noop, noop).finally(() => (loading = undefined));
    return sent;
  };
  return async (...args) => {
    if (numberOfKeys !== undefined) args.unshift(numberOfKeys);
    args.unshift(sha);
    try {
      return await send('evalsha', args);
    } catch (err) {
      if (!isNoScript(err)) throw fromRedisError(err);
    }
    if (!loading) return evalOnce(args).catch(rethrowMapped);
    await loading;
    try {
      return await send('evalsha', args);
    } catch (err) {
      if (!isNoScript(err)) throw fromRedisError(err);
      return evalOnce(args).catch(rethrowMapped);
    }
  };
}

/**
 * Defines every script on a connection (once per connection), for pipelines (scriptPipeline), and returns
 * them by short name, called directly (directScript). A caller's connection with a key prefix, automatic
 * pipelining or friendly error stacks keeps ioredis' own functions, which apply those options.
 */
export function defineScripts(redis: Redis | Cluster): Scripts {
  const target = redis as unknown as Record<string, ScriptFn>;
  for (const [name, def] of sources) {
    if (typeof target[name] !== 'function') redis.defineCommand(name, def);
  }
  const { keyPrefix, enableAutoPipelining, showFriendlyErrorStack } = redis.options;
  const direct = !keyPrefix && !enableAutoPipelining && !showFriendlyErrorStack;
  const scripts = {} as Scripts;
  for (const name of Object.keys(SCRIPT_FILE_NAMES) as ScriptName[]) {
    const command = commandName(name);
    const source = sources.get(command);
    if (!source) throw new Error(`script ${name} has no file in src/lua`);
    if (direct) scripts[name] = directScript(redis, source);
    else {
      const fn = target[command]!.bind(redis);
      scripts[name] = (...args) => fn(...args).catch(rethrowMapped);
    }
  }
  return scripts;
}
