// The bundle budget: gzips every .js file in dist/assets (as a server would send it), sums the
// sizes, prints them, and fails above the budget (300 KB gzipped). Run after `npm run build`.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const BUDGET_KB = 300;
const dir = new URL('../dist/assets/', import.meta.url).pathname;

let files;
try {
  files = readdirSync(dir).filter((f) => f.endsWith('.js')).sort();
} catch {
  console.error(`size: ${dir} is missing: run \`npm run build\` first`);
  process.exit(1);
}
if (files.length === 0) {
  console.error(`size: no .js file in ${dir}: run \`npm run build\` first`);
  process.exit(1);
}

let raw = 0;
let gz = 0;
for (const f of files) {
  const bytes = readFileSync(join(dir, f));
  const z = gzipSync(bytes, { level: 9 }).length;
  raw += bytes.length;
  gz += z;
  console.log(`${(z / 1024).toFixed(1).padStart(8)} KB gz  ${(bytes.length / 1024).toFixed(1).padStart(8)} KB  ${f}`);
}
const kb = gz / 1024;
console.log(`dashboard JavaScript: ${kb.toFixed(1)} KB gzipped (${(raw / 1024).toFixed(1)} KB raw, ${files.length} files); budget ${BUDGET_KB} KB`);
if (kb > BUDGET_KB) {
  console.error(`size: over budget by ${(kb - BUDGET_KB).toFixed(1)} KB`);
  process.exit(1);
}
