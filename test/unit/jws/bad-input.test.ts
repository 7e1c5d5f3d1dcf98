// Bad input: each case is its own test asserting the exact GatewayError code (all 3105/400
// unless the catalogue says otherwise), and that the error text never echoes header values or keys.
import assert from 'node:assert/strict';
import { createHmac, createSign, sign as cryptoSign } from 'node:crypto';
import { describe, test } from 'node:test';
import { GatewayError } from '../../../src/errors.js';
import { ALGORITHMS } from '../../../src/jws/algorithms.js';
import { checkDateWindow, createReplayGuard, signatureFingerprint } from '../../../src/jws/freshness.js';
import { hasDuplicateKeys } from '../../../src/jws/payload-forms.js';
import { parseSignatureHeader } from '../../../src/jws/signature-header.js';
import { headerGetter, type VerifyInput, type VerifyPolicy, verifyRequest } from '../../../src/jws/verify.js';
import { createMemoryStore } from '../../../src/store/memory.js';
import type { Store } from '../../../src/store/types.js';
import { KEYS, newRsa, PRIVATE_KEYS, PUBLIC_KEYS, signedTransfer, staticKeys } from '../../helpers/jws.js';

const POLICY: VerifyPolicy = { algorithms: new Set(['RS256', 'ES256']), forms: ['raw', 'sorted', 'insertion'] };
const weak = newRsa(1024);
const keys = staticKeys({ payerfsp: [PUBLIC_KEYS.payerfsp!], ecfsp: [PUBLIC_KEYS.ecfsp!], weakfsp: [weak.signing.key] });
const RSA = { key: PRIVATE_KEYS.payerfsp!, alg: ALGORITHMS.RS256 };
const EC = { key: PRIVATE_KEYS.ecfsp!, alg: ALGORITHMS.ES256 };

type Req = VerifyInput & { headers: Record<string, string> };
const withHeaders = (r: Req, h: Record<string, string | undefined>): Req => {
  const headers = { ...r.headers } as Record<string, string>;
  for (const [k, v] of Object.entries(h))
    if (v === undefined) delete headers[k];
    else headers[k] = v;
  return { ...r, headers, header: headerGetter(headers) };
};
const sigParts = (r: Req) => JSON.parse(r.headers['fspiop-signature']!) as { protectedHeader: string; signature: string };
const withSig = (r: Req, protectedHeader: string, signature: string) => withHeaders(r, { 'fspiop-signature': JSON.stringify({ protectedHeader, signature }) });
const b64 = (s: string) => Buffer.from(s).toString('base64url');

async function rejects(run: Promise<unknown>, code: string, secrets: string[] = []): Promise<void> {
  await assert.rejects(run, (e: unknown) => {
    assert.ok(e instanceof GatewayError, String(e));
    assert.equal(e.code, code);
    for (const s of secrets) assert.ok(!e.message.includes(s), 'error text echoes a header value');
    return true;
  });
}

describe('bad input is rejected with the exact code', () => {
  test('body tampered by one byte', async () => {
    const r = signedTransfer(RSA, 'payerfsp');
    const body = Buffer.from(r.body);
    body[body.indexOf('100.50') + 2] = '1'.charCodeAt(0);
    await rejects(verifyRequest({ ...r, body }, keys, POLICY), 'GW_JWS_BAD_SIGNATURE');
  });

  test('protected header swapped from another request (same route, other body)', async () => {
    const a = signedTransfer(RSA, 'payerfsp');
    const b = signedTransfer(RSA, 'payerfsp', { ...(await import('../../helpers/jws.js')).TRANSFER, amount: { currency: 'USD', amount: '1' } });
    await rejects(verifyRequest(withSig(a, sigParts(a).protectedHeader, sigParts(b).signature), keys, POLICY), 'GW_JWS_BAD_SIGNATURE');
  });

  test('protected header swapped from a request to another URI', async () => {
    const a = signedTransfer(RSA, 'payerfsp');
    const other = (await import('../../../src/jws/sign.js')).signRequest({ method: 'POST', url: '/quotes', headers: a.headers, json: { x: 1 } }, RSA);
    const ph = (JSON.parse(other.headers['fspiop-signature']) as { protectedHeader: string }).protectedHeader;
    await rejects(verifyRequest(withSig(a, ph, sigParts(a).signature), keys, POLICY), 'GW_JWS_HEADER_MISMATCH');
  });

  test('alg none', async () => {
    const a = signedTransfer(RSA, 'payerfsp');
    const ph = b64(
      JSON.stringify({
        alg: 'none',
        'FSPIOP-URI': '/transfers',
        'FSPIOP-HTTP-Method': 'POST',
        'FSPIOP-Source': 'payerfsp',
        'FSPIOP-Destination': 'payeefsp',
        Date: a.headers.date,
      }),
    );
    await rejects(
      verifyRequest(withHeaders(a, { 'fspiop-signature': JSON.stringify({ protectedHeader: ph, signature: 'AA' }) }), keys, POLICY),
      'GW_JWS_ALG_NOT_ALLOWED',
    );
  });

  test('HS256 with the RSA public key as the HMAC secret', async () => {
    const a = signedTransfer(RSA, 'payerfsp');
    const ph = b64(
      JSON.stringify({
        alg: 'HS256',
        'FSPIOP-URI': '/transfers',
        'FSPIOP-HTTP-Method': 'POST',
        'FSPIOP-Source': 'payerfsp',
        'FSPIOP-Destination': 'payeefsp',
        Date: a.headers.date,
      }),
    );
    const mac = createHmac('sha256', KEYS.payerfspPublicKeyPem!)
      .update(`${ph}.${a.body.toString('base64url')}`)
      .digest('base64url');
    await rejects(verifyRequest(withSig(a, ph, mac), keys, POLICY), 'GW_JWS_ALG_NOT_ALLOWED');
  });

  test('RS512 when not allowed (and accepted when JWS_ALGORITHMS lists it)', async () => {
    const r = signedTransfer({ key: PRIVATE_KEYS.payerfsp!, alg: ALGORITHMS.RS512 }, 'payerfsp');
    await rejects(verifyRequest(r, keys, POLICY), 'GW_JWS_ALG_NOT_ALLOWED');
    assert.equal((await verifyRequest(r, keys, { ...POLICY, algorithms: new Set(['RS512']) })).alg, 'RS512');
  });

  test('ES256 signature in DER instead of raw r||s', async () => {
    const r = signedTransfer(EC, 'ecfsp');
    assert.equal((await verifyRequest(r, keys, POLICY)).alg, 'ES256');
    const { protectedHeader } = sigParts(r);
    const der = cryptoSign('sha256', Buffer.from(`${protectedHeader}.${r.body.toString('base64url')}`), PRIVATE_KEYS.ecfsp!).toString('base64url');
    await rejects(verifyRequest(withSig(r, protectedHeader, der), keys, POLICY), 'GW_JWS_BAD_SIGNATURE');
  });

  test('1024-bit RSA key in the directory', async () => {
    await rejects(verifyRequest(signedTransfer(weak.signing, 'weakfsp'), keys, POLICY), 'GW_JWS_KEY_REJECTED');
  });

  test('signature header not JSON', async () => {
    await rejects(verifyRequest(withHeaders(signedTransfer(RSA, 'payerfsp'), { 'fspiop-signature': 'abc' }), keys, POLICY), 'GW_JWS_MALFORMED', ['abc']);
  });

  test('signature header members not base64url (standard alphabet, padding)', async () => {
    const r = signedTransfer(RSA, 'payerfsp');
    const { protectedHeader, signature } = sigParts(r);
    await rejects(verifyRequest(withSig(r, protectedHeader, `${signature}==`), keys, POLICY), 'GW_JWS_MALFORMED');
    await rejects(verifyRequest(withSig(r, protectedHeader.replace(/./, '+'), signature), keys, POLICY), 'GW_JWS_MALFORMED');
    await rejects(verifyRequest(withSig(r, protectedHeader, `${signature.slice(0, 10)}/${signature.slice(11)}`), keys, POLICY), 'GW_JWS_MALFORMED');
  });

  test('signature header of 100 kB is refused before JSON parsing', async () => {
    const huge = JSON.stringify({ protectedHeader: 'A'.repeat(100_000), signature: 'AA' });
    const parse = JSON.parse;
    let parsed = 0;
    JSON.parse = ((...a: Parameters<typeof parse>) => {
      parsed++;
      return parse(...a);
    }) as typeof JSON.parse;
    try {
      assert.throws(
        () => parseSignatureHeader(huge),
        (e: unknown) => e instanceof GatewayError && e.code === 'GW_JWS_MALFORMED',
      );
    } finally {
      JSON.parse = parse;
    }
    assert.equal(parsed, 0);
    await rejects(verifyRequest(withHeaders(signedTransfer(RSA, 'payerfsp'), { 'fspiop-signature': huge }), keys, POLICY), 'GW_JWS_MALFORMED');
  });

  test('signature header with extra members', async () => {
    const r = signedTransfer(RSA, 'payerfsp');
    const extra = JSON.stringify({ ...sigParts(r), kid: 'x' });
    await rejects(verifyRequest(withHeaders(r, { 'fspiop-signature': extra }), keys, POLICY), 'GW_JWS_MALFORMED');
  });

  test('signature header repeating a member (first-wins parsers would read another protectedHeader)', async () => {
    const r = signedTransfer(RSA, 'payerfsp');
    const { protectedHeader, signature } = sigParts(r);
    const twice = `{"protectedHeader":"${b64('{"alg":"none"}')}","protectedHeader":"${protectedHeader}","signature":"${signature}"}`;
    await rejects(verifyRequest(withHeaders(r, { 'fspiop-signature': twice }), keys, POLICY), 'GW_JWS_MALFORMED');
    assert.throws(() => parseSignatureHeader(twice), /repeats a member/);
  });

  test('an FSPIOP-Encryption HTTP header the signature does not protect (Encryption v1.1 §3: protected when present)', async () => {
    const r = signedTransfer(RSA, 'payerfsp');
    await rejects(verifyRequest(withHeaders(r, { 'fspiop-encryption': '{"encryptedFields":[]}' }), keys, POLICY), 'GW_JWS_HEADER_MISMATCH');
    // Empty counts as absent, as for FSPIOP-Destination.
    await verifyRequest(withHeaders(r, { 'fspiop-encryption': '' }), keys, POLICY);
    // This gateway's own signer protects it when present, so what it signs passes.
    const e = signedTransfer(RSA, 'payerfsp', undefined, { 'fspiop-encryption': '{"encryptedFields":[]}' });
    const ph = JSON.parse(Buffer.from(sigParts(e).protectedHeader, 'base64url').toString()) as Record<string, string>;
    assert.equal(ph['FSPIOP-Encryption'], '{"encryptedFields":[]}');
    await verifyRequest(e, keys, POLICY);
  });

  test('protected header with an extra member the gateway cannot check', async () => {
    const r = signedTransfer(RSA, 'payerfsp');
    const ph = b64(
      JSON.stringify({
        alg: 'RS256',
        'FSPIOP-URI': '/transfers',
        'FSPIOP-HTTP-Method': 'POST',
        'FSPIOP-Source': 'payerfsp',
        'FSPIOP-Destination': 'payeefsp',
        Date: r.headers.date,
        'X-Other': '1',
      }),
    );
    const sig = createSign('sha256')
      .update(`${ph}.${r.body.toString('base64url')}`)
      .sign(PRIVATE_KEYS.payerfsp!)
      .toString('base64url');
    await rejects(verifyRequest(withSig(r, ph, sig), keys, POLICY), 'GW_JWS_HEADER_MISMATCH');
  });

  test('FSPIOP-URI in the headers not matching the real request path', async () => {
    const r = signedTransfer(RSA, 'payerfsp');
    await rejects(verifyRequest({ ...r, path: '/transfers/abc' }, keys, POLICY), 'GW_JWS_HEADER_MISMATCH', ['/transfers/abc']);
  });

  test('FSPIOP-HTTP-Method not matching the real request method', async () => {
    const r = signedTransfer(RSA, 'payerfsp');
    await rejects(verifyRequest({ ...r, method: 'PUT' }, keys, POLICY), 'GW_JWS_HEADER_MISMATCH');
  });

  test('a base path before the resource is accepted (FSPIOP-URI starts at the resource)', async () => {
    const r = signedTransfer(RSA, 'payerfsp');
    assert.equal((await verifyRequest({ ...r, path: '/switch/transfers' }, keys, POLICY)).form, 'raw');
  });

  test('Date outside the window', () => {
    const now = Date.parse('Mon, 01 Jan 2029 10:00:00 GMT');
    checkDateWindow('Mon, 01 Jan 2029 10:05:00 GMT', now, 300);
    assert.throws(
      () => checkDateWindow('Mon, 01 Jan 2029 10:05:01 GMT', now, 300),
      (e: unknown) => e instanceof GatewayError && e.code === 'GW_CLOCK_SKEW',
    );
    assert.throws(
      () => checkDateWindow('Mon, 01 Jan 2029 09:54:59 GMT', now, 300),
      (e: unknown) => e instanceof GatewayError && e.code === 'GW_CLOCK_SKEW',
    );
    assert.throws(
      () => checkDateWindow('yesterday', now, 300),
      (e: unknown) => e instanceof GatewayError && e.code === 'GW_HEADER_MALFORMED',
    );
  });

  test('unknown source', async () => {
    const k = newRsa();
    await rejects(verifyRequest(signedTransfer(k.signing, 'strangerfsp'), keys, POLICY), 'GW_JWS_KEY_UNKNOWN', ['strangerfsp']);
  });

  test('duplicate JSON keys that only verify through a canonical form', async () => {
    const r = signedTransfer(RSA, 'payerfsp', { a: 1, b: 2 });
    assert.equal(r.body.toString(), '{"a":1,"b":2}');
    await rejects(verifyRequest({ ...r, body: Buffer.from('{"a":9,"a":1,"b":2}') }, keys, POLICY), 'GW_JWS_DUPLICATE_KEYS');
    await rejects(verifyRequest({ ...r, body: Buffer.from('{"b":2,"a":1,"a":1}') }, keys, POLICY), 'GW_JWS_DUPLICATE_KEYS');
    assert.equal((await verifyRequest({ ...r, body: Buffer.from('{"b":2,"a":1}') }, keys, POLICY)).form, 'sorted');
    assert.equal(hasDuplicateKeys('{"x":[{"a":1},{"a":2}],"s":"\\"a\\"","a":{"a":1}}'), false);
    assert.equal(hasDuplicateKeys('{"x":{"a\\u0062":1,"ab":2}}'), true);
  });

  test('fallback forms off: a re-serialised body no longer verifies', async () => {
    const r = signedTransfer(RSA, 'payerfsp', { a: 1, b: 2 });
    await rejects(verifyRequest({ ...r, body: Buffer.from('{"b":2,"a":1}') }, keys, { ...POLICY, forms: ['raw'] }), 'GW_JWS_BAD_SIGNATURE');
  });

  test('missing signature and missing FSPIOP-URI', async () => {
    const r = signedTransfer(RSA, 'payerfsp');
    await rejects(verifyRequest(withHeaders(r, { 'fspiop-signature': undefined }), keys, POLICY), 'GW_JWS_MISSING');
    await rejects(verifyRequest(withHeaders(r, { 'fspiop-uri': undefined }), keys, POLICY), 'GW_JWS_MISSING');
  });
});

describe('replay protection', () => {
  // The same guard over real Redis: test/integration/jws/replay.test.ts.
  test('a replayed signature is rejected (memory store)', async () => {
    const guard = createReplayGuard(createMemoryStore({ maxEntries: 1000 }), 300);
    const { signature } = sigParts(signedTransfer(RSA, 'payerfsp'));
    await guard.check(signature);
    await rejects(guard.check(signature), 'GW_JWS_REPLAY');
    await guard.check(sigParts(signedTransfer(RSA, 'payerfsp', { other: 1 })).signature);
  });

  test('re-encodings of the same signature share one replay key', () => {
    const rsa = sigParts(signedTransfer(RSA, 'payerfsp')).signature;
    // 256 bytes → 342 chars: the last character carries 2 unused bits
    const last = rsa.charCodeAt(rsa.length - 1);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const idx = alphabet.indexOf(String.fromCharCode(last));
    const variant = rsa.slice(0, -1) + alphabet[idx ^ 1]!;
    assert.notEqual(variant, rsa);
    assert.equal(signatureFingerprint(variant), signatureFingerprint(rsa));
    // ES256 (r, n - s) also verifies: same key
    const es = Buffer.from(sigParts(signedTransfer(EC, 'ecfsp')).signature, 'base64url');
    const n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
    const s = BigInt(`0x${es.subarray(32).toString('hex')}`);
    const flipped = Buffer.concat([es.subarray(0, 32), Buffer.from((n - s).toString(16).padStart(64, '0'), 'hex')]);
    assert.equal(signatureFingerprint(flipped.toString('base64url')), signatureFingerprint(es.toString('base64url')));
  });

  test('a failing store fails closed with GW_STORE_UNAVAILABLE', async () => {
    const broken: Store = { ...createMemoryStore({ maxEntries: 1000 }), save: () => Promise.reject(new Error('ECONNREFUSED')) };
    await rejects(createReplayGuard(broken, 300).check('AAAA'), 'GW_STORE_UNAVAILABLE');
  });
});

describe('payload forms', () => {
  test('an insertion-order signature over a body re-formatted on the wire verifies through "insertion"', async () => {
    // SDK ≤ 19.18.8 semantics: signed JSON.stringify(body) in insertion order; an intermediary then pretty-prints it.
    const r = signedTransfer(RSA, 'payerfsp', { b: 1, a: 2 });
    const { protectedHeader } = sigParts(r);
    const insertion = '{"b":1,"a":2}';
    const sig = createSign('sha256')
      .update(`${protectedHeader}.${Buffer.from(insertion).toString('base64url')}`)
      .sign(PRIVATE_KEYS.payerfsp!)
      .toString('base64url');
    const wire = Buffer.from('{\n  "b": 1,\n  "a": 2\n}');
    const req = { ...withSig(r, protectedHeader, sig), body: wire };
    assert.equal((await verifyRequest(req, keys, POLICY)).form, 'insertion');
    await rejects(verifyRequest(req, keys, { ...POLICY, forms: ['raw', 'sorted'] }), 'GW_JWS_BAD_SIGNATURE');
    await rejects(verifyRequest({ ...req, body: Buffer.from('{"b":1,"a":2,"b":1}') }, keys, POLICY), 'GW_JWS_DUPLICATE_KEYS');
  });
});
