// `switchguard pki init`: the development PKI under KEYS_DIR (layout in keys/README.md). Idempotent:
// existing files are kept unless `force`; missing ones are added with the existing CA.
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { devPaths } from '../config/load.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { type CaMaterial, caFromPem, createCa, issueCert } from './forge-pki.js';

const DEV_FSP_IDS: readonly string[] = ['hub', ...Array.from({ length: 8 }, (_, i) => `perffsp-${i + 1}`)];

export interface PkiInitResult {
  readonly created: string[];
  readonly dir: string;
}

// Every file is written as a new file renamed over its name (src/util/atomic-file.ts): a symlink planted at the name is
// replaced, never followed, so no key lands in a file someone else owns and can read (hostile review of 2026-12-02).
const writePrivate = (p: string, data: string) => writeFileAtomic(p, data, 0o600);
const writePublic = (p: string, data: string) => writeFileAtomic(p, data, 0o644);

/** Creates whatever part of the development PKI is missing. */
export function initDevPki(dir: string, options: { fspIds?: readonly string[]; force?: boolean; serverNames?: readonly string[] } = {}): PkiInitResult {
  const ids = options.fspIds ?? DEV_FSP_IDS;
  const created: string[] = [];
  for (const sub of ['tls', 'clients', 'jws']) mkdirSync(join(dir, sub), { recursive: true });
  mkdirSync(join(dir, 'jws-private'), { recursive: true, mode: 0o700 });
  const p = devPaths(dir, 'x');
  let ca: CaMaterial;
  if (!options.force && existsSync(p.caCert) && existsSync(p.caKey)) ca = caFromPem(readFileSync(p.caCert, 'utf8'), readFileSync(p.caKey, 'utf8'));
  else {
    ca = createCa({ cn: 'switchguard development CA' });
    writePublic(p.caCert, ca.certPem);
    writePrivate(p.caKey, ca.keyPem);
    created.push(p.caCert, p.caKey);
  }
  const fresh = (...files: string[]) => options.force || files.some((f) => !existsSync(f));
  if (fresh(p.serverCert, p.serverKey)) {
    const s = issueCert(ca, { cn: 'localhost', usage: 'server', dns: options.serverNames ?? ['localhost'], ips: ['127.0.0.1', '::1'] });
    writePublic(p.serverCert, s.certPem);
    writePrivate(p.serverKey, s.keyPem);
    created.push(p.serverCert, p.serverKey);
  }
  for (const id of ids) {
    const d = devPaths(dir, id);
    if (fresh(d.clientCert, d.clientKey)) {
      const c = issueCert(ca, { cn: id, usage: 'client', dns: [id] });
      writePublic(d.clientCert, c.certPem);
      writePrivate(d.clientKey, c.keyPem);
      created.push(d.clientCert, d.clientKey);
    }
    const pub = join(d.jwsPublicDir, `${id}.pem`);
    if (fresh(pub, d.jwsPrivateKey)) {
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      writePublic(pub, publicKey.export({ type: 'spki', format: 'pem' }).toString());
      writePrivate(d.jwsPrivateKey, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
      created.push(pub, d.jwsPrivateKey);
    }
  }
  return { created, dir };
}
