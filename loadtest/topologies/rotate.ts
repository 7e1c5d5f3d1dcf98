// Rotation during a run (target 4): a new server certificate from the same CA, and a new overlapping JWS
// key for every perffsp DFSP, written the way operators (and Kubernetes secret volumes) replace files:
// new content next to the old, then an atomic rename. The gateway must pick them up without failing
// a request. The pre-signed requests keep their signers' current keys, which stay valid (overlap).
import { generateKeyPairSync } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { caFromPem, issueCert } from '../../src/pki/forge-pki.js';

/** Copies a keys directory so a rotating run never touches the operator's own files. */
export function copyKeys(keysDir: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'sg-rotate-keys-'));
  cpSync(keysDir, dir, { recursive: true });
  return dir;
}

const replace = (path: string, data: string): void => {
  writeFileSync(`${path}.tmp`, data, { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
};

/** Performs one rotation in `keysDir`; returns what it changed. */
export function rotateOnce(keysDir: string, round: number): string[] {
  const tls = join(keysDir, 'tls');
  const ca = caFromPem(readFileSync(join(tls, 'ca.pem'), 'utf8'), readFileSync(join(tls, 'ca.key'), 'utf8'));
  const server = issueCert(ca, { cn: 'localhost', usage: 'server', dns: ['localhost'], ips: ['127.0.0.1', '::1'] });
  // Key first, then certificate: a reload between the two sees a mismatched pair, refuses it and keeps
  // the old context until the certificate lands.
  replace(join(tls, 'server.key'), server.keyPem);
  replace(join(tls, 'server.pem'), server.certPem);
  const changed = ['tls/server.key', 'tls/server.pem'];
  const jws = join(keysDir, 'jws');
  for (const f of readdirSync(jws).filter((n) => /^perffsp-\d+\.pem$/.test(n))) {
    const fsp = f.slice(0, -4);
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    replace(join(jws, `${fsp}.rotated-${round}.pem`), publicKey.export({ type: 'spki', format: 'pem' }).toString());
    // Rewrite the current key too (same content, new inode), as a secret-volume swap does.
    replace(join(jws, f), readFileSync(join(jws, f), 'utf8'));
    changed.push(`jws/${fsp}.rotated-${round}.pem`, `jws/${f}`);
  }
  return changed;
}
