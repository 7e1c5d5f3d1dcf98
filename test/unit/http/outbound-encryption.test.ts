// Outbound signing protects FSPIOP-Encryption when the local side sends it (Encryption v1.1 §3): the header is
// forwarded, so outside the signature anyone on the path could change it, and a receiving switchguard refuses it
// unprotected with 3105 (src/jws/protected-header.ts). Hostile review of 2026-12-02: it was left out.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { headerGetter, verifyRequest } from '../../../src/jws/verify.js';
import { makeApp } from '../../helpers/app.js';
import { KEYS, PUBLIC_KEYS, staticKeys } from '../../helpers/jws.js';
import { makeTestPki } from '../../helpers/pki.js';

const media = 'application/vnd.interoperability.quotes+json;version=1.1';
const body = '{"quoteId":"q1","amount":{"currency":"USD","amount":"1"}}';

test('outbound: FSPIOP-Encryption sent by the local side is signed in the protected header, and a switchguard peer verifies it', async () => {
  const pki = makeTestPki();
  const a = await makeApp({
    listener: 'outbound',
    env: { DFSP_ID: 'payeefsp', GATEWAY_ROLE: 'dfsp', JWS_SIGN: 'true', JWS_SIGNING_KEY_PATH: pki.write('sign.key', KEYS.payeefspPrivateKeyPem!) },
  });
  try {
    const headers = {
      accept: media,
      'content-type': media,
      date: new Date().toUTCString(),
      'fspiop-source': 'payeefsp',
      'fspiop-destination': 'payerfsp',
      'fspiop-encryption': '{"encryptedFields":[]}',
    };
    const r = await a.request('POST', '/quotes', { headers, body, fspiopDefaults: false });
    assert.equal(r.status, 202, await r.text());
    const sent = a.upstream.requests[0]!;
    assert.equal(sent.headers['fspiop-encryption'], headers['fspiop-encryption'], 'the header is forwarded');
    const ph = JSON.parse(Buffer.from(JSON.parse(sent.headers['fspiop-signature'] as string).protectedHeader, 'base64url').toString());
    assert.equal(ph['FSPIOP-Encryption'], headers['fspiop-encryption'], 'protected as sent');
    // The receiving side (a switchguard inbound listener) verifies what was sent:
    const h = Object.fromEntries(Object.entries(sent.headers).map(([k, v]) => [k, String(v)]));
    await assert.doesNotReject(
      verifyRequest({ method: 'POST', path: '/quotes', header: headerGetter(h), body: sent.body }, staticKeys({ payeefsp: [PUBLIC_KEYS.payeefsp!] }), {
        algorithms: new Set(['RS256']),
        forms: ['raw'],
        requireDate: true,
      }),
      `a switchguard peer refuses what this gateway signed and sent (protected header: ${JSON.stringify(ph)})`,
    );
  } finally {
    await a.close();
    pki.cleanup();
  }
});
