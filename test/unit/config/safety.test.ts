// Configurations that ran less safely than their names said (hostile review of 2026-12-01): a client secret sent in
// clear, credentials in URLs, a Redis password echoed in errors, cluster credentials dropped, checks turned off or
// settings without effect in silence.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../../src/config/load.js';
import { safetyWarnings } from '../../../src/config/warnings.js';
import { clusterCredentials } from '../../../src/store/redis.js';
import { configProblems, PROD_ENV } from '../../helpers/config.js';

const prod = PROD_ENV;
const problems = (env: Record<string, string>) => configProblems({ ...prod, ...env });
const mcm = { MCM_URL: 'https://mcm.example/api', MCM_CLIENT_ID: 'gw', MCM_CLIENT_SECRET: 'TopSecretClientSecret' };

test('MCM_TOKEN_URL must be https outside the development profile: the client secret travels in it', () => {
  assert.deepEqual(problems({ ...mcm, MCM_TOKEN_URL: 'http://idp.example/token' }), [
    'MCM_TOKEN_URL: must be https outside the development profile (the client secret travels in it)',
  ]);
  assert.deepEqual(problems({ ...mcm, MCM_TOKEN_URL: 'https://idp.example/token' }), []);
});

test('credentials in a URL setting are refused, without echoing them', () => {
  for (const [name, value] of [
    ['INBOUND_UPSTREAM_URL', 'http://ops:UpstreamPassw0rd@127.0.0.1:3000'],
    ['MCM_URL', 'https://u:McmPassw0rd@mcm.example/api'],
    ['OCSP_RESPONDER_URL', 'http://u@ocsp.example/'],
    // The WHATWG URL parser skips slashes and backslashes after the scheme: these name user u at host h.
    ['INBOUND_UPSTREAM_URL', 'http://\\/u:p@h/'],
    ['PEER_ENDPOINT', 'https://\\/\\/peeruser:peerpw@peer:2/'],
    ['MCM_URL', 'https:///m:p@mcm/'],
  ]) {
    const p = problems({ [name!]: value! });
    assert.ok(
      p.some((l) => l.startsWith(`${name}:`) && l.includes('credentials')),
      `${name}: ${p.join(' / ')}`,
    );
  }
  assert.deepEqual(problems({ INBOUND_UPSTREAM_URL: 'http://127.0.0.1:3000/path@x' }), [], 'an @ in the path is no credential');
});

test('the credentials of a URL are never echoed in a configuration error (REDIS_URL carries the Redis password)', () => {
  const p = problems({ REDIS_URL: 'http://:supersecret@h:6379' });
  assert.ok(p.some((l) => l.startsWith('REDIS_URL:')));
  assert.ok(!p.join(' ').includes('supersecret'), p.join(' / '));
  // However the slashes after the scheme are spelt (hostile review of 2026-12-01).
  for (const [name, value] of [
    ['INBOUND_UPSTREAM_URL', 'http://\\/svcuser:supersecret@127.0.0.1:9/'],
    ['PEER_ENDPOINT', 'https:\\\\u:supersecret@peer/'],
    ['OCSP_RESPONDER_URL', 'http:/u:supersecret@ocsp/'],
  ]) {
    const q = problems({ [name!]: value! });
    assert.ok(
      q.some((l) => l.startsWith(`${name}:`)),
      `${name}: refused`,
    );
    assert.ok(!q.join(' ').includes('supersecret'), q.join(' / '));
  }
  assert.deepEqual(problems({ INBOUND_UPSTREAM_URL: 'http://h:1/a\\b' }), [
    "INBOUND_UPSTREAM_URL: a backslash is read as '/' in a URL; write '/' (got 'http://h:1/a\\b')",
  ]);
});

test('beside REDIS_CLUSTER_NODES, REDIS_URL gives every node its user, password and TLS', () => {
  assert.deepEqual(clusterCredentials('rediss://gw:S3cret%40pw@redis.internal:6380/0'), { username: 'gw', password: 'S3cret@pw', tls: {} });
  assert.deepEqual(clusterCredentials('redis://:pw@h:6379'), { password: 'pw' });
  assert.deepEqual(clusterCredentials('redis://h:6379'), {});
  assert.deepEqual(clusterCredentials(undefined), {});
});

test('start-up warns of checks turned off in production and of settings that have no effect', () => {
  assert.deepEqual(safetyWarnings(loadConfig(prod, { cwd: '/tmp' })), []);
  const off = safetyWarnings(loadConfig({ ...prod, INBOUND_MUTUAL_TLS_ENABLED: 'false', VALIDATE_INBOUND_JWS: 'false', IN_CA_CERT_PATH: '' }, { cwd: '/tmp' }));
  assert.ok(
    off.some((w) => w.startsWith('INBOUND_MUTUAL_TLS_ENABLED=false')),
    off.join(' / '),
  );
  assert.ok(
    off.some((w) => w.startsWith('VALIDATE_INBOUND_JWS=false')),
    off.join(' / '),
  );
  const idle = safetyWarnings(
    loadConfig({ ...prod, OCSP_RESPONDER_URL: 'http://ocsp.example/', STORE: 'memory', REDIS_URL: 'redis://h:6379' }, { cwd: '/tmp' }),
  );
  assert.ok(
    idle.some((w) => w.startsWith('OCSP_RESPONDER_URL')),
    idle.join(' / '),
  );
  assert.ok(
    idle.some((w) => w.startsWith('STORE=memory')),
    idle.join(' / '),
  );
  assert.deepEqual(safetyWarnings(loadConfig({}, { cwd: '/tmp' })), [], 'the development profile says so in its own banner');
  // The Redis store without STATE_HMAC_KEY: the shared security state is not sealed.
  const redis = { ...prod, STORE: 'redis', REDIS_URL: 'redis://h:6379' };
  assert.deepEqual(safetyWarnings(loadConfig(redis, { cwd: '/tmp' })), [
    'STATE_HMAC_KEY is unset with the Redis store: the shared quarantine list and limit overrides are not sealed, so any client of the store can change them',
  ]);
  assert.deepEqual(safetyWarnings(loadConfig({ ...redis, STATE_HMAC_KEY: 'h'.repeat(32) }, { cwd: '/tmp' })), []);
  // Traffic to peers in clear, or against the public CA store.
  assert.deepEqual(safetyWarnings(loadConfig({ ...prod, PEER_ENDPOINT: 'http://switch:4000' }, { cwd: '/tmp' })), [
    'PEER_ENDPOINT is http://: requests to peers go in clear, signed but readable and without the server proved',
  ]);
  assert.deepEqual(safetyWarnings(loadConfig({ ...prod, PEER_ENDPOINT: 'https://switch:4000' }, { cwd: '/tmp' })), [
    "OUT_CA_CERT_PATH is unset: peers' server certificates are checked against the public CA store, not the scheme's CA",
  ]);
  assert.deepEqual(safetyWarnings(loadConfig({ ...prod, PEER_ENDPOINT: 'https://switch:4000', OUT_CA_CERT_PATH: 'ca.pem' }, { cwd: '/tmp' })), []);
  assert.deepEqual(safetyWarnings(loadConfig({ ...prod, PEERS_PATH: 'peers.yaml' }, { cwd: '/tmp' })), [
    "OUT_CA_CERT_PATH is unset: peers' server certificates are checked against the public CA store, not the scheme's CA",
  ]);
});
