// A client chain that expires while in use: the handshake checked its validity, but a keep-alive connection, or a TLS
// session resumed from a ticket (OpenSSL does not check validity again on resumption), outlives it. Every request
// checks the leaf and the CA certificates it came with (src/http/stages.ts bindPeer, src/tls/material.ts
// chainNotAfter): 400/3100 GW_PEER_CERT_EXPIRED with Connection: close, nothing forwarded. Hostile reviews of
// 2026-12-02: an expired leaf, then an expired intermediate, was served (202) for as long as the client kept them.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import forge from 'node-forge';
import { createCa, type Issued, issueCert } from '../../src/pki/forge-pki.js';
import { keepAliveAgent, partiesStatus, startTestGateway, type TestGateway, tlsGet } from '../helpers/gateway.js';

let t: TestGateway;
before(async () => {
  t = await startTestGateway({ env: { HTTP_KEEPALIVE_TIMEOUT_MS: '5000' } });
});
after(async () => {
  await t?.close();
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const soon = () => new Date(Math.ceil(Date.now() / 1000) * 1000 + 4000);
const anHourAgo = () => new Date(Date.now() - 3600_000);

/** `cert` (its chain expiring at `notAfter`) served while valid; after, refused on its old connection and on a resumed session. */
async function servedUntilExpiry(cert: Pick<Issued, 'certPem' | 'keyPem'>, notAfter: Date): Promise<void> {
  const agent = keepAliveAgent(cert as Issued, t.pki.ca.certPem);
  const status = (via?: typeof agent) => partiesStatus(t.gw.inbound.port, t.pki.ca.certPem, cert as Issued, 'dfspexp', via);
  const get = (session?: Buffer) => tlsGet({ port: t.gw.inbound.port, ca: t.pki.ca.certPem, ...cert, source: 'dfspexp', session });
  try {
    assert.equal(await status(agent), 202, 'valid: served');
    const valid = await get();
    assert.equal(valid.line, 'HTTP/1.1 202 Accepted');
    assert.ok(valid.ticket);
    // Keep the connection busy until well past notAfter (one request every second).
    while (Date.now() < notAfter.getTime() + 2000) {
      await sleep(1000);
      await status(agent);
    }
    assert.equal(await status(), 0, 'control: a new full handshake is refused');
    const before = t.stub.requests.length;
    const resumed = await get(valid.ticket);
    assert.equal(resumed.reused, true, 'the session was resumed');
    assert.equal(resumed.line, 'HTTP/1.1 400 Bad Request', 'a resumed session: refused');
    assert.match(resumed.body, /"errorCode":"3100"/);
    assert.match(resumed.body, /expired/);
    assert.match(resumed.head, /connection: close/i);
    assert.equal(await status(agent), 400, 'the keep-alive connection opened while it was valid: refused');
    // And so is every later one: on a new connection that resumes (the agent keeps the session) or not (refused at
    // the handshake).
    assert.ok([0, 400].includes(await status(agent)));
    assert.equal(t.stub.requests.length, before, 'nothing forwarded');
  } finally {
    agent.destroy();
  }
}

test('a leaf that expires while in use: refused on its keep-alive connection and on a resumed session, nothing forwarded', async () => {
  const notAfter = soon();
  await servedUntilExpiry(issueCert(t.pki.ca, { cn: 'dfspexp', usage: 'client', notBefore: anHourAgo(), notAfter }), notAfter);
});

test('an intermediate CA that expires while in use (the leaf valid for a year): refused the same way', async () => {
  const notAfter = soon();
  const inter = createCa({ cn: 'short-lived intermediate', notBefore: anHourAgo(), notAfter });
  inter.cert.setIssuer(t.pki.ca.cert.subject.attributes);
  inter.cert.sign(t.pki.ca.key, forge.md.sha256.create());
  const interPem = forge.pki.certificateToPem(inter.cert);
  const leaf = issueCert({ ...inter, certPem: interPem }, { cn: 'dfspexp', usage: 'client', notBefore: anHourAgo(), days: 365 });
  // Node 24 shows a TLS server the client's leaf alone: there the intermediate must be in IN_CA_CERT_PATH
  // (docs/security.md class 12), and the gateway (TLS_RELOAD_INTERVAL_MS 200) reloads it.
  if (Number(process.versions.node.split('.')[0]) >= 24) {
    writeFileSync(t.pki.caPath, t.pki.ca.certPem + interPem);
    await sleep(1000);
  }
  await servedUntilExpiry({ ...leaf, certPem: leaf.certPem + interPem }, notAfter);
});
