// Second hostile review: the unsigned-hub allowance (JWS_ALLOW_UNSIGNED_HUB_CALLBACKS) belongs to the hub's
// certificate, not to whoever writes FSPIOP-Source: hub. A relay allowed to speak for others
// (TRUSTED_PROXY_PEERS) cannot skip signing by claiming to be the hub. Real mTLS on port 0.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fspiopHeaders, send, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { KEYS } from '../helpers/jws.js';
import { makeTestPki, type TestPki } from '../helpers/pki.js';

let pki: TestPki;
let t: TestGateway;
before(async () => {
  pki = makeTestPki();
  const keys = join(pki.dir, 'jws');
  mkdirSync(keys);
  writeFileSync(join(keys, 'payerfsp.pem'), KEYS.payerfspPublicKeyPem!);
  t = await startTestGateway({
    pki,
    env: {
      GATEWAY_ROLE: 'dfsp',
      DFSP_ID: 'payeefsp',
      HUB_ID: 'hub',
      VALIDATE_INBOUND_JWS: 'true',
      JWS_VERIFICATION_KEYS_DIRECTORY: keys,
      JWS_ALLOW_UNSIGNED_HUB_CALLBACKS: 'true',
      TRUSTED_PROXY_PEERS: 'proxyfsp',
    },
  });
});
after(async () => {
  await t.close();
  pki.cleanup();
});

const put = (cert: string, source: string) =>
  send(t.gw.inbound.port, {
    method: 'PUT',
    path: '/quotes/q1',
    body: '{"quoteId":"q1"}',
    headers: fspiopHeaders('quotes', source),
    cert: t.cert(cert),
    ca: pki.ca.certPem,
  });

test('a relay claiming to be the hub gets no unsigned allowance: 3105, nothing forwarded', async () => {
  const n = t.stub.requests.length;
  const r = await put('proxyfsp', 'hub');
  assert.equal(r.status, 400, r.body.toString());
  assert.equal(r.json().errorInformation.errorCode, '3105');
  assert.equal(t.stub.requests.length, n);
});

test("the hub's own certificate may send its unsigned callback", async () => {
  const r = await put('hub', 'hub');
  assert.equal(r.status, 202, r.body.toString());
});
