import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { describe, test } from 'node:test';
import { flattenedVerify } from 'jose';
import { GatewayError } from '../../../src/errors.js';
import { ALGORITHMS } from '../../../src/jws/algorithms.js';
import { decodeProtectedHeader } from '../../../src/jws/protected-header.js';
import { signRequest } from '../../../src/jws/sign.js';
import { headerGetter, type VerifyPolicy, verifyRequest } from '../../../src/jws/verify.js';
import { bodyBytes, NEGATIVES, PRIVATE_KEYS, PUBLIC_KEYS, staticKeys, VECTORS } from '../../helpers/jws.js';

const POLICY: VerifyPolicy = { algorithms: new Set(['RS256', 'ES256']), forms: ['raw', 'sorted', 'insertion'] };
const keys = staticKeys({ payerfsp: [PUBLIC_KEYS.payerfsp!], payeefsp: [PUBLIC_KEYS.payeefsp!], ecfsp: [PUBLIC_KEYS.ecfsp!] });

describe('jws-vectors.json positives', () => {
  for (const v of VECTORS.positives) {
    test(`${v.name} verifies over the raw bytes`, async () => {
      const r = await verifyRequest(
        { method: v.request.method, path: v.request.url, header: headerGetter(v.request.headers), body: bodyBytes(v.request.body) },
        keys,
        POLICY,
      );
      assert.deepEqual(r, { form: 'raw', alg: v.alg, keyId: v.request.headers['fspiop-source'], source: v.request.headers['fspiop-source'] });
    });
    if (v.alg !== 'RS256') continue;
    test(`${v.name} is reproduced byte for byte by signRequest`, () => {
      const { 'fspiop-signature': _s, 'fspiop-uri': _u, 'fspiop-http-method': _m, ...headers } = v.request.headers;
      const json = JSON.parse(v.request.body as string);
      const frozen = structuredClone(json);
      const out = signRequest(
        { method: v.request.method.toLowerCase(), url: v.request.url, headers, json },
        { key: PRIVATE_KEYS[v.request.headers['fspiop-source']!]!, alg: ALGORITHMS.RS256 },
      );
      assert.equal(out.body.toString('utf8'), v.request.body);
      assert.deepEqual(out.headers, {
        'fspiop-signature': v.request.headers['fspiop-signature'],
        'fspiop-uri': v.request.headers['fspiop-uri'],
        'fspiop-http-method': v.request.headers['fspiop-http-method'],
      });
      assert.deepEqual(json, frozen, 'input not mutated');
    });
  }

  test('signRequest output cross-checks with jose flattenedVerify (RS256 and ES256)', async () => {
    for (const [src, alg] of [
      ['payerfsp', ALGORITHMS.RS256],
      ['ecfsp', ALGORITHMS.ES256],
    ] as const) {
      const out = signRequest(
        { method: 'POST', url: '/transfers', headers: { 'FSPIOP-Source': src, 'FSPIOP-Destination': 'payeefsp' }, json: { b: 1, a: [2, { d: 'é', c: null }] } },
        { key: PRIVATE_KEYS[src]!, alg },
      );
      const sh = JSON.parse(out.headers['fspiop-signature']) as { protectedHeader: string; signature: string };
      const r = await flattenedVerify({ protected: sh.protectedHeader, payload: out.body.toString('base64url'), signature: sh.signature }, PUBLIC_KEYS[src]!);
      assert.equal(Buffer.from(r.payload).toString(), '{"a":[2,{"c":null,"d":"é"}],"b":1}');
      assert.equal(r.protectedHeader?.alg, alg.name);
      assert.equal(r.protectedHeader?.['FSPIOP-Destination'], 'payeefsp');
      assert.equal(typeof out.headers.date, 'string');
    }
  });

  test('corrected spec example (Signature v1.1 §4) verifies over the raw bytes', async () => {
    const ex = VECTORS.specSignatureExample;
    const ph = JSON.parse(ex.protectedHeaderJson) as Record<string, string>;
    const headers: Record<string, string> = {
      'fspiop-signature': JSON.stringify({ protectedHeader: Buffer.from(ex.protectedHeaderJson).toString('base64url'), signature: ex.correctedSignature }),
      'fspiop-uri': ph['FSPIOP-URI']!,
      'fspiop-http-method': ph['FSPIOP-HTTP-Method']!,
      'fspiop-source': ph['FSPIOP-Source']!,
      'fspiop-destination': ph['FSPIOP-Destination']!,
      date: ph.Date!,
    };
    const r = await verifyRequest(
      { method: 'POST', path: '/quotes', header: headerGetter(headers), body: Buffer.from(ex.bodyExactBytes) },
      staticKeys({ 1234: [createPublicKey(ex.publicKeyPem)] }),
      POLICY,
    );
    assert.deepEqual(r, { form: 'raw', alg: 'RS256', keyId: '1234', source: '1234' });
  });

  test('an X.509 certificate works as a verification key', async () => {
    const v = VECTORS.positives[0]!;
    const r = await verifyRequest(
      { method: 'POST', path: v.request.url, header: headerGetter(v.request.headers), body: bodyBytes(v.request.body) },
      staticKeys({ payerfsp: [PUBLIC_KEYS.payerfspCert!] }),
      POLICY,
    );
    assert.equal(r.form, 'raw');
  });
});

// The gateway's decision for each negative vector (test/vectors/jws-negative-vectors.json: accept raw-bytes-signer-* and
// getSignature-with-object-payload, reject tampering). `form` = accepted through that form.
const DECISIONS: Record<string, { code?: string; form?: string }> = {
  'body-amount-modified': { code: 'GW_JWS_BAD_SIGNATURE' },
  'fspiop-uri-header-mismatch': { code: 'GW_JWS_HEADER_MISMATCH' },
  'http-method-header-lowercase': { code: 'GW_JWS_HEADER_MISMATCH' },
  'date-header-mismatch': { code: 'GW_JWS_HEADER_MISMATCH' },
  'destination-header-changed': { code: 'GW_JWS_HEADER_MISMATCH' },
  'destination-header-removed': { code: 'GW_JWS_HEADER_MISMATCH' },
  'source-unknown-key': { code: 'GW_JWS_HEADER_MISMATCH' },
  'missing-fspiop-uri': { code: 'GW_JWS_MISSING' },
  'signature-header-not-json': { code: 'GW_JWS_MALFORMED' },
  'no-body': { code: 'GW_JWS_MISSING' },
  'body-keys-reordered-on-wire': { form: 'sorted' },
  'destination-header-empty': { code: 'GW_JWS_HEADER_MISMATCH' },
  'signed-without-destination-ok': { form: 'raw' },
  'destination-added-after-signing': { code: 'GW_JWS_HEADER_MISMATCH' },
  'es256-token-rsa-key-in-directory': { code: 'GW_JWS_ALG_NOT_ALLOWED' },
  'raw-bytes-signer-insertion-order-compact': { form: 'raw' },
  'raw-bytes-signer-pretty-printed': { form: 'raw' },
  'raw-bytes-signer-sorted-compact': { form: 'raw' },
  'alg-rs512': { code: 'GW_JWS_ALG_NOT_ALLOWED' },
  'getSignature-with-object-payload': { form: 'raw' },
};

describe('jws-negative-vectors.json decisions', () => {
  test('every case has a documented decision', () => {
    assert.deepEqual(NEGATIVES.cases.map((c) => c.name).sort(), Object.keys(DECISIONS).sort());
  });
  for (const c of NEGATIVES.cases) {
    test(c.name, async () => {
      let method = 'POST';
      let path = '/quotes';
      try {
        const ph = decodeProtectedHeader((JSON.parse(c.request.headers['fspiop-signature']!) as { protectedHeader: string }).protectedHeader);
        method = ph['FSPIOP-HTTP-Method'] as string;
        path = ph['FSPIOP-URI'] as string;
      } catch {
        /* not-JSON case: the base vector's request line */
      }
      const want = DECISIONS[c.name]!;
      const run = verifyRequest({ method, path, header: headerGetter(c.request.headers), body: bodyBytes(c.request.body) }, keys, POLICY);
      if (want.code) {
        await assert.rejects(run, (e: unknown) => e instanceof GatewayError && e.code === want.code && e.fspiopCode === '3105' && e.httpStatus === 400);
      } else {
        assert.equal((await run).form, want.form);
      }
    });
  }
});
