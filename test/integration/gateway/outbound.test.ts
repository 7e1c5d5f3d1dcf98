// Outbound pipeline: local side → gateway → peer over mTLS, chosen by FSPIOP-Destination from a
// hot-reloaded peer directory; unknown destination → 3201.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { issueCert } from '../../../src/pki/forge-pki.js';
import { fspiopHeaders, send, startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { makeTestPki, type TestPki } from '../../helpers/pki.js';

let pki: TestPki;
let t: TestGateway;
let peer: Server;
const seen: { path: string; peerCn: string | undefined; body: Buffer; headers: Record<string, unknown> }[] = [];
let peersPath: string;

before(async () => {
  pki = makeTestPki();
  const srv = issueCert(pki.ca, { cn: 'localhost', usage: 'server', dns: ['localhost'], ips: ['127.0.0.1'] });
  peer = createServer({ cert: srv.certPem, key: srv.keyPem, ca: pki.ca.certPem, requestCert: true, rejectUnauthorized: true }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({
        path: req.url!,
        peerCn: (req.socket as TLSSocket).getPeerCertificate().subject?.CN as string | undefined,
        body: Buffer.concat(chunks),
        headers: req.headers,
      });
      res.writeHead(202, { 'x-peer': 'b' });
      res.end();
    });
  });
  await new Promise<void>((r) => peer.listen(0, '127.0.0.1', r));
  const client = pki.client('hub');
  const certPath = pki.write('out-client.pem', client.certPem);
  const keyPath = pki.write('out-client.key', client.keyPem);
  peersPath = pki.write('peers.yaml', `peer-b: https://localhost:${(peer.address() as AddressInfo).port}/fsp\n`);
  t = await startTestGateway({
    pki,
    env: { OUT_CLIENT_CERT_PATH: certPath, OUT_CLIENT_KEY_PATH: keyPath, OUT_CA_CERT_PATH: pki.caPath, PEERS_PATH: peersPath },
  });
});
after(async () => {
  await t.close();
  peer.closeAllConnections();
  peer.close();
  pki.cleanup();
});

const out = (headers: Record<string, string>, body = '{"quoteId":"q1"}') =>
  send(t.gw.outbound.port, { tls: false, method: 'PUT', path: '/quotes/q1', headers, body, ca: '' });

test('routes by FSPIOP-Destination over mTLS with the gateway client certificate, body byte-identical', async () => {
  const body = '{ "quoteId" : "q1",  "z":1, "a":2 }';
  const r = await out({ ...fspiopHeaders('quotes', 'hub'), 'fspiop-destination': 'peer-b' }, body);
  assert.equal(r.status, 202);
  assert.equal(r.headers['x-peer'], 'b');
  const last = seen.at(-1)!;
  assert.equal(last.path, '/fsp/quotes/q1', 'the peer base path is kept');
  assert.equal(last.peerCn, 'hub');
  assert.ok(last.body.equals(Buffer.from(body)));
});

test('a destination absent from the peer directory → 3201, nothing sent', async () => {
  const n = seen.length;
  const r = await out({ ...fspiopHeaders('quotes', 'hub'), 'fspiop-destination': 'peer-x' });
  assert.equal(r.status, 400);
  assert.equal(r.json().errorInformation.errorCode, '3201');
  assert.equal(seen.length, n);
});

test('a missing FSPIOP-Destination without PEER_ENDPOINT → 3102', async () => {
  const r = await out(fspiopHeaders('quotes', 'hub'));
  assert.equal(r.status, 400);
  assert.equal(r.json().errorInformation.errorCode, '3102');
});

test('the peer directory is hot-reloaded; a broken file keeps the previous one', async () => {
  const port = (peer.address() as AddressInfo).port;
  writeFileSync(peersPath, `{"peer-b": "https://localhost:${port}/fsp", "peer-c": {"endpoint": "https://localhost:${port}/c", "ilpVersion": 4}}`);
  t.gw.peers.reload();
  const r = await out({ ...fspiopHeaders('quotes', 'hub'), 'fspiop-destination': 'peer-c' });
  assert.equal(r.status, 202);
  assert.equal(seen.at(-1)!.path, '/c/quotes/q1');
  writeFileSync(peersPath, 'peer-b: [not: a url');
  t.gw.peers.reload();
  assert.equal((await out({ ...fspiopHeaders('quotes', 'hub'), 'fspiop-destination': 'peer-c' })).status, 202);
});
