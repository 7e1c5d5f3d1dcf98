// OCSP for client certificates finds the issuer the OCSP request names among the certificates the client sent
// (on a resumed session: in its leaf's last full handshake) and the trusted CAs, by signature
// (src/tls/ocsp/client-gate.ts). Layout: the leaf's intermediate is not in IN_CA_CERT_PATH (the root is), the client
// sends it. Hostile review of 2026-12-02, all three failed before: (1) soft served a revoked certificate on a
// resumed session, (2) hard refused a good one on every resumed session, (3) soft served a revoked one on a full
// handshake whose chain carried an expired look-alike of the intermediate first (its subject and key identifier,
// the client's own key: node links it, OpenSSL verifies through the real one). A responder run by `openssl ocsp`.
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
let goodPem = '';
let hard: TestGateway;
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
  goodPem = readFileSync(join(dir, 'good.pem'), 'utf8');
  // An EXPIRED look-alike of the intermediate: same subject and key identifier, another key. OpenSSL prefers the
  // time-valid real intermediate when building the chain; node links the first name/AKI match (no time or signature check).
  const ski = /([0-9A-F]{2}(:[0-9A-F]{2}){19})/
    .exec(openssl(['x509', '-in', 'inter.pem', '-noout', '-ext', 'subjectKeyIdentifier']).toString())![1]!
    .replace(/:/g, '');
  // Self-signed with the attacker's own key: no CA involved. EC like the real one (OpenSSL's X509_check_issued wants the issuer key to match the leaf's signature algorithm).
  writeFileSync(join(dir, 'forged.key'), generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
  openssl(['req', '-new', '-key', 'forged.key', '-subj', '/CN=review intermediate', '-out', 'forged.csr']);
  writeFileSync(join(dir, 'fidx.txt'), '');
  writeFileSync(join(dir, 'fserial'), '7012\n');
  writeFileSync(
    join(dir, 'fca.cnf'),
    `[ca]\ndefault_ca=d\n[d]\ndatabase=fidx.txt\nnew_certs_dir=.\nserial=fserial\ndefault_md=sha256\npolicy=pol\nunique_subject=no\n[pol]\ncommonName=supplied\n[ext]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign,digitalSignature\nsubjectKeyIdentifier=${ski.match(/../g)!.join(':')}\n`,
  );
  openssl([
    'ca',
    '-batch',
    '-config',
    'fca.cnf',
    '-selfsign',
    '-keyfile',
    'forged.key',
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
  hard = await startTestGateway({ pki, env: { OCSP_POLICY: 'hard', OCSP_TIMEOUT_MS: '2000' } });
});
after(async () => {
  await t?.close();
  await hard?.close();
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

test('OCSP soft: a certificate its responder reports revoked is never served, not even on a resumed session', async () => {
  const first = await attempt();
  assert.equal(first.line, 'closed', 'full handshake: refused (revoked)');
  assert.equal(t.stub.requests.length, 0);
  assert.ok(first.ticket, 'the refused connection still handed the client a session ticket');
  const second = await attempt(first.ticket);
  assert.ok(second.reused, 'the second connection resumed the session');
  // Expected: closed like the first (the certificate is revoked). Observed: HTTP/1.1 202, forwarded.
  assert.equal(second.line, 'closed', `resumed session was answered: ${second.line}`);
  assert.equal(t.stub.requests.length, 0, 'nothing from a revoked certificate reaches the upstream');
});

test('OCSP hard: a certificate its responder reports good is served on a resumed session too (availability)', async () => {
  const o = { gw: hard, cert: goodPem, cn: 'dfspgood' };
  const first = await attempt(undefined, o);
  assert.equal(first.line, 'HTTP/1.1 202 Accepted', 'full handshake: good, served');
  assert.ok(first.ticket);
  const second = await attempt(first.ticket, o);
  assert.ok(second.reused, 'the second connection resumed the session');
  // Expected: served (status good). Observed: closed (no_issuer → error → hard refuses): every resumed connection of a
  // DFSP whose intermediate is not in IN_CA_CERT_PATH is dropped.
  assert.equal(second.line, 'HTTP/1.1 202 Accepted', `resumed session: ${second.line}`);
});

test('OCSP soft: a revoked certificate is not served on a full handshake either (expired look-alike intermediate sent first)', async () => {
  const before = t.stub.requests.length;
  const r = await attempt(undefined, { chain: forgedInterPem + interPem });
  assert.ok(!r.reused, 'a full handshake');
  // Expected: closed (the responder says revoked). Observed: 202 (issuer not found → "error" → soft admits).
  assert.equal(r.line, 'closed', `full handshake with a look-alike intermediate: ${r.line}`);
  assert.equal(t.stub.requests.length, before);
});
