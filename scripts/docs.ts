// npm run docs: regenerates the generated tables of docs/configuration.md, docs/errors.md and
// docs/sdk-scheme-adapter.md (SDK environment names) from the code.
import { readFileSync, writeFileSync } from 'node:fs';
import { GENERATED_DOCS, renderBlocks } from './docs-tables.js';

for (const file of GENERATED_DOCS) {
  const text = readFileSync(file, 'utf8');
  const next = renderBlocks(text);
  if (next !== text) {
    writeFileSync(file, next);
    console.log(`${file} tables updated`);
  } else console.log(`${file} tables are up to date`);
}
