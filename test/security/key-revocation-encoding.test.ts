// A revocation names a key by the SHA-256 of its SPKI DER, and one EC public key has two SPKI encodings
// (uncompressed and compressed point, SEC 1 §2.3.3) that node imports as the same key (KeyObject.equals) and
// re-exports as given. The fingerprint is taken of one canonical encoding (src/jws/jwk.ts spkiFingerprint), so the
// same key presented again in its compressed form stays revoked, whatever the source: a key file re-added, the
// DFSP's own Connection Manager upload (hostile review of 2026-12-02; they verified again before). A revocation an
// earlier release recorded under the encoding a copy was given in names the key in every copy (each key's other
// encodings are its aliases, src/jws/jwk.ts keyIdentity), and a key of a curve without a JWK form is still named
// (re-review of 2026-12-02).
import assert from 'node:assert/strict';
import { createHash, createPublicKey, ECDH, generateKeyPairSync, type KeyObject, randomUUID } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { ALGORITHMS } from '../../src/jws/algorithms.js';
import { signRequest } from '../../src/jws/sign.js';
import { fspiopHeaders, send, startTestGateway } from '../helpers/gateway.js';
import { TRANSFER } from '../helpers/jws.js';
import { startMcmStub } from '../helpers/key-servers.js';
import { makeTestPki } from '../helpers/pki.js';

const OPERATOR = 'operator-token-0123456789abcdef';
const spki = (k: KeyObject) =>
  createHash('sha256')
    .update(k.export({ type: 'spki', format: 'der' }))
    .digest('hex');
const pem = (k: KeyObject) => k.export({ type: 'spki', format: 'pem' }) as string;
/** The same P-256 public key as a SPKI with a compressed point (RFC 5480 §2.2 allows both forms). */
function compressedPem(k: KeyObject): string {
  const der = k.export({ type: 'spki', format: 'der' });
  const point = ECDH.convertKey(der.subarray(der.length - 65), 'prime256v1', undefined, undefined, 'compressed') as Buffer;
  const body = Buffer.concat([Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex'), point]).toString('base64');
  return `-----BEGIN PUBLIC KEY-----\n${body.match(/.{1,64}/g)!.join('\n')}\n-----END PUBLIC KEY-----\n`;
}

/** A P-256 key pair, its public key as a compressed SPKI PEM, and the SHA-256 of that encoding as given. */
function compressedKey() {
  const K = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const compressed = compressedPem(K.publicKey);
  const given = createHash('sha256')
    .update(createPublicKey(compressed).export({ type: 'spki', format: 'der' }))
    .digest('hex');
  return { K, compressed, given };
}

/** A test PKI with an empty key directory. */
function pkiWithKeys() {
  const pki = makeTestPki();
  const keysDir = `${pki.dir}/jws`;
  mkdirSync(keysDir);
  return { pki, keysDir };
}

async function harness(t: import('node:test').TestContext, env: Record<string, string>, keysDir: string, pki = makeTestPki()) {
  const out = pki.client('gateway-out');
  const tg = await startTestGateway({
    pki,
    env: {
      VALIDATE_INBOUND_JWS: 'true',
      JWS_VERIFICATION_KEYS_DIRECTORY: keysDir,
      JWS_KEYS_RESCAN_INTERVAL_SECONDS: '1',
      PEER_ENDPOINT: 'http://127.0.0.1:9/',
      OUT_CA_CERT_PATH: pki.caPath,
      OUT_CLIENT_CERT_PATH: pki.write('out.pem', out.certPem),
      OUT_CLIENT_KEY_PATH: pki.write('out.key', out.keyPem),
      ADMIN_TOKENS: `operator:${OPERATOR}`,
      KEY_REVOCATIONS_PATH: `${pki.dir}/key-revocations.json`,
      REPLAY_PROTECTION: 'false',
      ...env,
    },
  });
  t.after(() => tg.close());
  const admin = (path: string, init: RequestInit = {}) =>
    fetch(`http://127.0.0.1:${tg.gw.admin.port}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json', ...(init.headers ?? {}) },
    });
  const post = async (key: KeyObject, as: string) => {
    const headers = fspiopHeaders('transfers', as, { 'fspiop-destination': 'dfsp2' });
    const signed = signRequest(
      { method: 'POST', url: '/transfers', headers, json: { ...TRANSFER, payerFsp: as, transferId: randomUUID() } },
      { key, alg: ALGORITHMS.ES256 },
    );
    const r = await send(tg.gw.inbound.port, {
      method: 'POST',
      path: '/transfers',
      headers: { ...headers, ...signed.headers },
      body: signed.body,
      cert: tg.cert(as),
      ca: pki.ca.certPem,
    });
    return r.status === 202 ? 'accepted' : `${r.status} ${r.json().errorInformation.errorCode}`;
  };
  return { tg, pki, admin, post };
}

test('a revoked EC key file re-added in its compressed SPKI form stays revoked', { timeout: 60_000 }, async (t) => {
  const { pki, keysDir } = pkiWithKeys();
  const K = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  writeFileSync(`${keysDir}/dfsp1.pem`, pem(K.publicKey));
  const h = await harness(t, {}, keysDir, pki);
  assert.equal(await h.post(K.privateKey, 'dfsp1'), 'accepted');

  // The operator revokes dfsp1's key (compromised), by the fingerprint GET /admin/keys shows, and removes the file.
  const r = await h.admin('/admin/keys/revocations', { method: 'POST', body: JSON.stringify({ fingerprint: spki(K.publicKey), reason: 'key leaked' }) });
  assert.equal(r.status, 201, await r.text());
  assert.equal(await h.post(K.privateKey, 'dfsp1'), '400 3105', 'revoked');
  rmSync(`${keysDir}/dfsp1.pem`);

  // The same public key comes back as a file (docs/jws.md: "also when it comes back later (a file re-added ...)"),
  // written in the compressed form.
  writeFileSync(`${keysDir}/dfsp1.pem`, compressedPem(K.publicKey));
  assert.equal((await h.admin('/admin/reload', { method: 'POST' })).status, 200);
  assert.equal(await h.post(K.privateKey, 'dfsp1'), '400 3105', 'the revoked key must stay refused whatever its encoding');
});

test('a revoked EC key re-uploaded to the Connection Manager by its DFSP, compressed, stays revoked', { timeout: 60_000 }, async (t) => {
  const { pki, keysDir } = pkiWithKeys();
  const mcm = await startMcmStub(pki);
  t.after(() => mcm.close());
  const K = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  mcm.dfsps = [{ dfspId: 'dfsp1', publicKey: pem(K.publicKey) }];
  const h = await harness(
    t,
    { MCM_URL: mcm.apiUrl, MCM_TOKEN_URL: mcm.tokenUrl, MCM_CLIENT_ID: mcm.clientId, MCM_CLIENT_SECRET: mcm.clientSecret, MCM_CA_CERT_PATH: pki.caPath },
    keysDir,
    pki,
  );
  assert.equal(await h.post(K.privateKey, 'dfsp1'), 'accepted');
  // Revoked by its RFC 7638 thumbprint this time (docs/jws.md: either names the key).
  const listing = (await (await h.admin('/admin/keys')).json()) as { keys: { fspId: string; thumbprint: string }[] };
  const thumb = listing.keys.find((k) => k.fspId === 'dfsp1')!.thumbprint;
  const r = await h.admin('/admin/keys/revocations', { method: 'POST', body: JSON.stringify({ fingerprint: thumb, reason: 'key leaked' }) });
  assert.equal(r.status, 201, await r.text());
  assert.equal(await h.post(K.privateKey, 'dfsp1'), '400 3105', 'revoked');

  // dfsp1 uploads "a new key" to the Connection Manager: the same one, compressed.
  mcm.dfsps = [{ dfspId: 'dfsp1', publicKey: compressedPem(K.publicKey) }];
  assert.equal((await h.admin('/admin/reload', { method: 'POST' })).status, 200);
  const now = (await (await h.admin('/admin/keys')).json()) as { keys: { fspId: string; thumbprint: string; revoked?: unknown }[] };
  const same = now.keys.filter((k) => k.fspId === 'dfsp1');
  assert.equal(same[0]?.thumbprint, thumb, 'the admin listing shows the very same RFC 7638 thumbprint');
  assert.equal(await h.post(K.privateKey, 'dfsp1'), '400 3105', 'the revoked key must stay refused whatever its encoding');
});

test('a revocation recorded before fingerprints were canonical (the compressed encoding as given) still refuses the key', { timeout: 60_000 }, async (t) => {
  const { pki, keysDir } = pkiWithKeys();
  const { K, compressed, given } = compressedKey();
  writeFileSync(`${keysDir}/dfsp1.pem`, compressed);
  assert.notEqual(given, spki(K.publicKey), 'node keeps the encoding as given');
  // The list as an earlier release wrote it (src/store/security-state.ts: {g, v}), naming the encoding as given.
  const revoked = { fingerprint: given, fspIds: ['dfsp1'], reason: 'key leaked', revokedAt: new Date().toISOString() };
  writeFileSync(`${pki.dir}/key-revocations.json`, JSON.stringify({ g: 1, v: [revoked] }));
  const h = await harness(t, {}, keysDir, pki);
  assert.equal(await h.post(K.privateKey, 'dfsp1'), '400 3105');
  const listing = (await (await h.admin('/admin/keys')).json()) as { keys: { fspId: string; fingerprint: string; revoked?: { reason: string } }[] };
  const k = listing.keys.find((x) => x.fspId === 'dfsp1');
  assert.equal(k?.fingerprint, spki(K.publicKey), 'listed by its canonical fingerprint');
  assert.equal(k?.revoked?.reason, 'key leaked', 'and listed as revoked');
});

test('a revocation recorded before fingerprints were canonical (compressed, as given) survives the DFSP re-uploading the key uncompressed (and a restart)', {
  timeout: 60_000,
}, async (t) => {
  const { pki, keysDir } = pkiWithKeys();
  const mcm = await startMcmStub(pki);
  t.after(() => mcm.close());
  const { K, compressed, given } = compressedKey();
  // dfsp1 had uploaded its key to the Connection Manager in the compressed form; the operator revoked it (key leaked)
  // with the release before this one, which recorded the SHA-256 of the SPKI as given.
  mcm.dfsps = [{ dfspId: 'dfsp1', publicKey: compressed }];
  const revoked = { fingerprint: given, fspIds: ['dfsp1'], reason: 'key leaked', revokedAt: new Date().toISOString() };
  writeFileSync(`${pki.dir}/key-revocations.json`, JSON.stringify({ g: 1, v: [revoked] }));
  const h = await harness(
    t,
    { MCM_URL: mcm.apiUrl, MCM_TOKEN_URL: mcm.tokenUrl, MCM_CLIENT_ID: mcm.clientId, MCM_CLIENT_SECRET: mcm.clientSecret, MCM_CA_CERT_PATH: pki.caPath },
    keysDir,
    pki,
  );
  assert.equal(await h.post(K.privateKey, 'dfsp1'), '400 3105', 'the legacy revocation holds for the encoding as given');

  // dfsp1 (or whoever holds its leaked private key and its Connection Manager login) uploads "a new key": the same one,
  // uncompressed. The running gateway keeps the copy it has (its canonical fingerprint did not change); the next
  // start-up (a deployment, a restart, another replica) reads the upload as it now is.
  mcm.dfsps = [{ dfspId: 'dfsp1', publicKey: pem(K.publicKey) }];
  const restarted = await harness(
    t,
    { MCM_URL: mcm.apiUrl, MCM_TOKEN_URL: mcm.tokenUrl, MCM_CLIENT_ID: mcm.clientId, MCM_CLIENT_SECRET: mcm.clientSecret, MCM_CA_CERT_PATH: pki.caPath },
    keysDir,
    pki,
  );
  const listed = (await (await restarted.admin('/admin/keys/revocations')).json()) as { revocations: { fingerprint: string }[] };
  assert.deepEqual(
    listed.revocations.map((r) => r.fingerprint),
    [given],
    'the revocation is still in force',
  );
  assert.equal(await restarted.post(K.privateKey, 'dfsp1'), '400 3105', 'the revoked key must stay refused whatever its encoding');
});

test('a legacy revocation (compressed, as given) of a key file holds when the same key is also in a second, uncompressed key file', {
  timeout: 60_000,
}, async (t) => {
  const { pki, keysDir } = pkiWithKeys();
  const { K, compressed, given } = compressedKey();
  writeFileSync(`${keysDir}/dfsp1.b.pem`, compressed);
  writeFileSync(
    `${pki.dir}/key-revocations.json`,
    JSON.stringify({ g: 1, v: [{ fingerprint: given, fspIds: ['dfsp1'], reason: 'key leaked', revokedAt: new Date().toISOString() }] }),
  );
  const h = await harness(t, {}, keysDir, pki);
  assert.equal(await h.post(K.privateKey, 'dfsp1'), '400 3105', 'revoked');
  // The same key is also present uncompressed (e.g. the DFSP's primary file re-sent by the DFSP, or any copy that
  // sorts first): PeerKeys keeps one entry per canonical fingerprint, the first, and the revocation is missed.
  writeFileSync(`${keysDir}/dfsp1.pem`, pem(K.publicKey));
  assert.equal((await h.admin('/admin/reload', { method: 'POST' })).status, 200);
  assert.equal(await h.post(K.privateKey, 'dfsp1'), '400 3105', 'the revoked key must stay refused while its revoked encoding is still listed');
});

test('a key file replaced by an EC key on a curve without a JWK form: the replaced key no longer verifies', { timeout: 60_000 }, async (t) => {
  const { pki, keysDir } = pkiWithKeys();
  const K = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  writeFileSync(`${keysDir}/dfsp1.pem`, pem(K.publicKey));
  const h = await harness(t, {}, keysDir, pki);
  assert.equal(await h.post(K.privateKey, 'dfsp1'), 'accepted');
  // dfsp1's key K leaked; the operator replaces the file with the key dfsp1 sent next (one the rules refuse).
  const next = generateKeyPairSync('ec', { namedCurve: 'brainpoolP256r1' });
  writeFileSync(`${keysDir}/dfsp1.tmp`, pem(next.publicKey));
  renameSync(`${keysDir}/dfsp1.tmp`, `${keysDir}/dfsp1.pem`);
  await h.admin('/admin/reload', { method: 'POST' });
  assert.equal(await h.post(K.privateKey, 'dfsp1'), '400 3105', 'the replaced key must not verify any more');
});

test('an operator may revoke a key by the fingerprint of its file as given (openssl … | sha256sum of a compressed key)', { timeout: 60_000 }, async (t) => {
  const { pki, keysDir } = pkiWithKeys();
  const { K, compressed, given } = compressedKey();
  writeFileSync(`${keysDir}/dfsp1.pem`, compressed);
  const h = await harness(t, {}, keysDir, pki);
  assert.equal(await h.post(K.privateKey, 'dfsp1'), 'accepted');
  const r = await h.admin('/admin/keys/revocations', { method: 'POST', body: JSON.stringify({ fingerprint: given, reason: 'key leaked' }) });
  assert.equal(r.status, 201, await r.text());
  assert.equal(await h.post(K.privateKey, 'dfsp1'), '400 3105');
});
