import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEV_ILP_SECRET, loadConfig } from '../../../src/config/load.js';
import { configProblems, PROD_ENV } from '../../helpers/config.js';

const prod = PROD_ENV;
const problems = (env: Record<string, string>) => configProblems(env);

test('defaults: development profile runs with no configuration', () => {
  const c = loadConfig({}, { cwd: '/srv' });
  assert.equal(c.inboundPort, 8443);
  assert.equal(c.outboundPort, 8444);
  assert.equal(c.adminPort, 9464);
  assert.equal(c.tlsMinVersion, 'TLSv1.3');
  assert.equal(c.devPki, true);
  assert.equal(c.useSimulator, true);
  assert.equal(c.serverCertPath, '/srv/keys/tls/server.pem');
  assert.deepEqual(c.ilpSecrets, [DEV_ILP_SECRET]);
  assert.equal(c.storeKind, 'memory');
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.jwsAlgorithms));
});

test('production needs every path and secret, and says which', () => {
  const p = problems({ SWITCHGUARD_PROFILE: 'production', GATEWAY_ROLE: 'dfsp', DFSP_ID: 'payeefsp' });
  for (const v of [
    'IN_SERVER_CERT_PATH',
    'IN_SERVER_KEY_PATH',
    'IN_CA_CERT_PATH',
    'INBOUND_UPSTREAM_URL',
    'ILP_SECRET',
    'JWS_VERIFICATION_KEYS_DIRECTORY',
    'JWS_SIGNING_KEY_PATH',
  ]) {
    assert.ok(
      p.some((l) => l.startsWith(`${v}:`)),
      `${v} missing from ${p.join(' / ')}`,
    );
  }
  assert.deepEqual(problems(prod), []);
  assert.deepEqual(problems({ ...prod, ILP_SECRET: undefined as unknown as string }), [], 'the hub role needs no ILP secret');
});

test('values are validated and the variable is named; secrets are not echoed', () => {
  assert.match(problems({ ...prod, INBOUND_LISTEN_PORT: '-1' })[0]!, /^INBOUND_LISTEN_PORT: expected an integer from 0 to 65535 \(got '-1'\)/);
  assert.match(problems({ ...prod, JWS_ALGORITHMS: 'RS256,HS256' })[0]!, /^JWS_ALGORITHMS: /);
  for (const name of ['JWS_ALGORITHMS', 'JWS_PAYLOAD_FORMS'])
    for (const empty of [',', ' , '])
      assert.match(
        problems({ ...prod, [name]: empty })[0] ?? 'accepted',
        new RegExp(`^${name}: expected at least one of `),
        `${name}=${JSON.stringify(empty)}`,
      );
  assert.match(problems({ ...prod, REDIS_URL: 'http://x' })[0]!, /^REDIS_URL: /);
  const short = problems({ ...prod, ADMIN_TOKEN: 'tooshort' });
  assert.match(short[0]!, /^ADMIN_TOKEN: .*\(got \(secret\)\)/);
  assert.doesNotMatch(short[0]!, /tooshort/);
});

test('ILP keyring: comma-separated, each at least 32 characters', () => {
  const c = loadConfig({ ...prod, ILP_SECRET: `${'a'.repeat(32)}, ${'b'.repeat(40)}` }, { cwd: '/tmp' });
  assert.deepEqual(c.ilpSecrets, ['a'.repeat(32), 'b'.repeat(40)]);
  assert.match(problems({ ...prod, ILP_SECRET: `${'a'.repeat(32)},short` })[0]!, /^ILP_SECRET: /);
  assert.deepEqual(loadConfig({ ...prod, ILP_VERSION_BY_PEER: 'fxp=4,d1=1' }, { cwd: '/tmp' }).ilpVersionByPeer, { fxp: '4', d1: '1' });
});

test('store selection and WORKERS', () => {
  assert.equal(loadConfig({ ...prod, REDIS_URL: 'redis://127.0.0.1:6379' }, { cwd: '/tmp' }).storeKind, 'redis');
  assert.match(problems({ ...prod, WORKERS: '2' })[0]!, /^WORKERS: /);
  assert.equal(loadConfig({ ...prod, WORKERS: '2', REDIS_URL: 'redis://127.0.0.1:6379' }, { cwd: '/tmp' }).workers, 2);
  assert.match(problems({ ...prod, DFSP_ID: undefined as unknown as string, GATEWAY_ROLE: 'dfsp' })[0]!, /^DFSP_ID: /);
});

test('OCSP: off by default (no group); soft/hard make the client check, stapling alone makes the group; policy needs mTLS', () => {
  assert.equal(loadConfig(prod, { cwd: '/tmp' }).ocsp, undefined);
  const soft = loadConfig({ ...prod, OCSP_POLICY: 'soft', OCSP_RESPONDER_URL: 'http://ocsp.example:8080', OCSP_TIMEOUT_MS: '500' }, { cwd: '/tmp' });
  assert.deepEqual(soft.ocsp, {
    client: { policy: 'soft', responderUrl: 'http://ocsp.example:8080' },
    stapling: false,
    timeoutMs: 500,
    cacheMaxSeconds: 3600,
    errorCacheSeconds: 30,
    nonce: true,
  });
  const staple = loadConfig({ ...prod, OCSP_STAPLING: 'true', OCSP_NONCE: 'false' }, { cwd: '/tmp' });
  assert.equal(staple.ocsp?.client, undefined);
  assert.equal(staple.ocsp?.stapling, true);
  assert.equal(staple.ocsp?.nonce, false);
  assert.deepEqual(problems({ ...prod, OCSP_POLICY: 'hard', INBOUND_MUTUAL_TLS_ENABLED: 'false' }), [
    'OCSP_POLICY: soft and hard check client certificates, so they need INBOUND_MUTUAL_TLS_ENABLED=true',
  ]);
  assert.match(problems({ ...prod, OCSP_POLICY: 'strict' })[0] ?? '', /^OCSP_POLICY: /);
  assert.match(problems({ ...prod, OCSP_RESPONDER_URL: 'ocsp.example:8080' })[0] ?? '', /^OCSP_RESPONDER_URL: /);
  assert.match(problems({ ...prod, OCSP_TIMEOUT_MS: '10' })[0] ?? '', /^OCSP_TIMEOUT_MS: expected an integer from 50/);
});

test('QUOTE_EXPIRY_SECONDS beyond ILP_QUOTE_MAX_TTL_SECONDS stops start-up: a default-dated quote would outlive its one-use mark', () => {
  const env = { ...PROD_ENV, GATEWAY_ROLE: 'dfsp', DFSP_ID: 'payeefsp' };
  assert.deepEqual(
    configProblems({ ...env, QUOTE_EXPIRY_SECONDS: '600', ILP_QUOTE_MAX_TTL_SECONDS: '300' }).filter((p) => p.startsWith('QUOTE_EXPIRY_SECONDS')),
    ['QUOTE_EXPIRY_SECONDS: 600 exceeds ILP_QUOTE_MAX_TTL_SECONDS (300); a quote is never valid longer than its record'],
  );
  assert.deepEqual(
    configProblems({ ...env, QUOTE_EXPIRY_SECONDS: '300', ILP_QUOTE_MAX_TTL_SECONDS: '300' }).filter((p) => p.startsWith('QUOTE_EXPIRY_SECONDS')),
    [],
  );
  // The hub role dates no quote: the setting is not its own.
  assert.deepEqual(
    configProblems({ ...PROD_ENV, QUOTE_EXPIRY_SECONDS: '600', ILP_QUOTE_MAX_TTL_SECONDS: '300' }).filter((p) => p.startsWith('QUOTE_EXPIRY_SECONDS')),
    [],
  );
});
