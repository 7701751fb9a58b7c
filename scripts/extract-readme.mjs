// Copies each of the README's TypeScript examples into .tmp/readme-example-N.ts so that
// `npm run typecheck` compiles them against the real API: an example that stops compiling fails CI.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) =>
  m[1]
    .replaceAll("from 'taskledger'", "from '../src/index.js'")
    .replaceAll("from 'taskledger/metrics'", "from '../src/metrics/index.js'"),
);
const dir = new URL('../.tmp/', import.meta.url);
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
blocks.forEach((block, i) => {
  // Import statements (one or several lines) stay at the top; the rest runs inside a function.
  const imports = [];
  const body = block.replace(/^import [\s\S]*?from '[^']+';\n/gm, (statement) => {
    imports.push(statement.trim());
    return '';
  });
  const file = `// Generated from README.md by scripts/extract-readme.mjs.\n${imports.join('\n')}\nexport async function example() {\n${body}\n}\n`;
  writeFileSync(new URL(`readme-example-${i}.ts`, dir), file);
});
console.log(`README: ${blocks.length} TypeScript examples extracted for the type-check`);
