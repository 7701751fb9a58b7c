import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as api from '../src/index.js';
import { LuaCode, errorFromCode } from '../src/errors.js';

const docs = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
/** Rows of the docs table: class -> code. */
const documented = new Map([...docs.matchAll(/^\| `(\w+)` \| `(ERR_\w+)` \|/gm)].map((m) => [m[1]!, m[2]!]));

/** Every error class the package exports, instantiated to read its code. */
const exported = Object.entries(api)
  .filter(([, v]) => typeof v === 'function' && (v as { prototype?: unknown }).prototype instanceof api.TaskLedgerError)
  .map(([name, cls]) => {
    // RateLimitedError takes its delay first; every other class takes text.
    const args = name === 'RateLimitedError' ? [1000] : ['x', 'y', 'z'];
    return [name, new (cls as new (...a: unknown[]) => api.TaskLedgerError)(...args)] as const;
  });

describe('error codes', () => {
  it('every exported error class has a stable, unique code, and docs/errors.md lists each one', () => {
    expect(exported.length).toBeGreaterThanOrEqual(15);
    const codes = exported.map(([, e]) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const [name, err] of exported) {
      expect(err).toBeInstanceOf(api.TaskLedgerError);
      expect(err.name).toBe(name);
      expect(documented.get(name), `${name} in docs/errors.md`).toBe(err.code);
    }
    // ...and the docs list nothing that does not exist.
    expect([...documented.keys()].sort()).toEqual(exported.map(([n]) => n).sort());
  });

  it('maps every Lua status code to its class in one place', () => {
    expect(errorFromCode(LuaCode.OK, 't')).toBeNull();
    const expected: [number, string][] = [
      [LuaCode.NOT_FOUND, 'ERR_TASK_NOT_FOUND'],
      [LuaCode.NOT_RUNNING, 'ERR_TASK_NOT_RUNNING'],
      [LuaCode.CANCELLED, 'ERR_TASK_CANCELLED'],
      [LuaCode.FINISHED, 'ERR_TASK_FINISHED'],
      [LuaCode.FAILED, 'ERR_TASK_FAILED'],
      [LuaCode.LEASE_LOST, 'ERR_TASK_LEASE_LOST'],
      [42, 'ERR_INTERNAL'],
    ];
    for (const [code, name] of expected) expect(errorFromCode(code, 't')?.code).toBe(name);
    // The Lua side defines the same numbers.
    const lua = readFileSync(new URL('../src/lua/includes/codes.lua', import.meta.url), 'utf8');
    for (const [name, value] of Object.entries(LuaCode))
      expect(lua).toMatch(new RegExp(`^local ${name} = ${value}$`, 'm'));
  });
});
