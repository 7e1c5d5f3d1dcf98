// The outbound listener adds a Date when the local side sent none (IMF-fixdate of now): it is what the signer
// protects and what is forwarded. A Date that is sent is kept, a malformed one is refused, and inbound a
// missing Date is still 3102.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseHttpDate } from '../../../src/fspiop/headers.js';
import { headerGetter, verifyRequest } from '../../../src/jws/verify.js';
import { makeApp } from '../../helpers/app.js';
import { KEYS, PUBLIC_KEYS, staticKeys } from '../../helpers/jws.js';
import { makeTestPki } from '../../helpers/pki.js';

const IMF_FIXDATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const media = 'application/vnd.interoperability.quotes+json;version=1.1';
const body = '{"quoteId":"q1","amount":{"currency":"USD","amount":"1"}}';
const noDate = { accept: media, 'content-type': media, 'fspiop-source': 'payeefsp', 'fspiop-destination': 'payerfsp' };
const errorCode = async (r: Response) => ((await r.json()) as { errorInformation: { errorCode: string } }).errorInformation.errorCode;

test('outbound, no Date: one is added before signing, signed in the protected header and forwarded', async () => {
  const pki = makeTestPki();
  const a = await makeApp({
    listener: 'outbound',
    env: { DFSP_ID: 'payeefsp', GATEWAY_ROLE: 'dfsp', JWS_SIGN: 'true', JWS_SIGNING_KEY_PATH: pki.write('sign.key', KEYS.payeefspPrivateKeyPem!) },
  });
  try {
    const t0 = Date.now();
    const r = await a.request('POST', '/quotes', { headers: noDate, body, fspiopDefaults: false });
    assert.equal(r.status, 202, await r.text());
    const sent = a.upstream.requests[0]!;
    const date = sent.headers.date as string;
    assert.match(date, IMF_FIXDATE);
    const at = parseHttpDate(date)!;
    assert.ok(at >= Math.floor(t0 / 1000) * 1000 && at <= Date.now(), 'the added Date is now');
    const signature = JSON.parse(sent.headers['fspiop-signature'] as string) as { protectedHeader: string };
    assert.equal(JSON.parse(Buffer.from(signature.protectedHeader, 'base64url').toString()).Date, date, 'the signer protected the added Date');
    // What was forwarded verifies with a signed Date required (as a receiving gateway checks it).
    const headers = Object.fromEntries(Object.entries(sent.headers).map(([k, v]) => [k, String(v)]));
    const verified = await verifyRequest(
      { method: 'POST', path: '/quotes', header: headerGetter(headers), body: sent.body },
      staticKeys({ payeefsp: [PUBLIC_KEYS.payeefsp!] }),
      { algorithms: new Set(['RS256']), forms: ['raw'], requireDate: true },
    );
    assert.equal(verified.form, 'raw');
  } finally {
    await a.close();
    pki.cleanup();
  }
});

test('outbound: a Date that is sent is kept as it is; a malformed one is still refused (3101)', async () => {
  const a = await makeApp({ listener: 'outbound' });
  try {
    const date = new Date(Date.now() - 5000).toUTCString();
    const r = await a.request('PUT', '/quotes/q1', { headers: { ...noDate, date }, body, fspiopDefaults: false });
    assert.equal(r.status, 202, await r.text());
    assert.equal(a.upstream.requests[0]!.headers.date, date);
    const bad = await a.request('PUT', '/quotes/q1', { headers: { ...noDate, date: '2024-01-01T00:00:00Z' }, body, fspiopDefaults: false });
    assert.equal(bad.status, 400);
    assert.equal(await errorCode(bad), '3101');
    // GET without a Date: added too (no body, nothing signed).
    const get = await a.request('GET', '/parties/MSISDN/1', {
      headers: { accept: 'application/vnd.interoperability.parties+json;version=1.1', 'fspiop-source': 'payeefsp', 'fspiop-destination': 'payerfsp' },
      fspiopDefaults: false,
    });
    assert.equal(get.status, 202, await get.text());
    assert.match(a.upstream.requests.at(-1)!.headers.date as string, IMF_FIXDATE);
    assert.equal(a.upstream.requests.length, 2);
  } finally {
    await a.close();
  }
});

test('inbound still requires a Date from the peer (3102), nothing forwarded', async () => {
  const pki = makeTestPki();
  const a = await makeApp({
    env: {
      INBOUND_UPSTREAM_URL: 'http://upstream.test',
      IN_CA_CERT_PATH: pki.caPath,
      IN_SERVER_CERT_PATH: pki.serverCertPath,
      IN_SERVER_KEY_PATH: pki.serverKeyPath,
    },
  });
  try {
    const headers = { ...noDate, 'fspiop-source': 'payerfsp', 'fspiop-destination': 'payeefsp' };
    const r = await a.request('POST', '/quotes', { headers, body, fspiopDefaults: false, peerCertPem: pki.client('payerfsp').certPem });
    assert.equal(r.status, 400);
    assert.equal(await errorCode(r), '3102');
    assert.equal(a.upstream.requests.length, 0);
  } finally {
    await a.close();
    pki.cleanup();
  }
});
