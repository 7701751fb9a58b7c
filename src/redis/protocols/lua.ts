/**
 * What the script protocols (start.ts, enqueue.ts, task-writes.ts) share: their definitions rendered as Lua
 * constants for a generated include (scripts.ts), so that a script reads its arguments at the positions the
 * TypeScript encoder puts them, from one definition.
 */

/** A Lua constant of a generated include: a number, a string, or a list of strings (a Lua table). */
export type LuaConstant = number | string | readonly string[];

/** `ttlMs` -> `TTL_MS`: a definition's name as it appears in a Lua constant's name. */
export const upperSnake = (name: string): string => name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();

/** `{PREFIX_<NAME>: position}` for each name, counted from 1 (KEYS[base + position], ARGV[base + position]). */
export function positions(prefix: string, names: readonly string[]): Record<string, number> {
  return Object.fromEntries(names.map((name, i) => [`${prefix}_${upperSnake(name)}`, i + 1]));
}

/** A record's constants: `PREFIX_<count>` (the values per record) and the position of each field. */
export function record(prefix: string, count: string, fields: readonly string[]): Record<string, number> {
  return { [`${prefix}_${count}`]: fields.length, ...positions(prefix, fields) };
}

/**
 * The constants of a script's fixed arguments: `PREFIX_KEYS` and `PREFIX_HEADER` (how many fixed KEYS and
 * ARGV values come before the per-record ones), `PREFIX_KEY_<name>` and `PREFIX_ARG_<name>` (their positions).
 */
export function fixed(
  prefix: string,
  layout: { keys: readonly string[]; header: readonly string[] },
): Record<string, number> {
  return {
    [`${prefix}_KEYS`]: layout.keys.length,
    ...positions(`${prefix}_KEY`, layout.keys),
    [`${prefix}_HEADER`]: layout.header.length,
    ...positions(`${prefix}_ARG`, layout.header),
  };
}

/** A JSON string literal is a valid Lua string literal for these ASCII names. */
const luaValue = (v: LuaConstant): string =>
  typeof v === 'number'
    ? String(v)
    : typeof v === 'string'
      ? JSON.stringify(v)
      : `{${v.map((s) => JSON.stringify(s)).join(',')}}`;

/**
 * The constants as Lua for a generated include. A list is a local (a table, made once per call). A number
 * or a string is a comment line `-- NAME = value`: the loader writes the value in place of each use of the
 * name (inlineConstants, scripts.ts), so that it costs what a literal costs: a local would be loaded on
 * every call of the script.
 */
export function constantsAsLua(constants: Readonly<Record<string, LuaConstant>>): string {
  return Object.entries(constants)
    .map(([name, value]) =>
      typeof value === 'object' ? `local ${name} = ${luaValue(value)}\n` : `-- ${name} = ${luaValue(value)}\n`,
    )
    .join('');
}

/** The numbers and strings of `constants`, as Lua literals: those the loader writes in place of their names. */
export function inlinedConstants(constants: Readonly<Record<string, LuaConstant>>): Map<string, string> {
  return new Map(
    Object.entries(constants).flatMap(([name, value]) =>
      typeof value === 'object' ? [] : [[name, luaValue(value)] as const],
    ),
  );
}

// A comment, a string literal, or a name (with a `.` or `:` before it, or an `=` after it: a field, a key
// or an assignment, never a use of a constant).
const LUA_TOKENS =
  /--\[\[[\s\S]*?\]\]|--[^\n]*|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|([.:]\s*)?\b([A-Za-z_]\w*)\b(\s*=(?!=))?/g;

/** Lua text with each use of a constant's name (outside comments and strings) replaced by its value. */
export function inlineConstants(lua: string, values: ReadonlyMap<string, string>): string {
  if (values.size === 0) return lua;
  return lua.replace(
    LUA_TOKENS,
    (token: string, field: string | undefined, name: string | undefined, assigned: string | undefined) =>
      name !== undefined && field === undefined && assigned === undefined && values.has(name)
        ? values.get(name)!
        : token,
  );
}

/** The key names of a definition, in order, read from a key builder (once per call, not per task). */
export function fixedKeys<K extends string>(k: Readonly<Record<K, string>>, names: readonly K[]): string[] {
  const keys: string[] = [];
  for (const name of names) keys.push(k[name]);
  return keys;
}

/** Appends a definition's header values in its order. */
export function pushHeader<H extends string>(
  args: (string | number)[],
  names: readonly H[],
  values: Readonly<Record<H, string | number>>,
): void {
  for (const name of names) args.push(values[name]);
}

/** A definition's fixed KEYS or ARGV values by name, read back from the front of a list (round-trip tests). */
export function readNamed<N extends string>(
  list: readonly (string | number)[],
  names: readonly N[],
  from = 0,
): Record<N, string> {
  const out = {} as Record<N, string>;
  names.forEach((name, i) => (out[name] = String(list[from + i])));
  return out;
}
