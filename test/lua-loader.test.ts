import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  expandIncludes,
  GENERATED,
  INCLUDE_NAMES,
  loadInclude,
  loadScript,
  readInclude,
  SCRIPT_FILES,
  type Include,
} from '../src/redis/scripts.js';
import { useRedis } from './helpers/fixture.js';

const r = useRedis();

/** Includes made up for the loader's rules: name -> its declared includes (its text is one line naming it). */
function fakeIncludes(needs: Record<string, string[]>) {
  return (name: string): Include | undefined => (needs[name] ? { needs: needs[name], lua: `-- ${name}\n` } : undefined);
}

describe('the Lua loader (expandIncludes)', () => {
  const script = '--[[\n  a script\n]]\n--@include a\n--@include d\n\nreturn 1\n';

  it('places each include once, what it needs first, before its first user', () => {
    const read = fakeIncludes({ a: ['b', 'c'], b: ['c'], c: [], d: ['c', 'b'] });
    const { lua, includes } = expandIncludes('x.lua', script, read);
    expect(includes).toEqual(['c', 'b', 'a', 'd']);
    expect(lua).toBe('--[[\n  a script\n]]\n-- c\n-- b\n-- a\n-- d\n\nreturn 1\n');
  });

  it('refuses a cycle, naming it', () => {
    const read = fakeIncludes({ a: ['b'], b: ['c'], c: ['b'], d: [] });
    expect(() => expandIncludes('x.lua', script, read)).toThrow('x.lua: include cycle b -> c -> b');
    expect(() => expandIncludes('x.lua', '--@include a\n', fakeIncludes({ a: ['a'] }))).toThrow('include cycle a -> a');
  });

  it('refuses an include that does not exist, naming the file that asks for it', () => {
    expect(() => expandIncludes('x.lua', script, fakeIncludes({ a: ['nope'], d: [] }))).toThrow(
      'includes/a.lua: unknown include "nope"',
    );
    expect(() => expandIncludes('x.lua', '--@include nope\n')).toThrow('x.lua: unknown include "nope"');
  });

  it('writes the value of an included constant in place of each use of its name, in code only', () => {
    const read = (name: string): Include | undefined =>
      name === 'c'
        ? {
            needs: [],
            lua: '-- C_ONE = 1\n',
            constants: new Map([
              ['C_ONE', '1'],
              ['C_NAME', '"x"'],
            ]),
          }
        : undefined;
    const { lua } = expandIncludes(
      'x.lua',
      "--@include c\nlocal t = { C_ONE = C_ONE, [C_NAME] = 'C_ONE' } -- C_ONE\nreturn t.C_ONE + C_ONE\n",
      read,
    );
    expect(lua).toBe('-- C_ONE = 1\nlocal t = { C_ONE = 1, ["x"] = \'C_ONE\' } -- C_ONE\nreturn t.C_ONE + 1\n');
  });

  it('refuses include lines after the code, and malformed ones', () => {
    const read = fakeIncludes({ a: [] });
    expect(() => expandIncludes('x.lua', 'local x = 1\n--@include a\n', read)).toThrow(/after the code/);
    expect(() => expandIncludes('x.lua', '--@include a b\n', read)).toThrow(/bad include line/);
    expect(() => expandIncludes('x.lua', '--@include\n', read)).toThrow(/bad include line/);
  });
});

/** Lua text without its comments and string literals, so that only code is searched for names. */
function codeOf(lua: string): string {
  let out = '';
  for (let i = 0; i < lua.length;) {
    if (lua.startsWith('--[[', i)) i = lua.indexOf(']]', i) + 2;
    else if (lua.startsWith('--', i)) i = lua.includes('\n', i) ? lua.indexOf('\n', i) : lua.length;
    else if (lua[i] === "'" || lua[i] === '"') {
      const quote = lua[i];
      for (i++; lua[i] !== quote; i++) if (lua[i] === '\\') i++;
      i++;
      out += '""';
    } else out += lua.charAt(i++);
  }
  return out;
}

/** The names an include defines for its users: its top-level locals (a line starting `local`), and its inlined constants. */
function exportsOf(name: string): string[] {
  const include = readInclude(name)!;
  const names = [...(include.constants?.keys() ?? [])];
  for (const m of include.lua.matchAll(/^local (?:function (\w+)|([\w, ]+?) ?=)/gm)) {
    names.push(...(m[1] ?? m[2]!).split(',').map((s) => s.trim()));
  }
  return names;
}

const scriptSource = (file: string) => readFileSync(new URL(`../src/lua/${file}`, import.meta.url), 'utf8');
/** Every file the loader reads: the scripts, and the includes (their generated part with them). */
const FILES = [
  ...SCRIPT_FILES.map((file) => ({
    file,
    needs: [...scriptSource(file).matchAll(/^--@include (\S+)$/gm)].map((m) => m[1]!),
    lua: scriptSource(file),
  })),
  ...INCLUDE_NAMES.map((name) => ({ file: `includes/${name}.lua`, ...readInclude(name)! })),
];
/** The includes of constants rather than a function: codes, and the generated protocol layouts. */
const CONSTANTS = new Set(['codes', ...Object.keys(GENERATED).filter((name) => name.endsWith('-protocol'))]);

describe('the includes in src/lua/includes', () => {
  it.each(INCLUDE_NAMES)('%s defines the one function named after it (or, for constants, none)', (name) => {
    const functions = [...readInclude(name)!.lua.matchAll(/\bfunction\s+([\w.:]+)\s*\(/g)].map((m) => m[1]);
    if (CONSTANTS.has(name)) expect(functions).toEqual([]);
    // fold_apply's generated part comes with the helper it calls (fold-rules.ts: foldRulesAsLua).
    else if (name === 'fold-apply') expect(functions).toEqual(['fold_field', 'fold_apply']);
    else expect(functions).toEqual([name.replace(/-/g, '_')]);
  });
});

describe('every script and include', () => {
  it.each(FILES.map((f) => [f.file, f] as const))('%s starts with its header comment', (file) => {
    const source = file.startsWith('includes/')
      ? readFileSync(new URL(`../src/lua/${file}`, import.meta.url), 'utf8')
      : scriptSource(file);
    expect(source).toMatch(file.startsWith('includes/') ? /^-- \S/ : /^--\[\[\n {2}\S[\s\S]*?\]\]\n/);
    // A script's header names its KEYS and what it returns.
    const header = source.slice(0, source.indexOf(']]'));
    if (!file.startsWith('includes/')) for (const word of ['KEYS', 'Returns']) expect(header).toContain(word);
  });

  it.each(FILES.map((f) => [f.file, f] as const))(
    '%s declares exactly the includes whose names it uses',
    (_, { file, needs, lua }) => {
      const own = file.startsWith('includes/') ? exportsOf(file.slice('includes/'.length, -'.lua'.length)) : [];
      const used = new Set(
        [...codeOf(lua).matchAll(/(?<![.:\w])[A-Za-z_]\w*/g)].map((m) => m[0]).filter((n) => !own.includes(n)),
      );
      const wanted = INCLUDE_NAMES.filter(
        (name) => `includes/${name}.lua` !== file && exportsOf(name).some((n) => used.has(n)),
      );
      expect([...needs].sort()).toEqual(wanted.sort());
    },
  );
});

describe('newest_id (includes/newest-id.lua), the one comparison of stream ids', () => {
  const newest = async (ids: string[], ms: number, seq: number) =>
    (await r
      .raw()
      .eval(
        `${loadInclude('newest-id')}\nlocal id, ms, seq = newest_id(ARGV, tonumber(KEYS[1]), tonumber(KEYS[2]))\nreturn { id or false, ms, seq }`,
        2,
        ms,
        seq,
        ...ids,
      )) as [string | null, number, number];

  it('compares ms, then seq, as numbers', async () => {
    expect(await newest(['9-5', '10-0', '10-1', '2-99'], -1, -1)).toEqual(['10-1', 10, 1]);
    expect(await newest(['5-10', '5-9'], -1, -1)).toEqual(['5-10', 5, 10]);
  });

  it('gives the first of equal ids, and none when no id is newer than the one given', async () => {
    expect(await newest(['5-01', '5-1'], -1, -1)).toEqual(['5-01', 5, 1]);
    expect(await newest(['5-1', '4-9'], 5, 1)).toEqual([null, 5, 1]);
    expect(await newest(['5-1'], 5, 0)).toEqual(['5-1', 5, 1]);
    expect(await newest([], -1, -1)).toEqual([null, -1, -1]);
  });

  it('fails on text that is not a stream id', async () => {
    await expect(newest(['5-1', 'x'], -1, -1)).rejects.toThrow();
  });
});

describe('the scripts as loaded', () => {
  it.each(SCRIPT_FILES)('%s holds each include once, after what it needs, and no include line', (file) => {
    const { lua, includes } = expandIncludes(file, scriptSource(file));
    expect(lua).toBe(loadScript(file));
    expect(new Set(includes).size).toBe(includes.length);
    for (const [i, name] of includes.entries()) {
      for (const need of readInclude(name)!.needs)
        expect(includes.indexOf(need), `${file}: ${need} before ${name}`).toBeLessThan(i);
    }
    expect(lua).not.toMatch(/^--@include/m);
    // No name defined twice at the top level (an include placed twice would define its function again).
    const defined = [...lua.matchAll(/^local function (\w+)/gm)].map((m) => m[1]);
    expect(new Set(defined).size).toBe(defined.length);
    // Every upper-case name in the code is a local the script defines, KEYS or ARGV: none is a constant
    // that no include declares (it would be a nil global when run).
    const locals = new Set(
      [...lua.matchAll(/\blocal ([\w, ]+)/g)].flatMap((m) => m[1]!.split(',').map((s) => s.trim())),
    );
    const names = [...codeOf(lua).matchAll(/(?<![.:\w])[A-Z][A-Z0-9_]+\b/g)].map((m) => m[0]);
    expect(names.filter((n) => n !== 'KEYS' && n !== 'ARGV' && !locals.has(n))).toEqual([]);
  });

  it('compiles every script in Redis (SCRIPT LOAD)', async () => {
    const raw = r.raw();
    for (const file of SCRIPT_FILES) {
      await expect(raw.script('LOAD', loadScript(file)), file).resolves.toMatch(/^[0-9a-f]{40}$/);
    }
  });
});
