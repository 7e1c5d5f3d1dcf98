// FSPIOP-Proxy names the inter-scheme proxy a message came through, and the switch acts on it (account-lookup-
// service docs/Proxy): only a relay the operator lists (TRUSTED_PROXY_PEERS, the hub in the DFSP role) may send
// it; from any other peer → 3101, nothing forwarded (review of 2026-12-01). Real mTLS on port 0.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fspiopHeaders, send, startTestGateway, type TestGateway } from '../helpers/gateway.js';

let t: TestGateway;
before(async () => {
  t = await startTestGateway({ env: { GATEWAY_ROLE: 'dfsp', DFSP_ID: 'payeefsp', HUB_ID: 'hub', TRUSTED_PROXY_PEERS: 'proxyfsp' } });
});
after(() => t.close());

const put = (cert: string, extra: Record<string, string>) =>
  send(t.gw.inbound.port, {
    method: 'PUT',
    path: '/quotes/q1',
    body: '{"quoteId":"q1"}',
    headers: fspiopHeaders('quotes', cert, extra),
    cert: t.cert(cert),
    ca: t.pki.ca.certPem,
  });

test('FSPIOP-Proxy from a peer that is no trusted relay → 3101, nothing forwarded', async () => {
  const n = t.stub.requests.length;
  for (const value of ['proxyfsp', '']) {
    const r = await put('payerfsp', { 'fspiop-proxy': value });
    assert.equal(r.status, 400, r.body.toString());
    assert.equal(r.json().errorInformation.errorCode, '3101');
  }
  assert.equal(t.stub.requests.length, n);
  assert.equal((await put('payerfsp', {})).status, 202, 'the same message without it is served');
});

test('FSPIOP-Proxy from a listed relay or the hub is forwarded as sent', async () => {
  for (const peer of ['proxyfsp', 'hub']) {
    const r = await put(peer, { 'fspiop-proxy': 'proxyfsp' });
    assert.equal(r.status, 202, r.body.toString());
    assert.equal(t.stub.requests.at(-1)?.headers['fspiop-proxy'], 'proxyfsp');
  }
});
