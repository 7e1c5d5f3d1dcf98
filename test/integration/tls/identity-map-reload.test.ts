// PEER_IDENTITY_MAP edited under a running gateway: connections opened before the edit are bound again on their
// next request, so a certificate unmapped (or mapped elsewhere) stops speaking for its old FSP at once, not when
// its keep-alive connection closes (src/tls/peer.ts; hostile review of 2026-11-30).
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fspiopHeaders, keepAliveAgent, send, startTestGateway } from '../../helpers/gateway.js';
import { makeTestPki } from '../../helpers/pki.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pki = makeTestPki();
after(() => pki.cleanup());

test('an edited identity map applies to open connections on their next request', async () => {
  const cert = pki.client('bank-a');
  const fingerprint = new X509Certificate(cert.certPem).fingerprint256;
  const mapPath = join(pki.dir, 'identities.json');
  writeFileSync(mapPath, JSON.stringify({ [fingerprint]: 'dfsp1' }));
  const t = await startTestGateway({ pki, env: { PEER_IDENTITY_FROM: 'map', PEER_IDENTITY_MAP: mapPath, HTTP_KEEPALIVE_TIMEOUT_MS: '10000' } });
  const agent = keepAliveAgent(cert, pki.ca.certPem);
  const call = (source: string) =>
    send(t.gw.inbound.port, { path: '/parties/MSISDN/1', headers: fspiopHeaders('parties', source), ca: pki.ca.certPem, agent }).then((r) => ({
      status: r.status,
      code: r.status >= 400 ? String(JSON.parse(r.body.toString()).errorInformation?.errorCode) : '',
    }));
  try {
    assert.deepEqual(await call('dfsp1'), { status: 202, code: '' });
    writeFileSync(mapPath, JSON.stringify({ [fingerprint]: 'dfsp2' }));
    await sleep(1000);
    const forwarded = t.stub.requests.length;
    // Same connection (one socket, kept alive): the certificate now speaks for dfsp2 only.
    assert.deepEqual(await call('dfsp1'), { status: 400, code: '3100' });
    assert.equal(t.stub.requests.length, forwarded);
    assert.deepEqual(await call('dfsp2'), { status: 202, code: '' });
    assert.equal(Object.values(agent.freeSockets).flat().length, 1, 'still the one connection');
  } finally {
    agent.destroy();
    await t.close();
  }
});
