// Copies the README's TypeScript examples into .tmp/readme-examples.ts so that `npm run typecheck`
// compiles them against the real API: an example that stops compiling fails CI.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1].replaceAll("from 'taskledger'", "from '../src/index.js'"));
const imports = new Set();
const bodies = blocks.map((block, i) => {
  const lines = block.split('\n');
  for (const line of lines) if (line.startsWith('import ')) imports.add(line);
  return `export async function example${i}() {\n${lines.filter((l) => !l.startsWith('import ')).join('\n')}\n}`;
});
mkdirSync(new URL('../.tmp/', import.meta.url), { recursive: true });
writeFileSync(new URL('../.tmp/readme-examples.ts', import.meta.url), `// Generated from README.md by scripts/extract-readme.mjs.\n${[...imports].join('\n')}\n${bodies.join('\n')}\n`);
console.log(`README: ${blocks.length} TypeScript examples extracted for the type-check`);
