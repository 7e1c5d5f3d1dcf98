// OCSP for client certificates (src/tls/ocsp/client-gate.ts issuerOf): node links above the leaf the first certificate
// whose name, compared without case, and key identifier match the leaf's issuer, and drops the others. Re-review of
// 2026-12-02: a revoked leaf sent with an expired look-alike of its intermediate named in other letter case, and the
// real intermediate after it, was admitted under soft (the real issuer never reached the gate, and the look-alike was
// not recognised as one by an exact name comparison). Any certificate node links above the leaf that did not sign it
// is now forged_issuer. A responder run by `openssl ocsp`.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect, type TLSSocket } from 'node:tls';
import { fspiopHeaders, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { makeTestPki, type TestPki } from '../helpers/pki.js';

let pki: TestPki;
let t: TestGateway;
let responder: ChildProcess;
let leafPem = '';
let leafKey = '';
let interPem = '';
let forgedInterPem = '';
const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: pki.dir, stdio: 'pipe' });

before(async () => {
  pki = makeTestPki();
  const dir = pki.dir;
  pki.write('ca.key', pki.ca.keyPem);
  // Intermediate CA under the root.
  writeFileSync(join(dir, 'inter.key'), generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(
    join(dir, 'inter.cnf'),
    '[req]\ndistinguished_name=dn\nx509_extensions=ext\nprompt=no\n[dn]\n[ext]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign,digitalSignature\nsubjectKeyIdentifier=hash\n',
  );
  openssl([
    'req',
    '-x509',
    '-new',
    '-config',
    'inter.cnf',
    '-key',
    'inter.key',
    '-subj',
    '/CN=review intermediate',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-set_serial',
    '0x7011',
    '-days',
    '2',
    '-sha256',
    '-out',
    'inter.pem',
  ]);
  interPem = readFileSync(join(dir, 'inter.pem'), 'utf8');
  // OCSP responder for the intermediate's certificates: the leaf is listed as revoked.
  const serial = '5A5A5A5A01';
  const goodSerial = '5A5A5A5A02';
  const far = '301231000000Z';
  writeFileSync(
    join(dir, 'idx.txt'),
    `R\t${far}\t240101000000Z,keyCompromise\t${serial}\tunknown\t/CN=dfsprev\nV\t${far}\t\t${goodSerial}\tunknown\t/CN=dfspgood\n`,
  );
  writeFileSync(join(dir, 'idx.txt.attr'), 'unique_subject = no\n');
  responder = spawn('openssl', ['ocsp', '-index', 'idx.txt', '-port', '0', '-CA', 'inter.pem', '-rsigner', 'inter.pem', '-rkey', 'inter.key', '-nmin', '5'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const on = (b: Buffer) => {
      out += b.toString();
      const m = /ACCEPT \S*:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    };
    responder.stdout!.on('data', on);
    responder.stderr!.on('data', on);
    setTimeout(() => reject(new Error(out)), 10_000);
  });
  // Leaf under the intermediate naming that responder.
  leafKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  writeFileSync(join(dir, 'leaf.key'), leafKey);
  writeFileSync(
    join(dir, 'leaf.cnf'),
    `[req]\ndistinguished_name=dn\nx509_extensions=ext\nprompt=no\n[dn]\n[ext]\nbasicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\nauthorityInfoAccess=OCSP;URI:http://127.0.0.1:${port}\n`,
  );
  openssl([
    'req',
    '-x509',
    '-new',
    '-config',
    'leaf.cnf',
    '-key',
    'leaf.key',
    '-subj',
    '/CN=dfsprev',
    '-CA',
    'inter.pem',
    '-CAkey',
    'inter.key',
    '-set_serial',
    `0x${serial}`,
    '-days',
    '2',
    '-sha256',
    '-out',
    'leaf.pem',
  ]);
  leafPem = readFileSync(join(dir, 'leaf.pem'), 'utf8');
  openssl([
    'req',
    '-x509',
    '-new',
    '-config',
    'leaf.cnf',
    '-key',
    'leaf.key',
    '-subj',
    '/CN=dfspgood',
    '-CA',
    'inter.pem',
    '-CAkey',
    'inter.key',
    '-set_serial',
    `0x${goodSerial}`,
    '-days',
    '2',
    '-sha256',
    '-out',
    'good.pem',
  ]);
  // An EXPIRED look-alike of the intermediate: same subject and key identifier, another key. OpenSSL prefers the
  // time-valid real intermediate when building the chain; node links the first name/AKI match (no time or signature check).
  const ski = /([0-9A-F]{2}(:[0-9A-F]{2}){19})/
    .exec(openssl(['x509', '-in', 'inter.pem', '-noout', '-ext', 'subjectKeyIdentifier']).toString())![1]!
    .replace(/:/g, '');
  // Self-signed with the attacker's own key: no CA involved. EC like the real one (OpenSSL's X509_check_issued wants the issuer key to match the leaf's signature algorithm).
  writeFileSync(join(dir, 'forged.key'), generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
  openssl(['req', '-new', '-key', 'forged.key', '-subj', '/CN=REVIEW INTERMEDIATE', '-out', 'forged.csr']);
  writeFileSync(join(dir, 'fidx.txt'), '');
  writeFileSync(join(dir, 'fserial'), '7012\n');
  writeFileSync(
    join(dir, 'fca.cnf'),
    `[ca]\ndefault_ca=d\n[d]\ndatabase=fidx.txt\nnew_certs_dir=.\nserial=fserial\ndefault_md=sha256\npolicy=pol\nunique_subject=no\n[pol]\ncommonName=supplied\n[ext]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign,digitalSignature\nsubjectKeyIdentifier=${ski.match(/../g)!.join(':')}\n`,
  );
  // Issued (validly) by a CA of the attacker's own, named /CN=attacker helper: so node, after linking the look-alike,
  // finds nothing above it among the sent certificates (the real intermediate is not linked at all).
  writeFileSync(join(dir, 'helper.key'), generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
  openssl(['req', '-x509', '-new', '-config', 'inter.cnf', '-key', 'helper.key', '-subj', '/CN=attacker helper', '-days', '2', '-out', 'helper.pem']);
  writeFileSync(join(dir, 'fca.cnf'), readFileSync(join(dir, 'fca.cnf'), 'utf8') + 'authorityKeyIdentifier=keyid\n');
  openssl([
    'ca',
    '-batch',
    '-config',
    'fca.cnf',
    '-cert',
    'helper.pem',
    '-keyfile',
    'helper.key',
    '-in',
    'forged.csr',
    '-out',
    'forged.pem',
    '-startdate',
    '20200101000000Z',
    '-enddate',
    '20200201000000Z',
    '-extensions',
    'ext',
    '-notext',
  ]);
  forgedInterPem = readFileSync(join(dir, 'forged.pem'), 'utf8');
  t = await startTestGateway({ pki, env: { OCSP_POLICY: 'soft', OCSP_TIMEOUT_MS: '2000' } });
});
after(async () => {
  await t?.close();
  responder?.kill();
  pki?.cleanup();
});

/** One GET /parties on a fresh TLS connection (resuming `session` when given): the status line or 'closed', the session tickets seen, and whether it resumed. */
function attempt(
  session?: Buffer,
  o: { gw?: TestGateway; cert?: string; cn?: string; chain?: string } = {},
): Promise<{ line: string; ticket?: Buffer; reused: boolean }> {
  return new Promise((resolve) => {
    let ticket: Buffer | undefined;
    let answer = '';
    let reused = false;
    const s: TLSSocket = connect({
      host: '127.0.0.1',
      port: (o.gw ?? t).gw.inbound.port,
      servername: 'localhost',
      ca: pki.ca.certPem,
      cert: (o.cert ?? leafPem) + (o.chain ?? interPem),
      key: leafKey,
      ...(session ? { session } : {}),
    });
    s.on('session', (b: Buffer) => {
      ticket = b;
    });
    s.on('data', (d: Buffer) => {
      answer += d.toString();
      if (answer.includes('\r\n\r\n')) s.end();
    });
    s.once('error', () => {});
    s.once('close', () => resolve({ line: answer.split('\r\n')[0] || 'closed', ...(ticket ? { ticket } : {}), reused }));
    s.once('secureConnect', () => {
      reused = s.isSessionReused();
      const h = fspiopHeaders('parties', o.cn ?? 'dfsprev');
      s.write(
        `GET /parties/MSISDN/1 HTTP/1.1\r\nhost: localhost\r\n${Object.entries(h)
          .map(([k, v]) => `${k}: ${v}`)
          .join('\r\n')}\r\n\r\n`,
      );
      setTimeout(() => s.destroy(), 3000);
    });
  });
}

test('OCSP soft: a revoked leaf behind an expired look-alike of its intermediate named in other letter case is refused', async () => {
  assert.equal((await attempt()).line, 'closed', 'control: the revoked leaf with its real chain is refused');
  const before = t.stub.requests.length;
  const r = await attempt(undefined, { chain: forgedInterPem + interPem });
  assert.ok(!r.reused, 'a full handshake');
  // Expected: closed (the responder says revoked). Observed: 202 (issuer not found → "error" → soft admits).
  assert.equal(r.line, 'closed', `full handshake with a look-alike intermediate: ${r.line}`);
  assert.equal(t.stub.requests.length, before);
});
