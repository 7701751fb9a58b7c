// tsc does not copy non-TS files; the Lua scripts are loaded at run time from dist/lua.
import { cpSync } from 'node:fs';
cpSync(new URL('../src/lua', import.meta.url), new URL('../dist/lua', import.meta.url), { recursive: true });
