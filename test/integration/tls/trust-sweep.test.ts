// The trust sweep of src/tls/material.ts and src/tls/chain-trust.ts on a bare HTTPS server, for cases the gateway
// tests do not reach (hostile re-review of 2026-12-01): a leaf whose authority key identifier names an older copy
// of its re-issued intermediate, TLS sessions resumed from a ticket, and a CA certificate whose key node cannot
// read.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { connect, createSecureContext, type TLSSocket } from 'node:tls';
import forge from 'node-forge';
import { type CaMaterial, createCa, createCrl, type Issued, issueCert } from '../../../src/pki/forge-pki.js';
import { type ReloadEvent, TlsReloader } from '../../../src/tls/material.js';
import { nodeReportsPresentedChain } from '../../helpers/peer-chain.js';
import { caCopy, intermediateCa, makeTestPki } from '../../helpers/pki.js';

const pki = makeTestPki();
after(() => pki.cleanup());
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Harness {
  readonly tls: TlsReloader;
  readonly port: number;
  readonly events: ReloadEvent[];
  readonly caPath: string;
  readonly crlPath: string | undefined;
  close(): Promise<void>;
}

/** An HTTPS server requiring client certificates of `ca` (and `crl`), its material held by a TlsReloader. */
async function serve(ca: string, crl?: string): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'sg-sweep-'));
  const caPath = join(dir, 'ca.pem');
  writeFileSync(caPath, ca);
  const crlPath = crl === undefined ? undefined : join(dir, 'crl.pem');
  if (crlPath) writeFileSync(crlPath, crl as string);
  const events: ReloadEvent[] = [];
  const tls = new TlsReloader(
    { certPath: pki.serverCertPath, keyPath: pki.serverKeyPath, caPath, crlPath },
    { minVersion: 'TLSv1.2', ecdhCurve: 'auto' },
    (e) => void events.push(e),
  );
  const server: Server = createServer({ ...tls.current.options, requestCert: true, rejectUnauthorized: true }, (_q, r) => r.end('ok'));
  tls.attach(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    tls,
    port: (server.address() as { port: number }).port,
    events,
    caPath,
    crlPath,
    async close() {
      tls.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

interface Opened {
  readonly socket: TLSSocket;
  readonly status: string;
  readonly session: Buffer | undefined;
}

/** A TLS connection presenting `certPem` (a chain), one keep-alive request answered on it. */
function open(port: number, client: Issued, certPem: string, o: { session?: Buffer; maxVersion?: 'TLSv1.2' | 'TLSv1.3' } = {}): Promise<Opened> {
  return new Promise((resolve, reject) => {
    let session: Buffer | undefined;
    const socket = connect({ port, host: '127.0.0.1', servername: 'localhost', ca: pki.ca.certPem, cert: certPem, key: client.keyPem, ...o });
    socket.on('session', (s: Buffer) => {
      session = s;
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('closed before an answer')));
    socket.once('secureConnect', () => {
      let answer = '';
      socket.on('data', (d: Buffer) => {
        answer += d.toString();
        if (answer.includes('\r\n\r\nok')) setTimeout(() => resolve({ socket, status: answer.split('\r\n')[0] ?? '', session }), 20);
      });
      socket.write('GET / HTTP/1.1\r\nhost: localhost\r\n\r\n');
    });
  });
}

test("a leaf whose authority key identifier names its intermediate's older copy (issuer and serial) is closed when its intermediate's CRL revokes it", async () => {
  const root = createCa({ cn: 'akid root' });
  const old = intermediateCa(root, 'akid intermediate', '1111');
  // The intermediate re-issued: same name and key, another serial. The bundle holds only this copy.
  const reissuedPem = caCopy(old, { issuer: root, signer: root.key, serial: '1112' });
  const reissued: CaMaterial = { ...old, certPem: reissuedPem, cert: forge.pki.certificateFromPem(reissuedPem) };
  // The leaf, made as some CAs make them (keyid,issuer:always): its AKID names the old copy's issuer and serial.
  const keys = forge.pki.rsa.generateKeyPair(2048);
  const c = forge.pki.createCertificate();
  c.publicKey = keys.publicKey;
  c.serialNumber = '7777';
  c.validity.notBefore = new Date(Date.now() - 3_600_000);
  c.validity.notAfter = new Date(Date.now() + 86_400_000);
  c.setSubject([{ name: 'commonName', value: 'dfsp-akid' }]);
  c.setIssuer(old.cert.subject.attributes);
  c.setExtensions([
    { name: 'extKeyUsage', clientAuth: true },
    {
      name: 'authorityKeyIdentifier',
      keyIdentifier: old.cert.generateSubjectKeyIdentifier().getBytes(),
      authorityCertIssuer: root.cert.subject,
      serialNumber: '1111',
    },
  ]);
  c.sign(old.key, forge.md.sha256.create());
  const leaf: Issued = { certPem: forge.pki.certificateToPem(c), keyPem: forge.pki.privateKeyToPem(keys.privateKey), serialHex: '7777' } as Issued;
  // node's checkIssued compares that serial: the reason the sweep needs its own issuer test.
  assert.equal(new X509Certificate(leaf.certPem).checkIssued(new X509Certificate(reissued.certPem)), false);

  const h = await serve(root.certPem + reissued.certPem, createCrl(root, []) + createCrl(reissued, []));
  try {
    const kept = await open(h.port, leaf, leaf.certPem + old.certPem);
    assert.match(kept.status, / 200 /);
    writeFileSync(h.crlPath as string, createCrl(root, []) + createCrl(reissued, ['7777']));
    assert.equal(h.tls.reload(), 'ok');
    assert.equal(kept.socket.destroyed || (await sleep(50).then(() => kept.socket.destroyed)), true, 'the revoked connection is closed');
    const last = h.events.at(-1);
    assert.deepEqual(last?.outcome === 'ok' ? last.closed.map((x) => x.reason) : undefined, ['crl_revoked']);
    await assert.rejects(open(h.port, leaf, leaf.certPem + old.certPem), 'OpenSSL refuses a new handshake too');
  } finally {
    await h.close();
  }
});

for (const maxVersion of ['TLSv1.3', 'TLSv1.2'] as const)
  test(`${maxVersion}: a resumed session of a client that sends its own intermediate is judged on its full chain (an unrelated CA removed closes nothing)`, async () => {
    const root = createCa({ cn: 'resume root' });
    const other = createCa({ cn: 'resume other root' });
    const inter = intermediateCa(root, 'resume intermediate', '2222');
    const leaf = issueCert(inter, { cn: 'dfsp-resume', usage: 'client' });
    const chain = leaf.certPem + inter.certPem;
    const h = await serve(root.certPem + other.certPem);
    try {
      const first = await open(h.port, leaf, chain, { maxVersion });
      first.socket.destroy();
      assert.ok(first.session);
      const resumed = await open(h.port, leaf, chain, { maxVersion, session: first.session });
      assert.equal(resumed.socket.isSessionReused(), true);
      const full = await open(h.port, leaf, chain, { maxVersion });
      writeFileSync(h.caPath, root.certPem);
      assert.equal(h.tls.reload(), 'ok');
      await sleep(50);
      if (await nodeReportsPresentedChain(pki)) {
        assert.equal(full.socket.destroyed, false);
        assert.equal(resumed.socket.destroyed, false, 'the resumed connection stays too');
      } else {
        // node shows the leaf alone (its intermediate is not in the bundle): nothing anchors it, so both close and
        // their next handshake decides (fail closed), the resumed one judged as the full one.
        assert.deepEqual([full.socket.destroyed, resumed.socket.destroyed], [true, true]);
        return;
      }
      // Removing the root itself closes both.
      writeFileSync(h.caPath, other.certPem);
      assert.equal(h.tls.reload(), 'ok');
      await sleep(50);
      assert.deepEqual([full.socket.destroyed, resumed.socket.destroyed], [true, true]);
      full.socket.destroy();
      resumed.socket.destroy();
    } finally {
      await h.close();
    }
  });

test('a CA certificate whose key node cannot read refuses the whole bundle: the previous CAs stay in force and nothing is swept half-way', async () => {
  const one = createCa({ cn: 'odd one' });
  const two = createCa({ cn: 'odd two' });
  // Another CA with its key algorithm made unknown (rsaEncryption 1.2.840.113549.1.1.1 → …1.99); OpenSSL still loads it.
  const der = Buffer.from(createCa({ cn: 'odd key' }).certPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const oid = Buffer.from('06092a864886f70d010101', 'hex');
  der[der.indexOf(oid) + oid.length - 1] = 0x63;
  const odd = `-----BEGIN CERTIFICATE-----\n${der.toString('base64')}\n-----END CERTIFICATE-----\n`;
  assert.throws(() => new X509Certificate(odd).publicKey);
  createSecureContext({ ca: [odd] });
  const leaf = issueCert(two, { cn: 'dfsp-odd', usage: 'client' });
  const h = await serve(one.certPem + two.certPem);
  try {
    const kept = await open(h.port, leaf, leaf.certPem);
    writeFileSync(h.caPath, one.certPem + odd);
    assert.equal(h.tls.reload(), 'failed');
    const last = h.events.at(-1);
    assert.match(last?.outcome === 'failed' ? String(last.error) : '', /key of certificate 2 cannot be read/);
    assert.equal(kept.socket.destroyed, false, 'the previous material, which trusts its CA, is still in force');
    assert.match((await open(h.port, leaf, leaf.certPem)).status, / 200 /);
    kept.socket.destroy();
  } finally {
    await h.close();
  }
});
