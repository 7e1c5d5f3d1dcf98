// A CRL reload against connections the first sweep cannot see or match by the leaf alone: a connection whose
// TCP accept came before the reload and whose handshake came after (node fixes the CRLs at accept), and a leaf
// whose intermediate CA the new CRL revokes (src/tls/material.ts; hostile re-review of 2026-11-30).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import type { Agent } from 'node:https';
import { connect as netConnect } from 'node:net';
import { after, before, test } from 'node:test';
import forge from 'node-forge';
import { createCa, createCrl, type Issued, issueCert } from '../../../src/pki/forge-pki.js';
import { keepAliveAgent, lateHandshake, partiesStatus, startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { caCopy, intermediateCa, makeTestPki } from '../../helpers/pki.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pki = makeTestPki();
// root → intermediate → leaf; the bundle holds both CAs, and each has its CRL.
const root = createCa({ cn: 'root CA' });
const inter = intermediateCa(root, 'intermediate CA', '11223344');
const leaf = issueCert(inter, { cn: 'dfsp1', usage: 'client' });
const direct = issueCert(root, { cn: 'dfsp2', usage: 'client' });
const noneRevoked = () => createCrl(root, []) + createCrl(inter, []);
writeFileSync(pki.caPath, root.certPem + inter.certPem);
writeFileSync(pki.crlPath, noneRevoked());
let t: TestGateway;
before(async () => {
  t = await startTestGateway({ pki, env: { IN_CRL_PATH: pki.crlPath, HTTP_KEEPALIVE_TIMEOUT_MS: '5000' } });
});
after(async () => {
  await t.close();
  pki.cleanup();
});

const call = (cert: Issued, source: string, agent?: Agent) => partiesStatus(t.gw.inbound.port, pki.ca.certPem, cert, source, agent);

test("revoking the intermediate CA closes its leaves' open connections", async () => {
  const agent = keepAliveAgent(leaf, pki.ca.certPem);
  try {
    assert.equal(await call(leaf, 'dfsp1', agent), 202);
    writeFileSync(pki.crlPath, createCrl(root, [inter.serialHex]) + createCrl(inter, []));
    await sleep(1200);
    const forwarded = t.stub.requests.length;
    const on: number[] = [];
    for (let i = 0; i < 3; i++) on.push(await call(leaf, 'dfsp1', agent));
    assert.deepEqual(on, [0, 0, 0]);
    assert.equal(t.stub.requests.length, forwarded);
    assert.equal(await call(direct, 'dfsp2'), 202, "the root's own leaf is still served");
  } finally {
    agent.destroy();
    writeFileSync(pki.crlPath, noneRevoked());
    await sleep(1200);
  }
});

test('a forged copy of the revoked intermediate, appended by the client, does not keep its connection: links are verified', async () => {
  // Hostile review (2026-12-01): the copy has the intermediate's name and key and names the root as its issuer, so
  // node linked leaf → copy → root and the revoked serial never showed; OpenSSL had verified the real intermediate.
  const junk = forge.pki.rsa.generateKeyPair(1024).privateKey;
  const mine = issueCert(inter, { cn: 'dfsp4', usage: 'client' });
  const presented = { ...mine, certPem: mine.certPem + caCopy(inter, { issuer: root, signer: junk, serial: '55' }) };
  const agent = keepAliveAgent(presented, pki.ca.certPem);
  try {
    assert.equal(await call(presented, 'dfsp4', agent), 202);
    writeFileSync(pki.crlPath, createCrl(root, [inter.serialHex]) + createCrl(inter, []));
    await sleep(1200);
    assert.equal(Object.values(agent.freeSockets).flat().length, 0);
    assert.equal(await call(presented, 'dfsp4', agent), 0);
  } finally {
    agent.destroy();
    writeFileSync(pki.crlPath, noneRevoked());
    await sleep(1200);
  }
});

test('a connection accepted before the reload and shaken hands after it is checked against the new CRLs', async () => {
  const revoked = issueCert(root, { cn: 'dfsp3', usage: 'client' });
  const raw = netConnect(t.gw.inbound.port, '127.0.0.1');
  await new Promise((r) => raw.once('connect', r));
  writeFileSync(pki.crlPath, createCrl(root, [revoked.serialHex]) + createCrl(inter, []));
  await sleep(1200);
  const forwarded = t.stub.requests.length;
  // The handshake on the old socket: whatever the client sees of it, nothing it sends is served.
  const outcome = await lateHandshake(raw, pki.ca.certPem, revoked, 'dfsp3');
  assert.equal(outcome, 'closed');
  assert.equal(t.stub.requests.length, forwarded);
});
