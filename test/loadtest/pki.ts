// Test-time PKI in the `switchguard pki init` layout (tls/ca.pem, tls/server.*, clients/<id>.*,
// jws-private/<id>.key, jws/<id>.pem), made with the openssl CLI (EC keys for TLS: fast) and node:crypto
// (EC P-256 JWS keys, ES256: key generation and signing stay cheap while other test files run).
// Nothing here is ever committed.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ssl = (args: string[], cwd: string): void => {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
};

function issue(dir: string, name: string, cn: string, ext: string): void {
  ssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.sec1`], dir);
  ssl(['pkcs8', '-topk8', '-nocrypt', '-in', `${name}.sec1`, '-out', `${name}.key`], dir);
  ssl(['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`], dir);
  writeFileSync(join(dir, `${name}.ext`), ext);
  ssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2',
    '-sha256', '-extfile', `${name}.ext`, '-out', `${name}.pem`], dir);
}

/** Creates a temp keys directory for the given FSP ids; returns its path. */
export function makeTestPki(fsps: readonly string[]): string {
  const root = mkdtempSync(join(tmpdir(), 'sg-loadtest-pki-'));
  const tls = join(root, 'tls');
  for (const d of ['tls', 'clients', 'jws', 'jws-private']) mkdirSync(join(root, d));
  ssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.sec1'], tls);
  ssl(['pkcs8', '-topk8', '-nocrypt', '-in', 'ca.sec1', '-out', 'ca.key'], tls);
  ssl(['req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=switchguard loadtest CA', '-days', '2', '-sha256', '-out', 'ca.pem'], tls);
  issue(tls, 'server', 'localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\n');
  for (const fsp of fsps) {
    issue(tls, fsp, fsp, 'extendedKeyUsage=clientAuth\n');
    execFileSync('cp', [join(tls, `${fsp}.pem`), join(root, 'clients', `${fsp}.pem`)]);
    execFileSync('cp', [join(tls, `${fsp}.key`), join(root, 'clients', `${fsp}.key`)]);
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    writeFileSync(join(root, 'jws-private', `${fsp}.key`), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(join(root, 'jws', `${fsp}.pem`), publicKey.export({ type: 'spki', format: 'pem' }));
  }
  return root;
}
