// Per-run throwaway PKI for integration tests: a CA, a server certificate for localhost/127.0.0.1,
// client certificates (valid, expired, revoked, from another CA) and a CRL. Nothing is committed.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, createCrl, issueCert, type CaMaterial, type IssueOptions, type Issued } from '../../src/pki/forge-pki.js';

export interface TestPki {
  readonly dir: string;
  readonly ca: CaMaterial;
  readonly caPath: string;
  readonly serverCertPath: string;
  readonly serverKeyPath: string;
  readonly crlPath: string;
  /** Client certificate + key PEMs by name. */
  client(cn: string, opts?: { expired?: boolean }): Issued;
  /** A certificate from the trusted CA with any subject, SANs, basicConstraints, key usage or EKU (client usage by default). */
  issue(o: Omit<IssueOptions, 'usage'> & { usage?: IssueOptions['usage'] }): Issued;
  /** A client certificate from a CA the server does not trust. */
  foreignClient(cn: string): Issued;
  /** Rewrites the CRL file to revoke these certificates. */
  revoke(...issued: Issued[]): void;
  /** Writes a file into the PKI directory and returns its path. */
  write(name: string, content: string): string;
  cleanup(): void;
}

export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'sg-pki-'));
  const ca = createCa({ cn: 'switchguard test CA' });
  const server = issueCert(ca, { cn: 'localhost', usage: 'server', dns: ['localhost'], ips: ['127.0.0.1', '::1'] });
  const write = (name: string, content: string) => { const p = join(dir, name); writeFileSync(p, content); return p; };
  const caPath = write('ca.pem', ca.certPem);
  const serverCertPath = write('server.pem', server.certPem);
  const serverKeyPath = write('server.key', server.keyPem);
  const crlPath = write('crl.pem', createCrl(ca, []));
  let foreignCa: CaMaterial | undefined;
  const revoked: string[] = [];
  return {
    dir, ca, caPath, serverCertPath, serverKeyPath, crlPath, write,
    client(cn, opts = {}) {
      return opts.expired
        ? issueCert(ca, { cn, usage: 'client', notBefore: new Date(Date.now() - 10 * 86400_000), notAfter: new Date(Date.now() - 86400_000) })
        : issueCert(ca, { cn, usage: 'client' });
    },
    issue(o) { return issueCert(ca, { usage: 'client', ...o }); },
    foreignClient(cn) {
      foreignCa ??= createCa({ cn: 'switchguard test CA' }); // same name, different key
      return issueCert(foreignCa, { cn, usage: 'client' });
    },
    revoke(...issued) {
      revoked.push(...issued.map((i) => i.serialHex));
      writeFileSync(crlPath, createCrl(ca, revoked));
    },
    cleanup() { rmSync(dir, { recursive: true, force: true }); },
  };
}
