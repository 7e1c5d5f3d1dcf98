// The pipelines in-process (test/helpers/app.ts): the same stages as behind a socket, driven by app.request.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeApp } from '../../helpers/app.js';
import { fspiopHeaders } from '../../helpers/gateway.js';
import { makeTestPki } from '../../helpers/pki.js';

test('inbound: a request is routed, checked, bound to its certificate and forwarded byte for byte to the upstream', async () => {
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
    const body = '{"quoteId":"q1","amount":{"currency":"USD","amount":"1"}}';
    const r = await a.request('POST', '/quotes', { headers: fspiopHeaders('quotes', 'payerfsp'), body, peerCertPem: pki.client('payerfsp').certPem });
    assert.equal(r.status, 202, await r.text());
    assert.equal(a.upstream.requests.length, 1);
    assert.equal(a.upstream.requests[0]!.path, '/quotes');
    assert.equal(a.upstream.requests[0]!.body.toString(), body);
    assert.equal(a.upstream.requests[0]!.headers['x-client-id'], 'payerfsp');
    const wrong = await a.request('POST', '/quotes', { headers: fspiopHeaders('quotes', 'otherfsp'), body, peerCertPem: pki.client('payerfsp').certPem });
    assert.equal(wrong.status, 400);
    assert.equal(((await wrong.json()) as { errorInformation: { errorCode: string } }).errorInformation.errorCode, '3100');
    const noCert = await a.request('POST', '/quotes', { headers: fspiopHeaders('quotes', 'payerfsp'), body });
    assert.equal(noCert.status, 400);
    const dots = await a.request('GET', '/parties/../transfers/x', {
      headers: fspiopHeaders('parties', 'payerfsp'),
      peerCertPem: pki.client('payerfsp').certPem,
    });
    assert.equal(dots.status, 400, 'the raw request target reaches the router, not the URL the Request normalised');
    assert.equal(a.upstream.requests.length, 1);
  } finally {
    await a.close();
    pki.cleanup();
  }
});
