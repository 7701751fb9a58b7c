// tsc does not copy non-TS files; the Lua scripts are loaded at run time from dist/lua.
import { cpSync, rmSync } from 'node:fs';
// A renamed script must not linger in dist/lua: every file there is registered.
rmSync(new URL('../dist/lua', import.meta.url), { recursive: true, force: true });
cpSync(new URL('../src/lua', import.meta.url), new URL('../dist/lua', import.meta.url), { recursive: true });
// The command line's entry point is run directly as a bin.
import { chmodSync, existsSync } from 'node:fs';
const bin = new URL('../dist/cli/main.js', import.meta.url);
if (existsSync(bin)) chmodSync(bin, 0o755);
