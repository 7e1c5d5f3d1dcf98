// The docs, config/example.env and the code must agree: the configuration and error tables are generated (npm run docs).
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { GENERATED_DOCS, renderBlocks } from '../../../scripts/docs-tables.js';
import { FIELDS } from '../../../src/config/schema.js';
import { CATALOGUE } from '../../../src/errors.js';

const configPage = readFileSync('docs/configuration.md', 'utf8');
const errorPage = readFileSync('docs/errors.md', 'utf8');

test('docs/configuration.md and docs/errors.md tables are generated from the code (run `npm run docs`)', () => {
  assert.match(configPage, /<!-- config-table:start -->/);
  assert.match(errorPage, /<!-- error-table:start -->/);
  assert.equal(renderBlocks(configPage), configPage);
  assert.equal(renderBlocks(errorPage), errorPage);
});

test('docs/sdk-scheme-adapter.md: the SDK environment-name table is generated from src/config/sdk-names.ts (run `npm run docs`)', () => {
  assert.deepEqual(GENERATED_DOCS, ['docs/configuration.md', 'docs/errors.md', 'docs/sdk-scheme-adapter.md']);
  const page = readFileSync('docs/sdk-scheme-adapter.md', 'utf8');
  assert.match(page, /<!-- sdk-env-table:start -->\n\| sdk-scheme-adapter 18\.0\.2 \| gateway \| notes \|/);
  assert.equal(renderBlocks(page), page);
});

test('every error code is in the docs/errors.md table, and every code in the table exists', () => {
  const block = /<!-- error-table:start -->([\s\S]*?)<!-- error-table:end -->/.exec(errorPage)![1]!;
  const inTable = [...block.matchAll(/^\| `(GW_[A-Z_]+)` \|/gm)].map((m) => m[1]);
  assert.deepEqual([...inTable].sort(), Object.keys(CATALOGUE).sort());
});

test('config/example.env names exactly the variables of the schema', () => {
  const env = readFileSync('config/example.env', 'utf8');
  const names = [...env.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]!);
  assert.deepEqual(
    [...new Set(names)].sort(),
    Object.values(FIELDS)
      .map((f) => f.env)
      .sort(),
  );
});

test('relative links in the README and docs/ point at files that exist', () => {
  const pages = [
    'README.md',
    ...readdirSync('docs', { recursive: true, encoding: 'utf8' })
      .filter((p) => p.endsWith('.md'))
      .map((p) => join('docs', p)),
  ];
  const broken: string[] = [];
  for (const page of pages) {
    const text = readFileSync(page, 'utf8').replace(/```[\s\S]*?```/g, '');
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const path = target!.split('#')[0]!;
      if (/^[a-z]+:/.test(target!) || path === '') continue;
      if (!existsSync(join(dirname(page), path))) broken.push(`${page} → ${target}`);
    }
  }
  assert.deepEqual(broken, []);
});
