// A test PKI with a real OCSP responder: the CA of makeTestPki() (so the gateway trusts it as usual), an
// OpenSSL CA database (index.txt, `openssl ca` format: V/R, expiry, revocation time, serial, file, subject)
// and `openssl ocsp` responders run on port 0 over that index. Certificates with an Authority Information
// Access OCSP URL are made with the openssl CLI (`req -x509 -CA`, OpenSSL ≥ 3.0; EC P-256 keys: quick). Everything is generated per run.
//   V<TAB>YYMMDDHHMMSSZ<TAB><TAB>SERIAL<TAB>unknown<TAB>/CN=…
//   R<TAB>YYMMDDHHMMSSZ<TAB>YYMMDDHHMMSSZ[,reason]<TAB>SERIAL<TAB>unknown<TAB>/CN=…
// An `openssl ocsp` responder reloads the index when the file changes (OpenSSL ≥ 3.0 compares its inode, so
// the index is replaced by rename), but it looks only after serving a request, before waiting for the next
// one: so every change is followed by one throwaway request to each running responder (client(), server()
// and revoke() resolve once the responders have the new index).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Issued } from '../../src/pki/forge-pki.js';
import { buildRequest } from '../../src/tls/ocsp/protocol.js';
import { makeTestPki, type TestPki } from './pki.js';

export interface OcspCert extends Issued {
  readonly certPath: string;
  readonly keyPath: string;
  readonly cn: string;
}

export type Signer = 'ca' | 'delegate' | 'foreign' | 'no_eku';

export interface Responder {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

export interface OcspPki {
  readonly pki: TestPki;
  readonly dir: string;
  /** A client certificate (clientAuth) from the test CA, in the index as valid (unless `unlisted`); `aia`: the OCSP URL it names. */
  client(cn: string, o?: { aia?: string; serialHex?: string; unlisted?: boolean }): Promise<OcspCert>;
  /** A server certificate for localhost/127.0.0.1 from the test CA naming `aia` as its OCSP responder. */
  server(o: { aia: string }): Promise<OcspCert>;
  /** A serial for a certificate issued later (its AIA can then name a responder started before it). */
  serial(): string;
  /** Marks certificates revoked in the index (keyCompromise, an hour ago). */
  revoke(...certs: OcspCert[]): Promise<void>;
  /** Starts `openssl ocsp` over the index, answers signed by `signer`; nextUpdate `nmin` minutes ahead (none when 0). */
  responder(o?: { signer?: Signer; nmin?: number }): Promise<Responder>;
  cleanup(): void;
}

const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: 'pipe' });
const asn1Time = (t: number) => new Date(t).toISOString().replace(/^\d\d(\d\d)-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d).*$/, '$1$2$3$4$5$6Z');

export function makeOcspPki(): OcspPki {
  const pki = makeTestPki();
  const dir = pki.dir;
  pki.write('ca.key', pki.ca.keyPem);
  const index = new Map<string, { cn: string; revokedAt?: number }>();
  const writeIndex = () => {
    const far = asn1Time(Date.now() + 10 * 86400_000);
    const lines = [...index.entries()].map(([serial, e]) =>
      e.revokedAt === undefined
        ? `V\t${far}\t\t${serial}\tunknown\t/CN=${e.cn}`
        : `R\t${far}\t${asn1Time(e.revokedAt)},keyCompromise\t${serial}\tunknown\t/CN=${e.cn}`,
    );
    writeFileSync(join(dir, 'index.tmp'), lines.length ? `${lines.join('\n')}\n` : '');
    renameSync(join(dir, 'index.tmp'), join(dir, 'index.txt')); // a new inode: running responders reload it
  };
  writeIndex();
  writeFileSync(join(dir, 'index.txt.attr'), 'unique_subject = no\n');
  const procs = new Set<ChildProcess>();
  const running = new Set<string>();
  /** One request to each running responder, after which it has reloaded the index (see the header). */
  const caX509 = new X509Certificate(pki.ca.certPem);
  const poke = buildRequest({ leaf: caX509, issuer: caX509 }, { nonce: false }).der; // a well-formed request about the CA itself
  const sync = async () => {
    await Promise.all(
      [...running].map((url) =>
        fetch(url, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: poke, signal: AbortSignal.timeout(5000) }).then(
          (r) => r.arrayBuffer(),
          () => undefined,
        ),
      ),
    );
  };
  let n = 0;

  const serial = () => `${(1 + (randomBytes(1)[0]! % 0x7e)).toString(16).padStart(2, '0')}${randomBytes(11).toString('hex')}`.toUpperCase();

  /** An EC key (node:crypto) and a certificate for it signed by caCert/caKey with these extensions: one openssl run. */
  const issue = (cn: string, ext: string, o: { serialHex?: string; ca?: [string, string] } = {}): OcspCert => {
    const name = `c${++n}`;
    const s = o.serialHex ?? serial();
    const [caCert, caKey] = o.ca ?? ['ca.pem', 'ca.key'];
    const keyPem = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    writeFileSync(join(dir, `${name}.key`), keyPem);
    writeFileSync(
      join(dir, `${name}.cnf`),
      `[req]\ndistinguished_name = dn\nx509_extensions = ext\nprompt = no\n[dn]\n[ext]\nbasicConstraints = CA:FALSE\n${ext}`,
    );
    openssl(
      [
        'req',
        '-x509',
        '-new',
        '-config',
        `${name}.cnf`,
        '-key',
        `${name}.key`,
        '-subj',
        `/CN=${cn}`,
        '-CA',
        caCert,
        '-CAkey',
        caKey,
        '-set_serial',
        `0x${s}`,
        '-days',
        '2',
        '-sha256',
        '-out',
        `${name}.pem`,
      ],
      dir,
    );
    return {
      certPem: readFileSync(join(dir, `${name}.pem`), 'utf8'),
      keyPem,
      serialHex: s,
      certPath: join(dir, `${name}.pem`),
      keyPath: join(dir, `${name}.key`),
      cn,
    };
  };

  let signers: Partial<Record<Signer, [string, string]>> = {};
  const signerFiles = (s: Signer): [string, string] => {
    if (s === 'ca') return ['ca.pem', 'ca.key'];
    const known = signers[s];
    if (known) return known;
    let c: OcspCert;
    if (s === 'foreign') {
      const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' });
      writeFileSync(join(dir, 'foreign-ca.key'), key);
      openssl(['req', '-x509', '-new', '-key', 'foreign-ca.key', '-subj', '/CN=switchguard test CA', '-days', '2', '-sha256', '-out', 'foreign-ca.pem'], dir);
      c = issue('foreign OCSP responder', 'extendedKeyUsage=OCSPSigning\nkeyUsage=critical,digitalSignature\n', { ca: ['foreign-ca.pem', 'foreign-ca.key'] });
    } else if (s === 'delegate') c = issue('test OCSP responder', 'extendedKeyUsage=OCSPSigning\nkeyUsage=critical,digitalSignature\n');
    else c = issue('not an OCSP responder', 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n');
    signers = { ...signers, [s]: [c.certPath, c.keyPath] };
    return [c.certPath, c.keyPath];
  };

  return {
    pki,
    dir,
    serial,
    async client(cn, o = {}) {
      const aia = o.aia ? `authorityInfoAccess=OCSP;URI:${o.aia}\n` : '';
      const c = issue(cn, `extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n${aia}`, o);
      if (!o.unlisted) {
        index.set(c.serialHex, { cn });
        writeIndex();
        await sync();
      }
      return c;
    },
    async server(o) {
      const c = issue(
        'localhost',
        `extendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\nsubjectAltName=DNS:localhost,IP:127.0.0.1\nauthorityInfoAccess=OCSP;URI:${o.aia}\n`,
      );
      index.set(c.serialHex, { cn: 'localhost' });
      writeIndex();
      await sync();
      return c;
    },
    async revoke(...certs) {
      for (const c of certs) index.set(c.serialHex, { cn: c.cn, revokedAt: Date.now() - 3600_000 });
      writeIndex();
      await sync();
    },
    async responder(o = {}) {
      const [cert, key] = signerFiles(o.signer ?? 'ca');
      const nmin = o.nmin ?? 5;
      const args = ['ocsp', '-index', 'index.txt', '-port', '0', '-CA', 'ca.pem', '-rsigner', cert, '-rkey', key, ...(nmin > 0 ? ['-nmin', String(nmin)] : [])];
      const child = spawn('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      procs.add(child);
      const port = await new Promise<number>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`openssl ocsp did not start: ${out}`)), 10_000);
        const onData = (b: Buffer) => {
          out += b.toString();
          const m = /ACCEPT \S*:(\d+)/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(Number(m[1]));
          }
        };
        child.stdout!.on('data', onData);
        child.stderr!.on('data', onData);
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`openssl ocsp exited (${code}): ${out}`));
        });
      });
      const url = `http://127.0.0.1:${port}`;
      running.add(url);
      return {
        port,
        url,
        stop: () => {
          running.delete(url);
          return stopChild(child).then(() => void procs.delete(child));
        },
      };
    },
    cleanup() {
      for (const p of procs) p.kill();
      pki.cleanup();
    },
  };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill();
  });
}

/** What a stand-in responder does with one request: answer these bytes, an HTTP status, never answer, or reset the connection. */
export type FakeAnswer = Buffer | { status: number } | 'hang' | 'reset';

/** An HTTP server standing in for a responder (or relaying to a real one): `answer` decides per request. */
export async function startFakeResponder(answer: (request: Buffer) => FakeAnswer | Promise<FakeAnswer>): Promise<Responder & { requests: Buffer[] }> {
  const requests: Buffer[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      requests.push(body);
      const a = await answer(body);
      if (a === 'hang') return;
      if (a === 'reset') {
        req.socket.destroy();
        return;
      }
      if (!Buffer.isBuffer(a)) {
        res.writeHead(a.status);
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/ocsp-response' });
      res.end(a);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    requests,
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Sends an OCSP request on to a real responder and returns its answer (for a stand-in that switches between responders). */
export async function relay(url: string, request: Buffer): Promise<Buffer> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: request, signal: AbortSignal.timeout(10_000) });
  return Buffer.from(await res.arrayBuffer());
}

/** A port on which nothing listens (bound once, then closed). */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
