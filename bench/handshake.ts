// Handshake benchmark: CPU per mutual-TLS handshake with and without the trust sweep's chain capture
// (src/tls/material.ts attach: getPeerCertificate(true) on every handshake), for a normal chain and for one
// padded with linkable copies of the CA (docs/security.md class 12, accepted risk). Client and server share this
// process, so the figures are both sides together; the difference between the rows is the capture.
// Run alone: node --import tsx bench/handshake.ts
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { pathToFileURL } from 'node:url';
import forge from 'node-forge';
import { createCa, issueCert } from '../src/pki/forge-pki.js';
import { TlsReloader } from '../src/tls/material.js';

const PADDING = 110;

/** ms of CPU per handshake (and one request) over `n` sequential connections, after `n` of warm-up. */
async function perHandshake(port: number, ca: string, cert: string, key: string, n: number): Promise<number> {
  const once = () =>
    new Promise<void>((done) => {
      const s = connect({ port, host: '127.0.0.1', servername: 'localhost', ca, cert, key });
      s.once('secureConnect', () => {
        s.write('GET / HTTP/1.1\r\nhost: localhost\r\n\r\n');
        s.once('data', () => setImmediate(() => (s.destroy(), done())));
      });
      s.once('error', () => done());
      s.once('close', () => done());
    });
  for (let i = 0; i < n; i++) await once();
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) await once();
  const u = process.cpuUsage(t0);
  return (u.user + u.system) / n / 1000;
}

/** Runs the handshake benchmark (about a minute) and prints ms of CPU per handshake. */
export async function run(): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'sg-bench-hs-'));
  try {
    const ca = createCa({ cn: 'bench CA' });
    const server = issueCert(ca, { cn: 'localhost', usage: 'server', dns: ['localhost'], ips: ['127.0.0.1'] });
    const client = issueCert(ca, { cn: 'benchfsp', usage: 'client' });
    const files = { certPath: join(dir, 'server.pem'), keyPath: join(dir, 'server.key'), caPath: join(dir, 'ca.pem'), crlPath: undefined };
    writeFileSync(files.certPath, server.certPem);
    writeFileSync(files.keyPath, server.keyPem);
    writeFileSync(files.caPath, ca.certPem);
    const junk = forge.pki.rsa.generateKeyPair(1024).privateKey;
    let pad = '';
    for (let i = 0; i < PADDING; i++) {
      const c = forge.pki.createCertificate();
      c.publicKey = ca.cert.publicKey;
      c.serialNumber = (0x100000 + i).toString(16);
      c.validity.notBefore = new Date(Date.now() - 86_400_000);
      c.validity.notAfter = new Date(Date.now() + 86_400_000);
      c.setSubject(ca.cert.subject.attributes);
      c.setIssuer(ca.cert.subject.attributes);
      c.setExtensions([{ name: 'basicConstraints', cA: true }, { name: 'subjectKeyIdentifier' }]);
      c.sign(junk, forge.md.sha256.create());
      pad += forge.pki.certificateToPem(c);
    }
    const results: Record<string, number> = {};
    // Alternated twice, so that both variants meet the same machine.
    for (const round of [1, 2])
      for (const padded of [false, true])
        for (const attached of [false, true]) {
          const tls = new TlsReloader(files, { minVersion: 'TLSv1.3', ecdhCurve: 'auto' });
          const srv = createServer({ ...tls.current.options, requestCert: true, rejectUnauthorized: true }, (_q, r) => r.end('ok'));
          if (attached) tls.attach(srv);
          await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
          const port = (srv.address() as { port: number }).port;
          const ms = await perHandshake(port, ca.certPem, client.certPem + (padded ? pad : ''), client.keyPem, padded ? 40 : 200);
          srv.close();
          tls.close();
          results[`${padded ? `padded (${PADDING})` : 'normal'}, capture ${attached ? 'on ' : 'off'}, round ${round}`] = Number(ms.toFixed(2));
        }
    console.log(`Mutual-TLS handshake, ms of CPU per handshake (client and server in one process, ${process.version})`);
    for (const [k, v] of Object.entries(results)) console.log(`  ${k.padEnd(36)} ${v}`);
    return results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await run();
