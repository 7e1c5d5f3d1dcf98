// The sdk-scheme-adapter name table (src/config/sdk-names.ts) covers the real SDK's configuration, names only
// gateway variables, and drives one start-up warning per SDK-only name with an equivalent.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { assertFilesExist, type ConfigError, loadConfig } from '../../../src/config/load.js';
import { FIELDS } from '../../../src/config/schema.js';
import { gatewayReads, SDK_SETTINGS, sdkNameWarnings } from '../../../src/config/sdk-names.js';

const require = createRequire(import.meta.url);
const sdkDir = dirname(require.resolve('@mojaloop/sdk-scheme-adapter/package.json'));

test('the table lists exactly the environment names of sdk-scheme-adapter 18.0.2 src/config.js, each once', () => {
  assert.equal((require('@mojaloop/sdk-scheme-adapter/package.json') as { version: string }).version, '18.0.2');
  const source = readFileSync(join(sdkDir, 'src', 'config.js'), 'utf8').replace(/^\s*\/\/.*$/gm, ''); // commented-out settings are not read
  const names = [...source.matchAll(/env\.get\('([A-Z0-9_]+)'\)/g)].map((m) => m[1]!);
  assert.ok(names.length > 60, 'the SDK config was read');
  const listed = SDK_SETTINGS.map((s) => s.sdk);
  assert.equal(new Set(listed).size, listed.length, 'no SDK name twice');
  assert.deepEqual([...listed].sort(), [...new Set(names)].sort());
});

test('every gateway name in the table is a gateway variable; "same name" rows are exactly those the gateway reads', () => {
  const gateway = new Set(Object.values(FIELDS).map((f) => f.env));
  for (const s of SDK_SETTINGS) {
    for (const g of s.gateway) assert.ok(gateway.has(g), `${s.sdk} → ${g}`);
    assert.equal(gatewayReads(s), s.gateway.length === 1 && s.gateway[0] === s.sdk, s.sdk);
    assert.ok(s.note.length > 0, s.sdk);
  }
  // Names copied from an SDK deployment that the gateway reads under the same name.
  for (const n of ['PEER_ENDPOINT', 'DFSP_ID', 'ILP_SECRET', 'JWS_SIGN', 'JWS_SIGNING_KEY_PATH', 'JWS_VERIFICATION_KEYS_DIRECTORY', 'IN_SERVER_CERT_PATH'])
    assert.ok(gatewayReads(SDK_SETTINGS.find((s) => s.sdk === n)!), n);
});

test('one warning line per SDK-only name that is set, naming the gateway equivalent', () => {
  const w = sdkNameWarnings({
    CHECK_ILP: 'false',
    EXPIRY_SECONDS: '30',
    CACHE_URL: 'redis://redis:6379',
    ALS_ENDPOINT: 'als:4002',
    METRICS_SERVER_LISTEN_PORT: '4004',
  });
  assert.equal(w.length, 5);
  assert.match(
    w[0]!,
    /^ALS_ENDPOINT is a sdk-scheme-adapter setting; the gateway does not read it: set INBOUND_UPSTREAM_ROUTES instead \(Hub role: parties\|participants=URL/,
  );
  assert.ok(w.some((l) => l.startsWith('CHECK_ILP is a sdk-scheme-adapter setting; the gateway does not read it: set ILP_CHECK instead (')));
  assert.ok(w.some((l) => l.startsWith('EXPIRY_SECONDS is a sdk-scheme-adapter setting; the gateway does not read it: set QUOTE_EXPIRY_SECONDS instead')));
  assert.ok(
    w.some((l) => l.startsWith('CACHE_URL is a sdk-scheme-adapter setting; the gateway does not read it: set REDIS_URL or REDIS_CLUSTER_NODES instead')),
  );
  assert.ok(
    w.some((l) => l.startsWith('METRICS_SERVER_LISTEN_PORT is a sdk-scheme-adapter setting; the gateway does not read it: set ADMIN_LISTEN_PORT instead')),
  );
  for (const line of w) assert.doesNotMatch(line, /\n/);
});

test('no warning for names the gateway reads, SDK-only names without an equivalent, empty values, or when the equivalent is set', () => {
  assert.deepEqual(sdkNameWarnings({ PEER_ENDPOINT: 'https://hub:8443', DFSP_ID: 'payeefsp', JWS_SIGN: 'true', INBOUND_LISTEN_PORT: '4000' }), []);
  assert.deepEqual(sdkNameWarnings({ AUTO_ACCEPT_QUOTES: 'true', BACKEND_ENDPOINT: 'core:3000', RESOURCE_VERSIONS: 'parties=1.1' }), []);
  assert.deepEqual(sdkNameWarnings({ CHECK_ILP: '', CACHE_URL: '  ' }), []);
  assert.deepEqual(sdkNameWarnings({ CHECK_ILP: 'true', ILP_CHECK: 'false', CACHE_URL: 'redis://sdk-redis', REDIS_CLUSTER_NODES: 'r1:6379' }), []);
  assert.deepEqual(sdkNameWarnings({}), []);
});

test("an SDK-style comma-separated CA list gets a hint instead of a bare 'file not found'", () => {
  const c = loadConfig(
    { SWITCHGUARD_PROFILE: 'development', IN_CA_CERT_PATH: 'a.pem,b.pem', INBOUND_UPSTREAM_URL: 'http://127.0.0.1:1' },
    { cwd: '/nonexistent' },
  );
  try {
    assertFilesExist(c);
    assert.fail('expected a ConfigError');
  } catch (e) {
    const line = (e as ConfigError).problems.find((p) => p.startsWith('IN_CA_CERT_PATH:'));
    assert.match(
      line ?? '',
      /^IN_CA_CERT_PATH: file not found: \/nonexistent\/a\.pem,b\.pem \(one file is expected: the sdk-scheme-adapter takes a comma-separated list/,
    );
  }
});
