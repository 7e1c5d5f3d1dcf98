// IN_CA_CERT_PATH and IN_CRL_PATH reloaded under a running gateway (src/tls/material.ts, src/tls/crl.ts):
// a revocation stops the revoked certificate's open connections at once and no other; every CRL of the file
// applies, one per CA; and a file that would authenticate nobody or apply half a revocation list is refused,
// the previous material staying in force (docs/operations.md, "Revoking a DFSP"; SPEC §3.1).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import type { Agent } from 'node:https';
import { after, before, describe, test } from 'node:test';
import { createTelemetry } from '../../../src/metrics/registry.js';
import { createCa, createCrl, type Issued, issueCert } from '../../../src/pki/forge-pki.js';
import { keepAliveAgent, partiesStatus, startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { makeTestPki } from '../../helpers/pki.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// TLS_RELOAD_INTERVAL_MS is short in the test environment (test/helpers/gateway.ts): a second covers a reload.
const RELOAD_MS = 1000;

const pki = makeTestPki();
const ca2 = createCa({ cn: 'second CA' });
const caBoth = pki.ca.certPem + ca2.certPem;
writeFileSync(pki.caPath, caBoth);
writeFileSync(pki.crlPath, createCrl(pki.ca, []) + createCrl(ca2, []));
const telemetry = createTelemetry({ processMetrics: false });
let t: TestGateway;

before(async () => {
  t = await startTestGateway({ pki, env: { IN_CRL_PATH: pki.crlPath, HTTP_KEEPALIVE_TIMEOUT_MS: '5000' }, overrides: { telemetry } });
});
after(async () => {
  await t.close();
  pki.cleanup();
});

const call = (cert: Issued, source: string, agent?: Agent) => partiesStatus(t.gw.inbound.port, pki.ca.certPem, cert, source, agent);
const keepAlive = (cert: Issued) => keepAliveAgent(cert, pki.ca.certPem);
const reloads = async (outcome: 'ok' | 'failed') => {
  const line = (await telemetry.metricsText())
    .split('\n')
    .find((l) => l.startsWith('switchguard_reload_total{') && l.includes('"tls"') && l.includes(`"${outcome}"`));
  return line ? Number(line.split(' ').at(-1)) : 0;
};

describe('revocation', () => {
  test("a reloaded CRL closes the revoked certificate's open connection at once, and only that one", async () => {
    const revoked = pki.client('dfsp1');
    const other = pki.client('dfsp2');
    const revokedAgent = keepAlive(revoked);
    const otherAgent = keepAlive(other);
    try {
      assert.equal(await call(revoked, 'dfsp1', revokedAgent), 202);
      assert.equal(await call(other, 'dfsp2', otherAgent), 202);
      const otherSockets = () => Object.values(otherAgent.freeSockets).flat().length;
      assert.equal(otherSockets(), 1);
      writeFileSync(pki.crlPath, createCrl(pki.ca, [revoked.serialHex]) + createCrl(ca2, []));
      await sleep(RELOAD_MS);
      const forwarded = t.stub.requests.length;
      // The open connection is gone; the agent's next attempt is a new handshake, which the CRL refuses.
      for (let i = 0; i < 5; i++) assert.equal(await call(revoked, 'dfsp1', revokedAgent), 0);
      assert.equal(t.stub.requests.length, forwarded, 'nothing of the revoked certificate forwarded after the reload');
      // The other DFSP kept its connection and is served on it.
      assert.equal(otherSockets(), 1);
      assert.equal(await call(other, 'dfsp2', otherAgent), 202);
    } finally {
      revokedAgent.destroy();
      otherAgent.destroy();
      writeFileSync(pki.crlPath, createCrl(pki.ca, []) + createCrl(ca2, []));
      await sleep(RELOAD_MS);
    }
  });

  test("every CRL of the file applies: one per CA, the second CA's revocations too", async () => {
    const first = pki.client('dfsp3');
    const second = issueCert(ca2, { cn: 'dfsp4', usage: 'client' });
    assert.equal(await call(first, 'dfsp3'), 202);
    assert.equal(await call(second, 'dfsp4'), 202, "the second CA's certificate is served (its CRL is read)");
    writeFileSync(pki.crlPath, createCrl(pki.ca, []) + createCrl(ca2, [second.serialHex]));
    await sleep(RELOAD_MS);
    assert.equal(await call(second, 'dfsp4'), 0, "revoked in the file's second CRL");
    assert.equal(await call(first, 'dfsp3'), 202);
    writeFileSync(pki.crlPath, createCrl(pki.ca, []) + createCrl(ca2, []));
    await sleep(RELOAD_MS);
  });
});

describe('refused reloads keep the previous material', () => {
  const ca = readFileSync(pki.caPath, 'utf8');
  const crl = () => createCrl(pki.ca, []) + createCrl(ca2, []);
  for (const [name, caText, crlText] of [
    ['a CA file of garbage', () => 'not a certificate\n', crl],
    ['a CA file cut mid-certificate', () => caBoth.slice(0, caBoth.length - 200), crl],
    ['an expired CRL', () => ca, () => createCrl(pki.ca, [], { nextUpdateDays: -1 }) + createCrl(ca2, [])],
    ['two CRLs of one CA', () => ca, () => createCrl(pki.ca, []) + createCrl(pki.ca, []) + createCrl(ca2, [])],
  ] as const) {
    test(`${name}: counted as a failed reload, the peers still served`, async () => {
      const cert = pki.client('dfsp5');
      assert.equal(await call(cert, 'dfsp5'), 202);
      const failed = await reloads('failed');
      const ok = await reloads('ok');
      writeFileSync(pki.caPath, caText());
      writeFileSync(pki.crlPath, crlText());
      await sleep(RELOAD_MS);
      assert.ok((await reloads('failed')) > failed, 'a failed reload is counted');
      assert.equal(await reloads('ok'), ok, 'and not counted as ok');
      assert.equal(await call(cert, 'dfsp5'), 202, 'the previous material is in force');
      writeFileSync(pki.caPath, caBoth);
      writeFileSync(pki.crlPath, crl());
      await sleep(RELOAD_MS);
    });
  }
});
