// A client certificate that expires while it is in use: the handshake checked its validity, but a keep-alive
// connection, or a TLS session resumed from a ticket (OpenSSL does not check validity again on resumption), outlives
// it. Every request is checked, the leaf and the chain it came with (src/http/stages.ts bindPeer): 400/3100 GW_PEER_CERT_EXPIRED with Connection: close,
// nothing forwarded. Hostile review of 2026-12-02: both were served (202) for as long as the client kept them.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connect, type TLSSocket } from 'node:tls';
import forge from 'node-forge';
import { createCa, issueCert } from '../../src/pki/forge-pki.js';
import { fspiopHeaders, keepAliveAgent, partiesStatus, startTestGateway, type TestGateway } from '../helpers/gateway.js';

let t: TestGateway;
before(async () => {
  t = await startTestGateway({ env: { HTTP_KEEPALIVE_TIMEOUT_MS: '5000' } });
});
after(async () => {
  await t?.close();
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One GET on a fresh TLS connection (resuming `session` when given). */
function attempt(
  cert: { certPem: string; keyPem: string },
  session?: Buffer,
): Promise<{ line: string; head: string; body: string; ticket?: Buffer; reused: boolean }> {
  return new Promise((resolve) => {
    let ticket: Buffer | undefined;
    let answer = '';
    let reused = false;
    const s: TLSSocket = connect({
      host: '127.0.0.1',
      port: t.gw.inbound.port,
      servername: 'localhost',
      ca: t.pki.ca.certPem,
      cert: cert.certPem,
      key: cert.keyPem,
      ...(session ? { session } : {}),
    });
    s.on('session', (b: Buffer) => {
      ticket = b;
    });
    const parts = () => {
      const end = answer.indexOf('\r\n\r\n');
      return end < 0 ? { head: answer, body: '' } : { head: answer.slice(0, end), body: answer.slice(end + 4) };
    };
    s.on('data', (d: Buffer) => {
      answer += d.toString();
      const { head, body } = parts();
      const length = /content-length: (\d+)/i.exec(head);
      if (length && body.length >= Number(length[1])) s.end();
    });
    s.once('error', () => {});
    s.once('close', () => resolve({ line: answer.split('\r\n')[0] || 'closed', ...parts(), ...(ticket ? { ticket } : {}), reused }));
    s.once('secureConnect', () => {
      reused = s.isSessionReused();
      const h = fspiopHeaders('parties', 'dfspexp');
      s.write(
        `GET /parties/MSISDN/1 HTTP/1.1\r\nhost: localhost\r\n${Object.entries(h)
          .map(([k, v]) => `${k}: ${v}`)
          .join('\r\n')}\r\n\r\n`,
      );
      setTimeout(() => s.destroy(), 3000);
    });
  });
}

test('a certificate that expires while in use: refused on its keep-alive connection and on a resumed session, nothing forwarded', async () => {
  const notAfter = new Date(Math.ceil(Date.now() / 1000) * 1000 + 4000);
  const cert = issueCert(t.pki.ca, { cn: 'dfspexp', usage: 'client', notBefore: new Date(Date.now() - 3600_000), notAfter });
  const agent = keepAliveAgent(cert, t.pki.ca.certPem);
  try {
    assert.equal(await partiesStatus(t.gw.inbound.port, t.pki.ca.certPem, cert, 'dfspexp', agent), 202, 'valid: served');
    const valid = await attempt(cert);
    assert.equal(valid.line, 'HTTP/1.1 202 Accepted');
    assert.ok(valid.ticket);
    // Keep the connection busy until well past notAfter (one request every second).
    while (Date.now() < notAfter.getTime() + 2000) {
      await sleep(1000);
      await partiesStatus(t.gw.inbound.port, t.pki.ca.certPem, cert, 'dfspexp', agent);
    }
    assert.equal(await attempt(cert).then((r) => r.line), 'closed', 'control: a full handshake with the expired certificate is refused');
    const before = t.stub.requests.length;
    const resumed = await attempt(cert, valid.ticket);
    const onOld = await partiesStatus(t.gw.inbound.port, t.pki.ca.certPem, cert, 'dfspexp', agent);
    const forwarded = t.stub.requests.length - before;
    assert.equal(resumed.reused, true, 'the session was resumed');
    assert.equal(resumed.line, 'HTTP/1.1 400 Bad Request', 'a resumed session of the expired certificate: refused');
    assert.match(resumed.body, /"errorCode":"3100"/);
    assert.match(resumed.body, /expired/);
    assert.match(resumed.head, /connection: close/i);
    assert.equal(onOld, 400, 'the keep-alive connection opened while it was valid: refused');
    assert.equal(forwarded, 0, 'nothing forwarded');
    // And so is every later one: on a new connection that resumes (the agent keeps the session) or not (refused at
    // the handshake).
    assert.ok([0, 400].includes(await partiesStatus(t.gw.inbound.port, t.pki.ca.certPem, cert, 'dfspexp', agent)));
    assert.equal(t.stub.requests.length, before);
  } finally {
    agent.destroy();
  }
});

// Re-review of 2026-12-02: only the leaf was checked again; the chain it came with is too (src/tls/material.ts chainNotAfter).
test('an intermediate CA that expires while in use (the leaf valid for a year): refused on its keep-alive connection and on a resumed session', async () => {
  const notAfter = new Date(Math.ceil(Date.now() / 1000) * 1000 + 4000);
  const inter = createCa({ cn: 'review short-lived intermediate', notBefore: new Date(Date.now() - 3600_000), notAfter });
  inter.cert.setIssuer(t.pki.ca.cert.subject.attributes);
  inter.cert.sign(t.pki.ca.key, forge.md.sha256.create());
  const interPem = forge.pki.certificateToPem(inter.cert);
  const leaf = issueCert({ ...inter, certPem: interPem }, { cn: 'dfspexp', usage: 'client', notBefore: new Date(Date.now() - 3600_000), days: 365 });
  const cert = { ...leaf, certPem: leaf.certPem + interPem };
  const agent = keepAliveAgent(cert, t.pki.ca.certPem);
  try {
    assert.equal(await partiesStatus(t.gw.inbound.port, t.pki.ca.certPem, cert, 'dfspexp', agent), 202, 'valid: served');
    const valid = await attempt(cert);
    assert.equal(valid.line, 'HTTP/1.1 202 Accepted');
    assert.ok(valid.ticket);
    while (Date.now() < notAfter.getTime() + 2000) {
      await sleep(1000);
      await partiesStatus(t.gw.inbound.port, t.pki.ca.certPem, cert, 'dfspexp', agent);
    }
    assert.equal(
      await partiesStatus(t.gw.inbound.port, t.pki.ca.certPem, cert, 'dfspexp'),
      0,
      'control: a new full handshake is refused (intermediate expired)',
    );
    const before = t.stub.requests.length;
    const resumed = await attempt(cert, valid.ticket);
    const onOld = await partiesStatus(t.gw.inbound.port, t.pki.ca.certPem, cert, 'dfspexp', agent);
    assert.equal(resumed.reused, true, 'resumed');
    assert.equal(resumed.line, 'HTTP/1.1 400 Bad Request', `resumed session whose intermediate has expired: ${resumed.line}`);
    assert.equal(onOld, 400, `keep-alive connection whose intermediate has expired: ${onOld}`);
    assert.equal(t.stub.requests.length, before, 'nothing forwarded');
  } finally {
    agent.destroy();
  }
});
