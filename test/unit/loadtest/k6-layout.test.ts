// k6 cannot run here: these checks keep the scripts inside what k6 v0.48 offers and keep the profiles
// and the entry point consistent (the type-check is `npx tsc -p tsconfig.k6.json`), one DFSP identity per
// process, and the variables the runner (loadtest/k6-runner/) passes in step with what the scripts read
// and docs/performance/k6.md documents.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildSchedules, loadProfile, PROFILES_DIR } from '../../../loadtest/driver/profile.js';
import { buildPlan } from '../../../loadtest/k6-runner/plan.js';

const K6 = join(PROFILES_DIR, '..');
const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.js') ? [p] : [];
  });
const ALLOWED = /^(k6|k6\/http|k6\/crypto|k6\/encoding|k6\/metrics|k6\/data|k6\/execution|k6\/experimental\/[a-z-]+|\.{1,2}\/.+\.js)$/;

test('k6 scripts import only modules present in k6 v0.48', () => {
  const scripts = files(K6);
  assert.ok(scripts.length >= 10);
  for (const f of scripts) {
    const src = readFileSync(f, 'utf8');
    for (const m of src.matchAll(/^\s*(?:import|export)\s[^'"]*from\s+['"]([^'"]+)['"]/gm)) {
      assert.match(m[1] as string, ALLOWED, `${f} imports ${m[1]}`);
    }
    assert.doesNotMatch(src, /\bcrypto\.subtle|globalThis\.crypto|from ['"]k6\/timers['"]|\brequire\(/, f);
    if (/import exec\b|from 'k6\/execution'/.test(src)) assert.match(src, /import exec from 'k6\/execution'/, `${f}: default import of k6/execution`);
  }
});

test('every profile is an open-model profile whose exec is exported by index.js, with the required thresholds', () => {
  const index = readFileSync(join(K6, 'index.js'), 'utf8');
  const exported = new Set([...index.matchAll(/export \{ (\w+) \}/g)].map((m) => m[1]));
  const names = readdirSync(PROFILES_DIR).filter((f) => f.endsWith('.json'));
  assert.ok(names.length >= 5);
  for (const n of names) {
    const p = loadProfile(join(PROFILES_DIR, n));
    assert.ok(buildSchedules(p).length > 0, n);
    for (const s of Object.values(p.scenarios)) {
      assert.ok(exported.has(s.exec ?? 'default'), `${n}: exec ${s.exec} is exported`);
      assert.ok((s.maxVUs ?? 0) >= (s.preAllocatedVUs ?? 0), `${n}: maxVUs ≥ preAllocatedVUs`);
    }
    assert.ok(p.thresholds.http_req_failed, `${n}: http_req_failed threshold`);
    assert.ok(p.thresholds.http_req_duration, `${n}: http_req_duration threshold`);
  }
});

/** Members of k6/execution in k6 v0.48 (js/modules/k6/execution/execution.go at v0.48.0). */
const EXECUTION_V048: Readonly<Record<string, readonly string[]>> = {
  scenario: ['name', 'executor', 'startTime', 'progress', 'iterationInInstance', 'iterationInTest'],
  instance: ['currentTestRunDuration', 'iterationsCompleted', 'iterationsInterrupted', 'vusActive', 'vusInitialized'],
  test: ['abort', 'options'],
  vu: ['idInInstance', 'idInTest', 'iterationInInstance', 'iterationInScenario', 'tags', 'metadata', 'metrics'],
};

test('k6/execution members used exist in k6 v0.48', () => {
  for (const f of files(K6)) {
    for (const m of readFileSync(f, 'utf8').matchAll(/\bexec\.(\w+)\.(\w+)/g)) {
      assert.ok(EXECUTION_V048[m[1] as string]?.includes(m[2] as string), `${f}: exec.${m[1]}.${m[2]} is not in k6 v0.48`);
    }
  }
});

test('one process presents one client certificate: a single tlsAuth entry, and FSP_ID is required', () => {
  // Go's crypto/tls client presents the first acceptable certificate of tlsAuth; `domains` does not choose
  // between several (issue 14): a process must not be given more than one.
  const tls = readFileSync(join(K6, 'lib', 'tls.js'), 'utf8');
  assert.equal([...tls.matchAll(/tlsAuth\s*:/g)].length, 1);
  assert.match(tls, /tlsAuth: \[\{ cert: open\(ENV\.CERT_FILE\), key: open\(ENV\.KEY_FILE\) \}\]/);
  assert.doesNotMatch(tls, /\bfor\s*\(|\.push\(|domains/);
  assert.match(readFileSync(join(K6, 'lib', 'env.js'), 'utf8'), /if \(FSP_ID === ''\) \{\s*throw new Error/);
  assert.match(readFileSync(join(K6, 'lib', 'data.js'), 'utf8'), /if \(r\.fsp !== ENV\.FSP_ID\) continue;/);
});

test('the runner passes only variables the scripts read, and docs/performance/k6.md documents every one', () => {
  const read = new Set<string>();
  for (const f of files(K6)) for (const m of readFileSync(f, 'utf8').matchAll(/__ENV\.([A-Z0-9_]+)/g)) read.add(m[1] as string);
  const [plan] = buildPlan({
    profilePath: '/p.json',
    identities: [{ fspId: 'a', cert: '/a.pem', key: '/a.key', jwsKey: '/a.jws' }],
    manifest: { version: 1, createdAt: '', validUntil: '', reusable: false, total: 1, senders: { a: { file: '/a.json', requests: 1, peers: ['b'] } } },
    totalRate: 10,
    durationSeconds: 30,
    target: { host: 'h', port: 1 },
    serverName: 'gw.example',
    verifyServer: true,
    outDir: '/o',
    script: '/s.js',
    connectSeconds: 5,
    warmupSeconds: 15,
  });
  for (const name of Object.keys(plan?.env ?? {})) assert.ok(read.has(name), `the runner sets ${name}, which no script reads`);
  const doc = readFileSync(join(K6, '..', '..', 'docs', 'performance', 'k6.md'), 'utf8');
  for (const name of read) assert.match(doc, new RegExp(`\\| \`${name}\` \\|`), `docs/performance/k6.md: ${name} is not in the variables table`);
});
