// The remote key documents and their keys (src/jws/sources/remote-key.ts, documents.ts, refresh-loop.ts):
// every fault named by issue 12 refuses the document with its reason; the schedule follows max-age within bounds.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, test } from 'node:test';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { parseJwks, parseMcmDfsps, parseMcmHub } from '../../../../src/jws/sources/documents.js';
import { lifetimeMs, maxAgeSeconds, refreshDelayMs, retryDelayMs } from '../../../../src/jws/sources/refresh-loop.js';
import { Refusal } from '../../../../src/jws/sources/remote-key.js';
import { createCa, issueCert } from '../../../../src/pki/forge-pki.js';

const ctx = { fspId: 'dfsp1', kind: 'jwks' as const, allowed: new Set(['RS256', 'ES256']) };
const rsa = (bits = 2048) => generateKeyPairSync('rsa', { modulusLength: bits });
const jwkOf = (k: KeyObject, extra: Record<string, unknown> = {}) => ({ ...(k.export({ format: 'jwk' }) as Record<string, unknown>), ...extra });
const doc = (...keys: unknown[]) => Buffer.from(JSON.stringify({ keys }));
const spki = (k: KeyObject) =>
  createHash('sha256')
    .update(k.export({ type: 'spki', format: 'der' }))
    .digest('hex');
const refusal = async (p: Promise<unknown>) => {
  try {
    await p;
    return 'accepted';
  } catch (e) {
    assert.ok(e instanceof Refusal, String(e));
    return e.reason;
  }
};
const A = rsa();
const B = rsa();
const EC = generateKeyPairSync('ec', { namedCurve: 'P-256' });

describe('JWK Set', () => {
  test('a good set: SPKI fingerprint and RFC 7638 thumbprint (jose) per key; a key listed twice counts once; enc keys skipped', async () => {
    const keys = await parseJwks(
      doc(
        jwkOf(A.publicKey, { kid: 'a', use: 'sig', alg: 'RS256' }),
        jwkOf(EC.publicKey, { kid: 'e' }),
        jwkOf(A.publicKey, { kid: 'a' }),
        jwkOf(B.publicKey, { use: 'enc' }),
      ),
      ctx,
    );
    assert.deepEqual(
      keys.map((k) => k.kid),
      ['a', 'e'],
    );
    assert.equal(keys[0]!.fingerprint, spki(A.publicKey));
    assert.equal(keys[0]!.thumbprint, await calculateJwkThumbprint(A.publicKey.export({ format: 'jwk' }) as JWK));
    assert.equal(keys[0]!.key.label, 'jwks:a');
    assert.equal(keys[1]!.key.info.family, 'ec');
  });

  test('every fault refuses the whole document, with its reason', async () => {
    const cases: [string, Buffer, string][] = [
      ['garbage', Buffer.from('<html>oops</html>'), 'not_json'],
      ['not a set', Buffer.from('{"keys": {}}'), 'bad_document'],
      ['a JSON array', Buffer.from('[]'), 'bad_document'],
      ['no signature key', doc(jwkOf(A.publicKey, { use: 'enc' })), 'no_keys'],
      ['RSA 1024 (below the table minimum)', doc(jwkOf(A.publicKey, { kid: 'a' }), jwkOf(rsa(1024).publicKey, { kid: 'small' })), 'key_rejected'],
      ['EC P-384', doc(jwkOf(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey)), 'key_rejected'],
      ['alg outside JWS_ALGORITHMS', doc(jwkOf(A.publicKey, { alg: 'RS512' })), 'alg_not_allowed'],
      ['alg HS256', doc(jwkOf(A.publicKey, { alg: 'HS256' })), 'alg_not_allowed'],
      ['alg that does not fit the key', doc(jwkOf(A.publicKey, { alg: 'ES256' })), 'alg_not_allowed'],
      ['duplicate kid, different keys', doc(jwkOf(A.publicKey, { kid: 'k1' }), jwkOf(B.publicKey, { kid: 'k1' })), 'duplicate_kid'],
      ['a private key', doc(jwkOf(A.privateKey)), 'private_key'],
      ['a symmetric key', doc({ kty: 'oct', k: 'c2VjcmV0' }), 'private_key'],
      ['no modulus', doc({ kty: 'RSA', e: 'AQAB' }), 'invalid_key'],
      ['a modulus that is no key', doc({ kty: 'RSA', n: '!!', e: 'AQAB' }), 'key_rejected'],
      ['an unknown kty', doc({ kty: 'XYZ' }), 'invalid_key'],
    ];
    for (const [name, body, reason] of cases) assert.equal(await refusal(parseJwks(body, ctx)), reason, name);
  });

  test('x5c: a certificate naming another FSP is other_fsp; one that holds another key is invalid_key; a matching one gives notAfter', async () => {
    const ca = createCa({ cn: 'x5c test CA' });
    const mine = issueCert(ca, { cn: 'dfsp1', usage: 'client' });
    const theirs = issueCert(ca, { cn: 'dfsp2', usage: 'client' });
    const x5c = (pem: string) => [pem.replace(/-----[A-Z ]+-----|\s/g, '')];
    const { createPublicKey, X509Certificate } = await import('node:crypto');
    const keyOf = (pem: string) => createPublicKey(new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'pem' }));
    const ok = await parseJwks(doc(jwkOf(keyOf(mine.certPem), { x5c: x5c(mine.certPem) })), ctx);
    assert.ok(ok[0]!.notAfter! > Date.now() / 1000);
    assert.equal(await refusal(parseJwks(doc(jwkOf(keyOf(theirs.certPem), { x5c: x5c(theirs.certPem) })), ctx)), 'other_fsp');
    assert.equal(await refusal(parseJwks(doc(jwkOf(A.publicKey, { x5c: x5c(mine.certPem) })), ctx)), 'invalid_key');
  });
});

describe('Connection Manager documents (connection-manager-api swagger: DFSPJWSCert, JWSCert)', () => {
  const pem = (k: KeyObject) => k.export({ type: 'spki', format: 'pem' }) as string;
  const base = { kind: 'mcm' as const, allowed: ctx.allowed };

  test("per DFSP: good keys taken, INVALID and bad keys refused, one key under two DFSPs each one's own, bad ids skipped", async () => {
    const shared = rsa().publicKey;
    const body = Buffer.from(
      JSON.stringify([
        { dfspId: 'dfsp1', publicKey: pem(A.publicKey), createdAt: 1, validationState: 'VALID', validations: [] },
        { dfspId: 'dfsp2', publicKey: pem(B.publicKey), validationState: 'INVALID' },
        { dfspId: 'dfsp3', publicKey: pem(shared) },
        { dfspId: 'dfsp4', publicKey: pem(shared) },
        { dfspId: 'dfsp5', publicKey: pem(rsa(1024).publicKey) },
        { dfspId: 'dfsp6', publicKey: A.privateKey.export({ type: 'pkcs8', format: 'pem' }) },
        { dfspId: 'not a valid id!', publicKey: pem(EC.publicKey) },
        { publicKey: pem(EC.publicKey) },
      ]),
    );
    const { perFsp, skipped } = await parseMcmDfsps(body, base);
    const view = Object.fromEntries([...perFsp].map(([id, r]) => [id, r instanceof Refusal ? r.reason : r.map((k) => k.fingerprint)]));
    assert.deepEqual(view, {
      dfsp1: [spki(A.publicKey)],
      dfsp2: 'invalid_in_mcm',
      // A key listed under two DFSPs is each one's (re-review of 2026-12-02: refusing both let a copier lock the owner out).
      dfsp3: [spki(shared)],
      dfsp4: [spki(shared)],
      dfsp5: 'key_rejected',
      dfsp6: 'private_key',
    });
    assert.equal(skipped, 2);
    assert.equal(await refusal(parseMcmDfsps(Buffer.from('{"dfspId":"x"}'), base)), 'bad_document');
    assert.equal((await parseMcmHub(Buffer.from(JSON.stringify({ publicKey: pem(EC.publicKey) })), { ...base, fspId: 'hub' }))[0]!.fspId, 'hub');
    assert.equal(await refusal(parseMcmHub(Buffer.from('[]'), { ...base, fspId: 'hub' })), 'bad_document');
  });
});

describe('refresh schedule', () => {
  const b = { minMs: 30_000, maxMs: 900_000 };
  test('ahead of expiry (80 % of max-age), within bounds; failures back off from the minimum', () => {
    assert.equal(maxAgeSeconds('public, max-age=600'), 600);
    assert.equal(maxAgeSeconds(['no-cache']), 0);
    assert.equal(maxAgeSeconds('max-age=abc'), undefined);
    assert.equal(maxAgeSeconds(undefined), undefined);
    assert.equal(refreshDelayMs(600, b), 480_000);
    assert.equal(refreshDelayMs(5, b), 30_000, 'never sooner than the minimum');
    assert.equal(refreshDelayMs(86_400, b), 900_000, 'never later than the maximum');
    assert.equal(refreshDelayMs(undefined, b), 900_000);
    assert.deepEqual(
      [1, 2, 3, 10, 99].map((n) => retryDelayMs(n, b)),
      [30_000, 60_000, 120_000, 900_000, 900_000],
    );
    assert.equal(lifetimeMs(600, b), 600_000);
    assert.equal(lifetimeMs(undefined, b), 900_000);
    assert.equal(lifetimeMs(1, b), 30_000);
  });
});
