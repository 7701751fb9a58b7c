import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { Command, type Cluster, type Redis } from 'ioredis';
import { foldRulesAsLua, startFieldsAsLua } from '../events/fold-rules.js';

const LUA_DIR = new URL('../lua/', import.meta.url);

/** Includes preceded by Lua generated from fold-rules.ts, so that Lua and TypeScript share one definition. */
const GENERATED: Readonly<Record<string, () => string>> = { fold: foldRulesAsLua, 'start-fields': startFieldsAsLua };

/**
 * Loads a script and expands its `--@include name` lines with src/lua/includes/name.lua, preceded by the
 * generated part for the includes in GENERATED.
 */
export function loadScript(file: string): string {
  const source = readFileSync(new URL(file, LUA_DIR), 'utf8');
  return source.replace(/^--@include(.*)$/gm, (_, raw: string) => {
    const name = raw.trim();
    // A line the loader did not expand would stay a comment and the script would fail only when run.
    if (!/^[\w-]+$/.test(name)) throw new Error(`${file}: bad include line "--@include${raw}"`);
    const body = readFileSync(new URL(`includes/${name}.lua`, LUA_DIR), 'utf8');
    return (Object.hasOwn(GENERATED, name) ? GENERATED[name]!() : '') + body;
  });
}

/** `history-2.lua` -> `history` with 2 keys; `enqueue.lua` -> variable keys (the caller passes numkeys). */
function parseName(file: string): { name: string; numberOfKeys?: number } {
  const m = /^([a-z-]+?)(?:-(\d+))?\.lua$/.exec(file);
  if (!m) throw new Error(`bad script file name ${file}`);
  const name = `tl_${m[1]!.replace(/-/g, '_')}`;
  return m[2] === undefined ? { name } : { name, numberOfKeys: Number(m[2]) };
}

export const SCRIPT_FILES: readonly string[] = readdirSync(LUA_DIR).filter((f) => f.endsWith('.lua'));

type ScriptFn = (...args: (string | number)[]) => Promise<unknown>;

/** Each script's name in TypeScript, and its file's name (without the key count) in src/lua. */
const SCRIPT_FILE_NAMES = {
  enqueue: 'enqueue',
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
  scheduleUpsert: 'schedule-upsert',
  scheduleRemove: 'schedule-remove',
  scheduleEmit: 'schedule-emit',
  scheduleTidy: 'schedule-tidy',
  leaderRenew: 'leader-renew',
  leaderRelease: 'leader-release',
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

const isNoScript = (err: unknown) => err instanceof Error && err.message.startsWith('NOSCRIPT');

/**
 * A script sent as EVALSHA directly, not through the function ioredis' defineCommand makes, which copies the
 * arguments twice more, once with Array.prototype.flat(), which V8 runs element by element (without those
 * copies Node spends about 14 % less CPU per enqueue). On NOSCRIPT (Redis restarted, or its script cache was
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
  const send = (name: 'evalsha' | 'eval', args: (string | number)[]) => redis.sendCommand(commandWith(name, args)) as Promise<unknown>;
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
      if (!isNoScript(err)) throw err;
    }
    if (!loading) return evalOnce(args);
    await loading;
    try {
      return await send('evalsha', args);
    } catch (err) {
      if (!isNoScript(err)) throw err;
      return evalOnce(args);
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
    scripts[name] = direct ? directScript(redis, source) : target[command]!.bind(redis);
  }
  return scripts;
}
