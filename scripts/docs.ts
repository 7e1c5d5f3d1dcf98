// npm run docs: regenerates the README's configuration and error-code tables from the code.
import { readFileSync, writeFileSync } from 'node:fs';
import { renderBlocks } from './docs-tables.js';

const readme = readFileSync('README.md', 'utf8');
const next = renderBlocks(readme);
if (next !== readme) {
  writeFileSync('README.md', next);
  console.log('README.md tables updated');
} else console.log('README.md tables are up to date');
