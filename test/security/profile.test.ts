// Class 7: no insecure default in production. The development profile applies only when it was asked
// for, or when nothing of production is configured; the public development ILP secret never reaches a
// keyring outside it. Config decisions here; the process-level failure and banner in profile-process.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEV_ILP_SECRET, loadConfig } from '../../src/config/load.js';
import { FIELDS, isProductionField } from '../../src/config/schema.js';
import { createKeyring } from '../../src/ilp/keyring.js';
import { ilpStagesOf } from '../../src/stages.js';
import { createMemoryStore } from '../../src/store/memory.js';
import { NOOP_TELEMETRY } from '../../src/telemetry/types.js';
import { PROD_ENV, configProblems as problems } from '../helpers/config.js';

const SECRET = 'p'.repeat(40);
const prod: Record<string, string> = { ...PROD_ENV, GATEWAY_ROLE: 'dfsp', DFSP_ID: 'payeefsp', ILP_SECRET: SECRET };

// Values that pass each field's own validation, so only the profile rule can refuse them.
const SAMPLE: Record<string, string> = {
  INBOUND_UPSTREAM_URL: 'https://switch.example:443',
  PEER_ENDPOINT: 'https://peer.example',
  REDIS_URL: 'redis://10.0.0.1:6379',
  REDIS_CLUSTER_NODES: 'r1:6379',
  ILP_SECRET: SECRET,
  ADMIN_TOKEN: 'a'.repeat(32),
  STATE_HMAC_KEY: 's'.repeat(32),
  OCSP_RESPONDER_URL: 'http://ocsp.example',
  MCM_URL: 'https://mcm.example',
};
const productionVars = Object.values(FIELDS)
  .filter((f) => isProductionField(f))
  .map((f) => f.env);

test('the production indicators come from the schema: every file, every secret, upstream, peers, keys, Redis', () => {
  for (const v of [
    'IN_SERVER_CERT_PATH',
    'IN_SERVER_KEY_PATH',
    'IN_CA_CERT_PATH',
    'IN_CRL_PATH',
    'PEER_IDENTITY_MAP',
    'INBOUND_UPSTREAM_URL',
    'INBOUND_UPSTREAM_CA_CERT_PATH',
    'PEERS_PATH',
    'PEER_ENDPOINT',
    'OUT_CLIENT_CERT_PATH',
    'OUT_CLIENT_KEY_PATH',
    'OUT_CA_CERT_PATH',
    'ADMIN_TOKEN',
    'JWS_SIGNING_KEY_PATH',
    'JWS_VERIFICATION_KEYS_DIRECTORY',
    'ILP_SECRET',
    'REDIS_URL',
    'REDIS_CLUSTER_NODES',
  ]) {
    assert.ok(productionVars.includes(v), `${v} should rule out the implicit development profile`);
  }
  for (const v of ['SWITCHGUARD_PROFILE', 'KEYS_DIR', 'LOG_LEVEL', 'INBOUND_LISTEN_PORT', 'GATEWAY_ROLE', 'STORE']) assert.ok(!productionVars.includes(v), v);
});

test('nothing of production configured: the implicit development profile with its defaults', () => {
  const c = loadConfig({ INBOUND_LISTEN_PORT: '0', GATEWAY_ROLE: 'dfsp', DFSP_ID: 'payeefsp', KEYS_DIR: 'dev-keys', LOG_LEVEL: 'debug' }, { cwd: '/tmp' });
  assert.equal(c.profile, 'development');
  assert.equal(c.implicitProfile, true);
  assert.deepEqual(c.ilpSecrets, [DEV_ILP_SECRET]);
  assert.equal(c.devPki, true);
  assert.equal(loadConfig({ SWITCHGUARD_PROFILE: '  ' }, { cwd: '/tmp' }).implicitProfile, true, 'blank counts as unset');
});

for (const v of productionVars) {
  test(`SWITCHGUARD_PROFILE unset with ${v} set: start-up stops with one line naming it`, () => {
    const p = problems({ [v]: SAMPLE[v] ?? '/etc/switchguard/x.pem' });
    assert.equal(p.length, 1, p.join('\n'));
    assert.match(
      p[0]!,
      new RegExp(
        `^SWITCHGUARD_PROFILE: unset, but production settings are given \\(${v}\\); set SWITCHGUARD_PROFILE=production, or SWITCHGUARD_PROFILE=development`,
      ),
    );
  });
}

test('the real-deployment case of the issue: certificates, upstream and keys without a profile', () => {
  const { SWITCHGUARD_PROFILE: _p, ILP_SECRET: _s, ...env } = prod;
  const p = problems(env);
  assert.equal(p.length, 1, p.join('\n'));
  assert.match(
    p[0]!,
    /^SWITCHGUARD_PROFILE: unset, but production settings are given \(IN_SERVER_CERT_PATH, IN_SERVER_KEY_PATH, IN_CA_CERT_PATH, INBOUND_UPSTREAM_URL, JWS_SIGNING_KEY_PATH, JWS_VERIFICATION_KEYS_DIRECTORY\)/,
  );
  assert.doesNotMatch(p[0]!, /s\.pem|sign\.key/, 'names the variables, not their values');
});

test('an explicit profile is honoured: development with real settings, production with all of them', () => {
  const d = loadConfig(
    { SWITCHGUARD_PROFILE: 'development', INBOUND_UPSTREAM_URL: 'http://127.0.0.1:3000', ILP_SECRET: SECRET, GATEWAY_ROLE: 'dfsp', DFSP_ID: 'payeefsp' },
    { cwd: '/tmp' },
  );
  assert.equal(d.profile, 'development');
  assert.equal(d.implicitProfile, false);
  assert.deepEqual(d.ilpSecrets, [SECRET], 'a given secret wins over the development one');
  const p = loadConfig(prod, { cwd: '/tmp' });
  assert.equal(p.profile, 'production');
  assert.equal(p.implicitProfile, false);
  assert.deepEqual(p.ilpSecrets, [SECRET]);
});

test('production never gets the development secret: not as a default, not when given', () => {
  const { ILP_SECRET: _s, ...noSecret } = prod;
  assert.match(problems(noSecret).join('\n'), /^ILP_SECRET: required in the dfsp role/m);
  assert.deepEqual(loadConfig({ ...noSecret, GATEWAY_ROLE: 'hub', DFSP_ID: '' }, { cwd: '/tmp' }).ilpSecrets, [], 'hub role: no secret, no default');
  for (const given of [DEV_ILP_SECRET, `${SECRET},${DEV_ILP_SECRET}`, ` ${DEV_ILP_SECRET} `]) {
    assert.deepEqual(problems({ ...prod, ILP_SECRET: given }), ['ILP_SECRET: the public development secret is refused outside the development profile']);
  }
});

test('the keyring refuses the development secret unless built for the development profile', () => {
  assert.throws(() => createKeyring([DEV_ILP_SECRET]), /development ILP secret is refused/);
  assert.throws(() => createKeyring([SECRET, DEV_ILP_SECRET], { development: false }), /development ILP secret is refused/);
  assert.equal(createKeyring([DEV_ILP_SECRET], { development: true }).size, 1);
  assert.equal(createKeyring([SECRET]).size, 1);
});

test('a production config carrying the development secret cannot build the ILP stages', () => {
  // The config loader refuses this; a config assembled by other means must still not get a keyring.
  const good = loadConfig(prod, { cwd: '/tmp' });
  const forged = { ...good, ilpSecrets: [DEV_ILP_SECRET], ilp: { role: 'dfsp' as const, secrets: [DEV_ILP_SECRET] as [string], development: false } };
  const deps = { store: createMemoryStore({ maxEntries: 100 }), telemetry: NOOP_TELEMETRY };
  // The keyring of both DFSP stages is built in one place (src/stages.ts), from the validated group.
  assert.throws(() => ilpStagesOf(forged, deps), /development ILP secret is refused/);
  assert.throws(() => ilpStagesOf({ ...forged, ilp: { ...forged.ilp, secrets: [SECRET, DEV_ILP_SECRET] } }, deps), /development ILP secret is refused/);
  const dev = loadConfig({ SWITCHGUARD_PROFILE: 'development', GATEWAY_ROLE: 'dfsp', DFSP_ID: 'payeefsp' }, { cwd: '/tmp' });
  assert.doesNotThrow(() => ilpStagesOf(dev, deps));
});
