#!/usr/bin/env node
import { spawn } from 'node:child_process';
// Runs every *.test.ts under the given folders (default: test/) with node's test runner through tsx.
// Node 20's runner does not discover .ts files itself, hence this list.
//   node scripts/run-tests.mjs                          everything under test/
//   node scripts/run-tests.mjs test/unit                the fast in-process tests (no Redis, sockets, child processes)
//   node scripts/run-tests.mjs --exclude=test/unit      everything else (integration, security)
// Files that load the whole machine (several gateways, a Redis Cluster, SDK processes) or that judge the event
// loop's responsiveness run after the others, one at a time, so neither disturbs the other. The runner's own
// summary is printed for each batch, then once more for both together.
import { readdirSync, statSync } from 'node:fs';
import { join, normalize } from 'node:path';

const SOLO = [
  'test/integration/replicas/',
  'test/integration/interop/sdk-scheme-adapter.test.ts',
  'test/integration/jws/rotation-under-load.test.ts',
  'test/security/bounded-work.test.ts',
];

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
const isSolo = (f) => SOLO.some((s) => normalize(f).startsWith(normalize(s)));
const batches = [
  { files: files.filter((f) => !isSolo(f)), concurrency: process.env.TEST_CONCURRENCY ?? '2' },
  { files: files.filter(isSolo), concurrency: '1' },
].filter((b) => b.files.length > 0);

const KEYS = ['tests', 'suites', 'pass', 'fail', 'cancelled', 'skipped', 'todo', 'duration_ms'];
const totals = Object.fromEntries(KEYS.map((k) => [k, 0]));
let status = 0;
for (const b of batches) {
  const child = spawn(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${b.concurrency}`, '--test-reporter=spec', ...b.files], {
    stdio: ['inherit', 'pipe', 'inherit'],
  });
  let rest = '';
  const count = (line) => {
    const m = /^ℹ (\w+) ([\d.]+)$/.exec(line);
    if (m && m[1] in totals) totals[m[1]] += Number(m[2]);
  };
  child.stdout.on('data', (chunk) => {
    process.stdout.write(chunk);
    const lines = (rest + chunk.toString('utf8')).split('\n');
    rest = lines.pop() ?? '';
    for (const l of lines) count(l);
  });
  const code = await new Promise((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  count(rest);
  if (code !== 0) status = code;
}
if (batches.length > 1) {
  console.log('\nboth batches together:');
  for (const k of KEYS) console.log(`ℹ ${k} ${k === 'duration_ms' ? totals[k].toFixed(3) : totals[k]}`);
}
process.exit(status);
