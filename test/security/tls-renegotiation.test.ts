// Beyond docs/security.md's classes: the peer is bound once per TLS connection (src/tls/peer.ts caches it per
// socket), so a client-initiated TLS 1.2 renegotiation, which could present another certificate on the
// same socket, is refused and the connection closed. Real TLS 1.2 on port 0 (TLS_MIN_VERSION=TLSv1.2).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connect } from 'node:tls';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

let t: TestGateway;
before(async () => {
  t = await startTestGateway({ env: { TLS_MIN_VERSION: 'TLSv1.2' } });
});
after(async () => {
  await t.close();
});

test('a TLS 1.2 renegotiation is refused: the gateway closes the connection', async () => {
  const a = t.cert('payerfsp');
  const socket = connect({
    host: '127.0.0.1',
    port: t.gw.inbound.port,
    ca: t.pki.ca.certPem,
    servername: 'localhost',
    maxVersion: 'TLSv1.2',
    cert: a.certPem,
    key: a.keyPem,
  });
  socket.on('error', () => {});
  await new Promise<void>((resolve) => socket.once('secureConnect', () => resolve()));
  assert.equal(socket.getProtocol(), 'TLSv1.2');
  const outcome = await new Promise<string>((resolve) => {
    const timer = setTimeout(() => resolve('still open'), 5000);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve('closed');
    });
    socket.renegotiate({ rejectUnauthorized: true }, (err) => {
      if (!err) {
        clearTimeout(timer);
        resolve('renegotiated');
      }
    });
  });
  socket.destroy();
  assert.equal(outcome, 'closed');
});
