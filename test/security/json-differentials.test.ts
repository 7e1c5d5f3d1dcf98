// Beyond docs/security.md's classes: JSON read two ways. Over real sockets: a body with duplicate
// member names is refused on both listeners (parsers disagree on which one wins); a signature that only
// verifies through a re-serialised form is refused when the wire spells a number otherwise than the
// signed text (1E2 for 100, lost precision, overflow to Infinity, -0); the outbound signer refuses
// bodies it could only sign by changing them (non-objects, non-canonical numbers).
import assert from 'node:assert/strict';
import { sign as cryptoSign } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { hasNonCanonicalNumber } from '../../src/fspiop/json-numbers.js';
import { formatSignatureHeader } from '../../src/jws/signature-header.js';
import { fspiopHeaders, type Stub, send, startStub, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { KEYS, PRIVATE_KEYS } from '../helpers/jws.js';
import { makeTestPki, type TestPki } from '../helpers/pki.js';

let pki: TestPki;
let verifier: TestGateway; // inbound JWS verification with every payload form
let signer: TestGateway; // outbound signing as 'hub'
let peer: Stub;
before(async () => {
  pki = makeTestPki();
  const keys = join(pki.dir, 'jws');
  mkdirSync(keys);
  writeFileSync(join(keys, 'payerfsp.pem'), KEYS.payerfspPublicKeyPem!);
  verifier = await startTestGateway({
    pki,
    env: { VALIDATE_INBOUND_JWS: 'true', JWS_VERIFICATION_KEYS_DIRECTORY: keys, JWS_PAYLOAD_FORMS: 'raw,sorted,insertion' },
  });
  peer = await startStub();
  signer = await startTestGateway({
    pki,
    env: { JWS_SIGN: 'true', JWS_SIGNING_KEY_PATH: pki.write('sign.key', KEYS.payeefspPrivateKeyPem!), PEER_ENDPOINT: peer.url },
  });
});
after(async () => {
  await verifier.close();
  await signer.close();
  await peer.close();
  pki.cleanup();
});

/** Signs `signedText` (what the signer meant) and sends `wire` (what a relay turned it into). */
function relayed(signedText: string, wire: string) {
  const headers = fspiopHeaders('quotes', 'payerfsp', { 'fspiop-destination': 'payeefsp' });
  const ph = Buffer.from(
    JSON.stringify({
      alg: 'RS256',
      'FSPIOP-URI': '/quotes',
      'FSPIOP-HTTP-Method': 'POST',
      'FSPIOP-Source': 'payerfsp',
      'FSPIOP-Destination': 'payeefsp',
      Date: headers.date,
    }),
  ).toString('base64url');
  const sig = cryptoSign('sha256', Buffer.from(`${ph}.${Buffer.from(signedText).toString('base64url')}`), PRIVATE_KEYS.payerfsp!).toString('base64url');
  return send(verifier.gw.inbound.port, {
    method: 'POST',
    path: '/quotes',
    body: wire,
    cert: verifier.cert('payerfsp'),
    ca: pki.ca.certPem,
    headers: {
      ...headers,
      'fspiop-signature': formatSignatureHeader({ protectedHeader: ph, signature: sig }),
      'fspiop-uri': '/quotes',
      'fspiop-http-method': 'POST',
    },
  });
}

describe('inbound', () => {
  test('the control: wire bytes re-serialised by a relay (other member order, whitespace) still verify through the sorted form', async () => {
    const r = await relayed('{"amount":"1","n":100,"quoteId":"q0"}', '{ "quoteId": "q0", "n": 100, "amount": "1" }');
    assert.equal(r.status, 202, r.body.toString());
  });

  for (const [name, signedText, wire] of [
    ['exponent spelling', '{"n":100,"quoteId":"q1"}', '{"quoteId":"q1","n":1E2}'],
    ['precision lost in the parse', '{"n":12345678901234567000,"quoteId":"q2"}', '{"quoteId":"q2","n":12345678901234567890}'],
    ['excess digits', '{"n":0.1,"quoteId":"q3"}', '{"quoteId":"q3","n":0.1000000000000000055511151231257827}'],
    ['overflow to Infinity, signed as null', '{"quoteId":"q4","x":null}', '{"x":1e400,"quoteId":"q4"}'],
    ['-0', '{"n":0,"quoteId":"q5"}', '{"quoteId":"q5","n":-0}'],
  ] as const) {
    test(`a number spelled otherwise than signed (${name}) → 3105, nothing forwarded`, async () => {
      const n = verifier.stub.requests.length;
      const r = await relayed(signedText, wire);
      assert.equal(r.status, 400, r.body.toString());
      assert.equal(r.json().errorInformation.errorCode, '3105');
      assert.equal(verifier.stub.requests.length, n);
    });
  }

  test('duplicate member names → 3101 before any signature check, nothing forwarded (also escaped spellings)', async () => {
    const n = verifier.stub.requests.length;
    for (const body of ['{"quoteId":"a","quoteId":"b"}', '{"quoteId":"a","\\u0071uoteId":"b"}', '{"x":{"k":1,"k":2},"quoteId":"c"}']) {
      const r = await relayed(body, body);
      assert.equal(r.status, 400, body);
      assert.equal(r.json().errorInformation.errorCode, '3101', body);
    }
    assert.equal(verifier.stub.requests.length, n);
  });
});

describe('outbound signing refuses what it could only sign by changing it', () => {
  const out = (body: string) =>
    send(signer.gw.outbound.port, {
      tls: false,
      method: 'POST',
      path: '/quotes',
      body,
      ca: pki.ca.certPem,
      headers: fspiopHeaders('quotes', 'hub', { 'fspiop-destination': 'payeefsp' }),
    });
  for (const body of [
    'null',
    '"s"',
    '1',
    '[]',
    '[{"quoteId":"q"}]',
    '{"quoteId":"q","n":12345678901234567890}',
    '{"quoteId":"q","n":1E2}',
    '{"quoteId":"q","amount":{"amount":"1"},"amount":{"amount":"1000"}}',
  ]) {
    test(`${body} → 400/3101, nothing sent`, async () => {
      const n = peer.requests.length;
      const r = await out(body);
      assert.equal(r.status, 400, r.body.toString());
      assert.equal(r.json().errorInformation.errorCode, '3101');
      assert.equal(peer.requests.length, n);
    });
  }
  test('a canonical object is signed and sent', async () => {
    const r = await out('{"quoteId":"q","n":100,"f":0.5,"e":1e+21}');
    assert.equal(r.status, 202, r.body.toString());
    assert.ok(peer.requests.at(-1)!.headers['fspiop-signature']);
  });
});

test('property: hasNonCanonicalNumber is false exactly for JSON.stringify output of finite numbers', () => {
  fc.assert(
    fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
      assert.equal(hasNonCanonicalNumber(JSON.stringify({ x, y: [x, { z: x }] })), false);
    }),
    { numRuns: 2000 },
  );
  for (const lit of ['1.0', '01', '1e2', '1E+2', '100.00', '-0', '1e400', '9007199254740993']) assert.equal(hasNonCanonicalNumber(`[${lit}]`), true, lit);
  assert.equal(hasNonCanonicalNumber('{"s":"1.0 and 1e2 inside a string \\" 1.0"}'), false);
});
