import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The front end's files, built into dist/dashboard/ui (npm run build): the page, its script and styles. */
const ASSETS = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
} as const;

export type AssetName = keyof typeof ASSETS;

export const isAsset = (name: string): name is AssetName => Object.hasOwn(ASSETS, name);

/** Where the built front end is: beside this module in dist, or dist/ seen from the sources (tests). */
function uiDir(): string {
  const beside = fileURLToPath(new URL('./ui/', import.meta.url));
  if (existsSync(`${beside}app.js`)) return beside;
  return fileURLToPath(new URL('../../dist/dashboard/ui/', import.meta.url));
}

const cache = new Map<AssetName, Buffer>();

/** An asset's bytes and type (read once); null when the front end was not built. */
export async function asset(name: AssetName): Promise<{ bytes: Buffer; type: string } | null> {
  let bytes = cache.get(name);
  if (!bytes) {
    try {
      bytes = await readFile(`${uiDir()}${name}`);
    } catch {
      return null;
    }
    cache.set(name, bytes);
  }
  return { bytes, type: ASSETS[name] };
}
