// Peer keys end to end through a running gateway: a peer's keys from a key file and from its jwksUrl (an
// HTTPS JWKS that requires the gateway's outbound client certificate) both verify; an operator revokes a key
// by fingerprint through the admin API and its signatures are refused at once (3105 GW_JWS_KEY_REVOKED) while
// the file is still present, also after it is re-added under another name, after a restart of the gateway
// with an empty store, until an operator lifts the revocation. Every step is audited and counted.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, type KeyObject, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { ALGORITHMS } from '../../../src/jws/algorithms.js';
import { signRequest } from '../../../src/jws/sign.js';
import type { AuditEvent } from '../../../src/logging/audit.js';
import { fspiopHeaders, send, startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { TRANSFER } from '../../helpers/jws.js';
import { startJwksServer } from '../../helpers/key-servers.js';
import { makeTestPki } from '../../helpers/pki.js';

const OPERATOR = 'operator-token-0123456789abcdef';
const VIEWER = 'viewer-token-0123456789abcdefgh';
const rsa = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
const spki = (k: KeyObject) =>
  createHash('sha256')
    .update(k.export({ type: 'spki', format: 'der' }))
    .digest('hex');

test('keys from a file and a JWKS verify; a revoked key is refused whatever its source, across a re-added file and a restart, until lifted', {
  timeout: 60_000,
}, async (t) => {
  const pki = makeTestPki();
  t.after(() => pki.cleanup());
  const jwksServer = await startJwksServer(pki);
  t.after(() => jwksServer.close());
  const F = rsa(); // dfsp1's key file
  const J = rsa(); // dfsp1's key in its JWKS
  jwksServer.answer({
    body: JSON.stringify({ keys: [{ ...(J.publicKey.export({ format: 'jwk' }) as object), kid: 'j-2026', use: 'sig' }] }),
    headers: { 'cache-control': 'max-age=600' },
  });
  const keysDir = join(pki.dir, 'jws');
  mkdirSync(keysDir);
  writeFileSync(join(keysDir, 'dfsp1.pem'), F.publicKey.export({ type: 'spki', format: 'pem' }));
  const out = pki.client('gateway-out');
  const env = {
    VALIDATE_INBOUND_JWS: 'true',
    JWS_VERIFICATION_KEYS_DIRECTORY: keysDir,
    PEERS_PATH: pki.write('peers.json', JSON.stringify({ dfsp1: { endpoint: 'http://127.0.0.1:9/', jwksUrl: jwksServer.jwksUrl } })),
    OUT_CA_CERT_PATH: pki.caPath,
    OUT_CLIENT_CERT_PATH: pki.write('out.pem', out.certPem),
    OUT_CLIENT_KEY_PATH: pki.write('out.key', out.keyPem),
    ADMIN_TOKENS: `operator:${OPERATOR},viewer:${VIEWER}`,
    KEY_REVOCATIONS_PATH: join(pki.dir, 'state', 'key-revocations.json'),
    REPLAY_PROTECTION: 'false',
  };
  const audit: AuditEvent[] = [];
  const start = () => startTestGateway({ pki, env, overrides: { audit: { record: (e) => audit.push(e), flush: async () => {}, close: async () => {} } } });
  let tg: TestGateway = await start();
  t.after(() => tg.close());

  const post = async (key: KeyObject) => {
    const headers = fspiopHeaders('transfers', 'dfsp1', { 'fspiop-destination': 'dfsp2' });
    const signed = signRequest({ method: 'POST', url: '/transfers', headers, json: { ...TRANSFER, transferId: randomUUID() } }, { key, alg: ALGORITHMS.RS256 });
    const r = await send(tg.gw.inbound.port, {
      method: 'POST',
      path: '/transfers',
      headers: { ...headers, ...signed.headers },
      body: signed.body,
      cert: tg.cert('dfsp1'),
      ca: pki.ca.certPem,
    });
    return r.status === 202 ? 'accepted' : `${r.status} ${r.json().errorInformation.errorCode}`;
  };
  const admin = (method: string, path: string, body?: unknown, token = OPERATOR) =>
    fetch(`http://127.0.0.1:${tg.gw.admin.port}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  const metric = async (pattern: RegExp) => (await (await fetch(`http://127.0.0.1:${tg.gw.admin.port}/metrics`)).text()).match(pattern)?.[1];

  // Both sources verify; the listing shows both fingerprints of every key, and the source's state.
  assert.equal(await post(F.privateKey), 'accepted');
  assert.equal(await post(J.privateKey), 'accepted');
  assert.ok(jwksServer.clients.includes('gateway-out'), 'the JWKS was fetched with the outbound client certificate');
  const listing = (await (await admin('GET', '/admin/keys', undefined, VIEWER)).json()) as {
    keys: { fspId: string; source: string; fingerprint: string; thumbprint: string; kid?: string; revoked?: unknown }[];
    sources: { kind: string; source: string; keys: number; stale: boolean }[];
  };
  const fThumb = await calculateJwkThumbprint(F.publicKey.export({ format: 'jwk' }) as JWK);
  assert.deepEqual(
    listing.keys.map((k) => [k.fspId, k.source, k.fingerprint, k.thumbprint]).sort(),
    [
      ['dfsp1', 'file', spki(F.publicKey), fThumb],
      ['dfsp1', 'jwks', spki(J.publicKey), await calculateJwkThumbprint(J.publicKey.export({ format: 'jwk' }) as JWK)],
    ].sort(),
  );
  assert.deepEqual(
    listing.sources.map((s) => [s.kind, s.source, s.keys, s.stale]),
    [['jwks', 'dfsp1', 1, false]],
  );

  // Refusals: a viewer, an unknown key, a malformed fingerprint, no reason.
  assert.equal((await admin('POST', '/admin/keys/revocations', { fingerprint: spki(F.publicKey), reason: 'x' }, VIEWER)).status, 403);
  const unknown = await admin('POST', '/admin/keys/revocations', { fingerprint: '0'.repeat(64), reason: 'compromised' });
  assert.equal(unknown.status, 404);
  assert.match(((await unknown.json()) as { errorInformation: { errorDescription: string } }).errorInformation.errorDescription, /no key of any source/);
  assert.equal((await admin('POST', '/admin/keys/revocations', { fingerprint: 'abc', reason: 'compromised' })).status, 400);
  assert.equal((await admin('POST', '/admin/keys/revocations', { fingerprint: spki(F.publicKey) })).status, 400);
  assert.equal((await admin('POST', '/admin/keys/revocations', 'not an object')).status, 400);

  // Revoke the file key by its RFC 7638 thumbprint: refused at once, the file still there; the JWKS key still works.
  const on = await admin('POST', '/admin/keys/revocations', { fingerprint: fThumb, reason: 'private key leaked' });
  assert.equal(on.status, 201);
  assert.equal(((await on.json()) as { revocation: { fingerprint: string } }).revocation.fingerprint, spki(F.publicKey));
  assert.equal((await admin('POST', '/admin/keys/revocations', { fingerprint: spki(F.publicKey), reason: 'again' })).status, 200, 'already revoked');
  assert.equal(await post(F.privateKey), '400 3105');
  assert.equal(await post(J.privateKey), 'accepted');
  assert.equal(await metric(/^mojaloop_jws_verification_failed_total\{dfsp="dfsp1",reason="GW_JWS_KEY_REVOKED"\} (\d+)$/m), '1');
  assert.equal(await metric(/^switchguard_jws_key_revocations (\d+)$/m), '1');

  // The revoked key re-added as a file under another name: still refused.
  writeFileSync(join(keysDir, 'dfsp1.readded.pem'), F.publicKey.export({ type: 'spki', format: 'pem' }));
  assert.equal((await admin('POST', '/admin/reload')).status, 200);
  assert.equal(await post(F.privateKey), '400 3105');

  // A JWKS key revoked by its SPKI fingerprint: refused although the JWKS still publishes it.
  assert.equal(
    (await admin('POST', '/admin/keys/revocations', { fingerprint: spki(J.publicKey).toUpperCase(), reason: 'peer reported a compromise' })).status,
    201,
  );
  assert.equal(await post(J.privateKey), '400 3105');
  assert.equal((await admin('POST', '/admin/reload')).status, 200);
  assert.equal(await post(J.privateKey), '400 3105');
  const revoked = (
    (await (await admin('GET', '/admin/keys/revocations', undefined, VIEWER)).json()) as {
      revocations: { fingerprint: string; fspIds: string[]; by: string }[];
    }
  ).revocations;
  assert.deepEqual(revoked.map((r) => r.fingerprint).sort(), [spki(F.publicKey), spki(J.publicKey)].sort());
  assert.ok(revoked.every((r) => r.fspIds.join() === 'dfsp1' && /^[0-9a-f]{12}$/.test(r.by)));

  // A restart with an empty store (the memory store is new): KEY_REVOCATIONS_PATH brings the revocations back.
  await tg.close();
  tg = await start();
  assert.equal(await post(F.privateKey), '400 3105');
  assert.equal(await post(J.privateKey), '400 3105');

  // Only an explicit lift, with a reason, ends a revocation.
  assert.equal((await admin('DELETE', `/admin/keys/revocations/${spki(F.publicKey)}`, {})).status, 400, 'a lift needs a reason');
  assert.equal((await admin('DELETE', `/admin/keys/revocations/${'1'.repeat(64)}`, { reason: 'test' })).status, 404);
  assert.equal((await admin('DELETE', `/admin/keys/revocations/${fThumb}`, { reason: 'false alarm: the leaked key was a test key' })).status, 200);
  assert.equal(await post(F.privateKey), 'accepted');
  assert.equal(await post(J.privateKey), '400 3105');

  const records = audit.filter((e) => e.event === 'key_revocation_on' || e.event === 'key_revocation_off');
  assert.deepEqual(
    records.map((e) => [e.event, e.reason, 'fingerprint' in e ? e.fingerprint : '']),
    [
      ['key_revocation_on', 'private key leaked', spki(F.publicKey)],
      ['key_revocation_on', 'again', spki(F.publicKey)],
      ['key_revocation_on', 'peer reported a compromise', spki(J.publicKey)],
      ['key_revocation_off', 'false alarm: the leaked key was a test key', spki(F.publicKey)],
    ],
  );
  assert.ok(records.every((e) => 'tokenFingerprint' in e && e.tokenFingerprint !== undefined && e.fspId === 'dfsp1'));
  assert.ok(audit.some((e) => e.event === 'signature_failed' && e.reason === 'GW_JWS_KEY_REVOKED'));
});
