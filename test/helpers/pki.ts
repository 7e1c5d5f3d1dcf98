// The one test PKI helper; per-run throwaway material, nothing here is ever committed. Two shapes:
// - makeTestPki(): an object for the integration and security tests: a CA, a server certificate for
//   localhost/127.0.0.1, client certificates (valid, expired, revoked, from another CA, any subject or
//   extension) and a CRL. RSA, made with node-forge through src/pki/forge-pki.ts.
// - makeEcPkiDir(fsps): a directory in the `switchguard pki init` layout (tls/ca.pem, tls/server.*,
//   clients/<id>.*, jws-private/<id>.key, jws/<id>.pem) with EC P-256 keys throughout, for the load-tool
//   tests: EC handshakes and ES256 signatures stay cheap while other test files run. forge cannot sign
//   with EC keys, so the certificates come from the openssl CLI (a few ms each).
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import { type CaMaterial, createCa, createCrl, type Issued, type IssueOptions, issueCert } from '../../src/pki/forge-pki.js';

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
  const write = (name: string, content: string) => {
    const p = join(dir, name);
    writeFileSync(p, content);
    return p;
  };
  const caPath = write('ca.pem', ca.certPem);
  const serverCertPath = write('server.pem', server.certPem);
  const serverKeyPath = write('server.key', server.keyPem);
  const crlPath = write('crl.pem', createCrl(ca, []));
  let foreignCa: CaMaterial | undefined;
  const revoked: string[] = [];
  return {
    dir,
    ca,
    caPath,
    serverCertPath,
    serverKeyPath,
    crlPath,
    write,
    client(cn, opts = {}) {
      return opts.expired
        ? issueCert(ca, { cn, usage: 'client', notBefore: new Date(Date.now() - 10 * 86400_000), notAfter: new Date(Date.now() - 86400_000) })
        : issueCert(ca, { cn, usage: 'client' });
    },
    issue(o) {
      return issueCert(ca, { usage: 'client', ...o });
    },
    foreignClient(cn) {
      foreignCa ??= createCa({ cn: 'switchguard test CA' }); // same name, different key
      return issueCert(foreignCa, { cn, usage: 'client' });
    },
    revoke(...issued) {
      revoked.push(...issued.map((i) => i.serialHex));
      writeFileSync(crlPath, createCrl(ca, revoked));
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const openssl = (args: string[], cwd: string): void => {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
};

/** An EC P-256 key (PKCS#8) and a certificate for it signed by ca.pem/ca.key in `dir`. */
function issueEc(dir: string, name: string, cn: string, ext: string): void {
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.sec1`], dir);
  openssl(['pkcs8', '-topk8', '-nocrypt', '-in', `${name}.sec1`, '-out', `${name}.key`], dir);
  openssl(['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`], dir);
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-sha256',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.pem`,
    ],
    dir,
  );
}

/**
 * A temporary keys directory in the `switchguard pki init` layout for these FSP ids, EC keys throughout
 * (TLS P-256 certificates, ES256 JWS keys). Returns its path; the caller removes it.
 */
export function makeEcPkiDir(fsps: readonly string[]): string {
  const root = mkdtempSync(join(tmpdir(), 'sg-ec-pki-'));
  const tls = join(root, 'tls');
  for (const d of ['tls', 'clients', 'jws', 'jws-private']) mkdirSync(join(root, d));
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.sec1'], tls);
  openssl(['pkcs8', '-topk8', '-nocrypt', '-in', 'ca.sec1', '-out', 'ca.key'], tls);
  openssl(['req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=switchguard loadtest CA', '-days', '2', '-sha256', '-out', 'ca.pem'], tls);
  issueEc(tls, 'server', 'localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\n');
  for (const fsp of fsps) {
    issueEc(tls, fsp, fsp, 'extendedKeyUsage=clientAuth\n');
    copyFileSync(join(tls, `${fsp}.pem`), join(root, 'clients', `${fsp}.pem`));
    copyFileSync(join(tls, `${fsp}.key`), join(root, 'clients', `${fsp}.key`));
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    writeFileSync(join(root, 'jws-private', `${fsp}.key`), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(join(root, 'jws', `${fsp}.pem`), publicKey.export({ type: 'spki', format: 'pem' }));
  }
  return root;
}

/** An intermediate CA named `cn` under `root` (serial `serial`, hex): for tests of chains root → intermediate → leaf. */
export function intermediateCa(root: CaMaterial, cn: string, serial: string): CaMaterial {
  const made = createCa({ cn });
  made.cert.setIssuer(root.cert.subject.attributes);
  made.cert.serialNumber = serial;
  made.cert.sign(root.key, forge.md.sha256.create());
  return { ...made, certPem: forge.pki.certificateToPem(made.cert), serialHex: made.cert.serialNumber };
}

/**
 * A CA certificate with `like`'s subject and public key that names `issuer` as its issuer (name and key
 * identifier) and is signed with `signer`: a re-issue of `like` when `issuer` is `like` and `signer` its key; a
 * forged copy when `signer` is any other key (node links it into a chain by name and key id; its signature is
 * garbage).
 */
export function caCopy(like: CaMaterial, o: { issuer: CaMaterial; signer: forge.pki.rsa.PrivateKey; serial: string }): string {
  const c = forge.pki.createCertificate();
  c.publicKey = like.cert.publicKey;
  c.serialNumber = o.serial;
  c.validity.notBefore = new Date(Date.now() - 3_600_000);
  c.validity.notAfter = new Date(Date.now() + 365 * 86_400_000);
  c.setSubject(like.cert.subject.attributes);
  c.setIssuer(o.issuer.cert.subject.attributes);
  c.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: o.issuer.cert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  c.sign(o.signer, forge.md.sha256.create());
  return forge.pki.certificateToPem(c);
}
