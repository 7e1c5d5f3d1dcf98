#!/usr/bin/env node
import { spawnSync } from 'node:child_process';
// Runs every *.test.ts under the given folders (default: test/) with node's test runner through tsx.
// Node 20's runner does not discover .ts files itself, hence this list.
//   node scripts/run-tests.mjs                          everything under test/
//   node scripts/run-tests.mjs test/unit                the fast in-process tests (no Redis, sockets, child processes)
//   node scripts/run-tests.mjs --exclude=test/unit      everything else (integration, security)
import { readdirSync, statSync } from 'node:fs';
import { join, normalize } from 'node:path';

const args = process.argv.slice(2);
const excluded = args.filter((a) => a.startsWith('--exclude=')).map((a) => normalize(a.slice('--exclude='.length)).replace(/\/$/, ''));
const roots = args.filter((a) => !a.startsWith('--'));
if (roots.length === 0) roots.push('test');
const files = [];
const walk = (p) => {
  if (excluded.includes(normalize(p))) return;
  if (statSync(p).isDirectory()) for (const e of readdirSync(p).sort()) walk(join(p, e));
  else if (p.endsWith('.test.ts')) files.push(p);
};
for (const r of roots) walk(r);
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files], {
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
