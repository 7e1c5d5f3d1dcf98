// GET /.well-known/jwks.json on a running gateway: on the inbound listener only to a peer with a verified client
// certificate (and not to a quarantined one), never through the FSPIOP pipeline; on the admin listener without
// a token; a rotation staged in the key directory is published at once by the watch, with Cache-Control up to
// the activation, listed by GET /admin/keys (viewer token), exported as metrics and audited.
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, type JsonWebKey } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { calculateJwkThumbprint } from 'jose';
import { directoryKeyStore, rotateSigningKey } from '../../../src/jws/rotate.js';
import type { AuditEvent, AuditLog } from '../../../src/logging/audit.js';
import { fspiopHeaders, send, startTestGateway } from '../../helpers/gateway.js';
import { makeTestPki } from '../../helpers/pki.js';
import { waitFor } from '../../helpers/wait.js';

const VIEWER = 'viewer-token-0123456789abcdef';
const OPERATOR = 'operator-token-0123456789abcdef';

test('published keys on the inbound (mTLS) and admin listeners, following a staged rotation', { timeout: 30_000 }, async (t) => {
  const pki = makeTestPki();
  t.after(() => pki.cleanup());
  const keyDir = join(pki.dir, 'signing');
  mkdirSync(keyDir);
  const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPath = pki.write('signing/hub.key', signingKey.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
  const events: AuditEvent[] = [];
  const audit: AuditLog = { record: (e) => void events.push(e), flush: async () => {}, close: async () => {} };
  const tg = await startTestGateway({
    pki,
    env: { JWS_SIGN: 'true', JWS_SIGNING_KEY_PATH: keyPath, JWS_KEYS_RESCAN_INTERVAL_SECONDS: '1', ADMIN_TOKENS: `viewer:${VIEWER},operator:${OPERATOR}` },
    overrides: { audit },
  });
  t.after(() => tg.close());
  const admin = `http://127.0.0.1:${tg.gw.admin.port}`;
  const inbound = (o: { cert?: boolean; method?: string; fsp?: string } = {}) =>
    send(tg.gw.inbound.port, {
      method: o.method ?? 'GET',
      path: '/.well-known/jwks.json',
      ...(o.cert === false ? {} : { cert: tg.cert(o.fsp ?? 'dfsp1') }),
      ca: pki.ca.certPem,
    });

  const first = await inbound();
  assert.equal(first.status, 200);
  assert.equal(first.headers['content-type'], 'application/jwk-set+json');
  assert.equal(first.headers['cache-control'], 'public, max-age=300');
  const set = first.json() as { keys: (JsonWebKey & { kid: string; use: string; alg: string })[] };
  assert.equal(set.keys.length, 1);
  const [jwk] = set.keys;
  assert.equal(jwk!.kid, await calculateJwkThumbprint({ kty: 'RSA', n: jwk!.n!, e: jwk!.e! }));
  assert.equal(jwk!.use, 'sig');
  assert.equal(jwk!.alg, 'RS256');
  assert.ok(createPublicKey({ key: jwk!, format: 'jwk' }).equals(signingKey.publicKey), 'the published key is the signing key');
  assert.equal(jwk!.d, undefined, 'no private member');

  // Not an FSPIOP route, but every transport check holds: no certificate, no keys.
  await assert.rejects(inbound({ cert: false }), 'a peer without a client certificate gets no answer');
  const post = await inbound({ method: 'POST' });
  assert.equal(post.status, 404, 'only GET is served; anything else is the FSPIOP pipeline (3002)');
  assert.equal(post.json().errorInformation.errorCode, '3002');
  await tg.gw.quarantine.add('dfsp1');
  assert.equal((await inbound()).status, 503, 'a quarantined peer is refused as on every route');
  await tg.gw.quarantine.remove('dfsp1');
  // FSPIOP traffic is unaffected (the path is matched exactly).
  const party = await send(tg.gw.inbound.port, {
    path: '/parties/MSISDN/123',
    headers: { ...fspiopHeaders('parties', 'dfsp1'), 'fspiop-destination': 'dfsp2' },
    cert: tg.cert('dfsp1'),
    ca: pki.ca.certPem,
  });
  assert.equal(party.status, 202);

  // The admin listener publishes the same set without a token.
  const fromAdmin = await fetch(`${admin}/.well-known/jwks.json`);
  assert.equal(fromAdmin.status, 200);
  assert.equal(await fromAdmin.text(), first.body.toString());

  // A rotation staged on disk is published by every gateway reading the directory, before it signs.
  const now = Date.now();
  const staged = await rotateSigningKey(directoryKeyStore(keyDir, 'hub.key'), { keyFile: 'hub.key', now, publishAheadMs: 120_000, retainMs: 60_000 });
  const two = await waitFor(
    async () => {
      const r = await inbound();
      return r.json().keys.length === 2 ? r : undefined;
    },
    { timeoutMs: 8000, what: 'the staged key to be published' },
  );
  assert.deepEqual(
    two.json().keys.map((k: { kid: string }) => k.kid),
    [jwk!.kid, staged.kid],
  );
  const maxAge = Number(/max-age=(\d+)/.exec(String(two.headers['cache-control']))![1]);
  assert.ok(maxAge <= 120 && maxAge > 100, `cached at most until the activation (${maxAge})`);

  const keys = await fetch(`${admin}/admin/keys`, { headers: { authorization: `Bearer ${VIEWER}` } });
  assert.equal(keys.status, 200, 'a viewer token reads the keyring');
  const signing = ((await keys.json()) as { signing: { kid: string; state: string; activateAt: string; retireAt: string | null }[] }).signing;
  assert.deepEqual(
    signing.map((k) => [k.kid, k.state]),
    [
      [staged.kid, 'next'],
      [jwk!.kid, 'current'],
    ],
  );
  assert.equal(signing[0]!.activateAt, new Date(now + 120_000).toISOString());
  assert.equal(signing[1]!.retireAt, new Date(now + 180_000).toISOString());

  const metrics = await (await fetch(`${admin}/metrics`)).text();
  assert.match(
    metrics,
    new RegExp(`^switchguard_jws_signing_key_activation_timestamp_seconds\\{kid="${staged.kid}",state="next"\\} ${(now + 120_000) / 1000}$`, 'm'),
  );
  assert.match(
    metrics,
    new RegExp(`^switchguard_jws_signing_key_retire_timestamp_seconds\\{kid="${jwk!.kid}",state="current"\\} ${(now + 180_000) / 1000}$`, 'm'),
  );
  assert.match(metrics, new RegExp(`^switchguard_jws_signing_key_published_timestamp_seconds\\{kid="${staged.kid}",state="next"\\} ${now / 1000}$`, 'm'));

  assert.deepEqual(
    events.filter((e) => e.event.startsWith('signing_key_')).map((e) => [e.event, 'kid' in e ? e.kid : '']),
    [
      ['signing_key_published', jwk!.kid],
      ['signing_key_activated', jwk!.kid],
      ['signing_key_published', staged.kid],
    ],
  );
});
