// tsc does not copy non-TS files: the Lua scripts (loaded at run time from dist/lua) and the dashboard's
// page and styles (served from dist/dashboard/ui beside its compiled script).
import { cpSync, rmSync } from 'node:fs';
// A renamed script must not linger in dist/lua: every file there is registered.
rmSync(new URL('../dist/lua', import.meta.url), { recursive: true, force: true });
cpSync(new URL('../src/lua', import.meta.url), new URL('../dist/lua', import.meta.url), { recursive: true });
// The command line's entry point is run directly as a bin.
import { chmodSync, existsSync } from 'node:fs';
const bin = new URL('../dist/cli/main.js', import.meta.url);
if (existsSync(bin)) chmodSync(bin, 0o755);
for (const name of ['index.html', 'style.css'])
  cpSync(
    new URL(`../src/dashboard/ui/${name}`, import.meta.url),
    new URL(`../dist/dashboard/ui/${name}`, import.meta.url),
  );
