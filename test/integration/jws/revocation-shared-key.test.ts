// A key is revoked (by fingerprint) for every FSP that lists it, and a peer may list another's public key (its JWKS
// or its Connection Manager entry: docs/jws.md, "Key sources"). Re-review of 2026-12-02: an operator off-boarding
// dfsp7 by revoking every key GET /admin/keys shows for it revoked dfsp1's own key too, which dfsp7 had copied. A key
// listed by several FSPs is now revoked only with allFsps: true (400 otherwise, naming them); CLI --all-fsps.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, type KeyObject, randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { test } from 'node:test';
import { ALGORITHMS } from '../../../src/jws/algorithms.js';
import { signRequest } from '../../../src/jws/sign.js';
import { fspiopHeaders, send, startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { TRANSFER } from '../../helpers/jws.js';
import { startJwksServer } from '../../helpers/key-servers.js';
import { makeTestPki } from '../../helpers/pki.js';

const OPERATOR = 'operator-token-0123456789abcdef';
const rsa = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
const spki = (k: KeyObject) =>
  createHash('sha256')
    .update(k.export({ type: 'spki', format: 'der' }))
    .digest('hex');
const jwk = (k: KeyObject, kid: string) => ({ ...(k.export({ format: 'jwk' }) as object), kid, use: 'sig' });

test('revoking the keys a copier lists needs allFsps for the copied one: without it 400 naming both, the owner unharmed; with it, revoked for both', {
  timeout: 60_000,
}, async (t) => {
  const pki = makeTestPki();
  t.after(() => pki.cleanup());
  const ownerJwks = await startJwksServer(pki);
  const copierJwks = await startJwksServer(pki);
  t.after(() => ownerJwks.close());
  t.after(() => copierJwks.close());
  const Owner = rsa();
  const Own = rsa();
  ownerJwks.answer({ body: JSON.stringify({ keys: [jwk(Owner.publicKey, 'owner-2026')] }), headers: { 'cache-control': 'max-age=600' } });
  copierJwks.answer({
    body: JSON.stringify({ keys: [jwk(Own.publicKey, 'mine'), jwk(Owner.publicKey, 'copied')] }),
    headers: { 'cache-control': 'max-age=600' },
  });
  const keysDir = `${pki.dir}/jws`;
  mkdirSync(keysDir);
  const out = pki.client('gateway-out');
  const tg: TestGateway = await startTestGateway({
    pki,
    env: {
      VALIDATE_INBOUND_JWS: 'true',
      JWS_VERIFICATION_KEYS_DIRECTORY: keysDir,
      PEERS_PATH: pki.write('peers.json', JSON.stringify({ dfsp1: { jwksUrl: ownerJwks.jwksUrl }, dfsp7: { jwksUrl: copierJwks.jwksUrl } })),
      PEER_ENDPOINT: 'http://127.0.0.1:9/',
      OUT_CA_CERT_PATH: pki.caPath,
      OUT_CLIENT_CERT_PATH: pki.write('out.pem', out.certPem),
      OUT_CLIENT_KEY_PATH: pki.write('out.key', out.keyPem),
      ADMIN_TOKENS: `operator:${OPERATOR}`,
      KEY_REVOCATIONS_PATH: `${pki.dir}/key-revocations.json`,
      REPLAY_PROTECTION: 'false',
    },
  });
  t.after(() => tg.close());
  const post = async (key: KeyObject, as: string) => {
    const headers = fspiopHeaders('transfers', as, { 'fspiop-destination': 'dfsp2' });
    const signed = signRequest(
      { method: 'POST', url: '/transfers', headers, json: { ...TRANSFER, payerFsp: as, transferId: randomUUID() } },
      { key, alg: ALGORITHMS.RS256 },
    );
    const r = await send(tg.gw.inbound.port, {
      method: 'POST',
      path: '/transfers',
      headers: { ...headers, ...signed.headers },
      body: signed.body,
      cert: tg.cert(as),
      ca: pki.ca.certPem,
    });
    return r.status === 202 ? 'accepted' : `${r.status} ${r.json().errorInformation.errorCode} ${r.body.toString()}`;
  };
  assert.equal(await post(Owner.privateKey, 'dfsp1'), 'accepted');
  assert.equal(await post(Own.privateKey, 'dfsp7'), 'accepted');

  // The operator off-boards dfsp7: it revokes every key GET /admin/keys lists for dfsp7 (the runbook's step 1 and 2).
  const listing = (await (await fetch(`http://127.0.0.1:${tg.gw.admin.port}/admin/keys`, { headers: { authorization: `Bearer ${OPERATOR}` } })).json()) as {
    keys: { fspId: string; fingerprint: string }[];
  };
  const dfsp7Keys = listing.keys.filter((k) => k.fspId === 'dfsp7').map((k) => k.fingerprint);
  assert.ok(dfsp7Keys.includes(spki(Owner.publicKey)), "dfsp7 lists dfsp1's key as its own");
  const revoke = (fingerprint: string, extra: object = {}) =>
    fetch(`http://127.0.0.1:${tg.gw.admin.port}/admin/keys/revocations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' },
      body: JSON.stringify({ fingerprint, reason: 'dfsp7 off-boarded: hostile', ...extra }),
    });
  const copied = spki(Owner.publicKey);
  for (const fingerprint of dfsp7Keys.filter((f) => f !== copied)) assert.equal((await revoke(fingerprint)).status, 201);
  const refused = await revoke(copied);
  assert.equal(refused.status, 400);
  const why = await refused.text();
  assert.match(why, /dfsp1/);
  assert.match(why, /dfsp7/);
  assert.match(why, /allFsps/);
  assert.notEqual(await post(Own.privateKey, 'dfsp7'), 'accepted', "dfsp7's own key is revoked");
  assert.equal(await post(Owner.privateKey, 'dfsp1'), 'accepted', "dfsp1's key is not");
  // Said twice (a compromised key is compromised for everyone who lists it): revoked for both.
  const both = await revoke(copied, { allFsps: true });
  const said = await both.text();
  assert.equal(both.status, 201, said);
  assert.deepEqual((JSON.parse(said) as { revocation: { fspIds: string[] } }).revocation.fspIds.sort(), ['dfsp1', 'dfsp7']);
  assert.match(await post(Owner.privateKey, 'dfsp1'), /^400 3105 /);
});
