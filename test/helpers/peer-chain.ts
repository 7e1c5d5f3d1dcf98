// Whether this runtime's getPeerCertificate(true) shows, on a TLS server, the intermediates a client presented.
// Node 20 links the presented certificates into the chain it reports; Node 24 reports the leaf and what its own
// store adds, without them (seen on 24.21.0). The trust sweep (src/tls/chain-trust.ts) judges what node reports,
// so some of its tests differ by runtime; they ask this probe instead of the version number.
import { readFileSync } from 'node:fs';
import type { DetailedPeerCertificate } from 'node:tls';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { createCa, issueCert } from '../../src/pki/forge-pki.js';
import { intermediateCa, type TestPki } from './pki.js';

let answer: Promise<boolean> | undefined;

/** Probes once per process with a root-only trust store and a client that sends its intermediate. */
export function nodeReportsPresentedChain(pki: TestPki): Promise<boolean> {
  answer ??= new Promise<boolean>((resolve, reject) => {
    const root = createCa({ cn: 'probe root' });
    const inter = intermediateCa(root, 'probe intermediate', '0a');
    const leaf = issueCert(inter, { cn: 'probe', usage: 'client' });
    const server = createServer(
      { key: readFileSync(pki.serverKeyPath), cert: readFileSync(pki.serverCertPath), ca: [root.certPem], requestCert: true, rejectUnauthorized: true },
      (s: TLSSocket) => {
        const issuer = (s.getPeerCertificate(true) as DetailedPeerCertificate).issuerCertificate;
        resolve(issuer?.subject?.CN === 'probe intermediate');
        s.destroy();
        server.close();
      },
    );
    server.listen(0, '127.0.0.1', () => {
      const c = connect({
        port: (server.address() as { port: number }).port,
        host: '127.0.0.1',
        servername: 'localhost',
        ca: pki.ca.certPem,
        cert: leaf.certPem + inter.certPem,
        key: leaf.keyPem,
      });
      c.on('error', () => {});
      c.on('close', () => server.close());
    });
    server.on('tlsClientError', reject);
  });
  return answer;
}
