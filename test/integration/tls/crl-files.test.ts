// The strict reading of IN_CA_CERT_PATH and IN_CRL_PATH (src/tls/crl.ts), checked against OpenSSL's own reading
// of the same CRLs (`openssl crl -text`, CRLs made by `openssl ca -gencrl`): validity and revoked serials; the
// files a reload must refuse; and a CRL not valid yet taken by itself when it becomes valid (src/tls/material.ts).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import forge from 'node-forge';
import { createCa, createCrl, issueCert } from '../../../src/pki/forge-pki.js';
import { CrlNotYetValid, certificateSerial, readCaBundle, readCrlFile } from '../../../src/tls/crl.js';
import { TlsReloader } from '../../../src/tls/material.js';
import { makeTestPki } from '../../helpers/pki.js';

const tmp = mkdtempSync(join(tmpdir(), 'sg-crl-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const ca = createCa({ cn: 'crl test CA' });
const ca2 = createCa({ cn: 'second CA' });
const sameName = createCa({ cn: 'crl test CA' }); // same subject, another key
const a = issueCert(ca, { cn: 'dfsp1', usage: 'client' });
const b = issueCert(ca, { cn: 'dfsp2', usage: 'client' });
const x509 = (pem: string) => new X509Certificate(pem);
const cas = [x509(ca.certPem), x509(ca2.certPem)];
const now = Date.now();

function openssl(pem: string): string {
  const f = join(tmp, `c${Math.random().toString(36).slice(2)}.pem`);
  writeFileSync(f, pem);
  return execFileSync('openssl', ['crl', '-in', f, '-noout', '-text'], { encoding: 'utf8' });
}

describe('one CRL', () => {
  test('its CA, nextUpdate and revoked serials as OpenSSL reads them, serials as the certificates carry them', () => {
    const pem = createCrl(ca, [a.serialHex, b.serialHex], { nextUpdateDays: 7 });
    const [crl] = readCrlFile(pem + createCrl(ca2, []), cas, now);
    assert.ok(crl);
    assert.deepEqual(crl.cas, [cas[0]]);
    const text = openssl(pem);
    const serials = [...text.matchAll(/Serial Number: ([0-9A-F]+)/gi)].map((m) => (m[1] as string).toUpperCase());
    assert.deepEqual([...crl.revoked].sort(), serials.sort());
    assert.deepEqual([...crl.revoked].sort(), [a, b].map((c) => certificateSerial(new Uint8Array(x509(c.certPem).raw))).sort());
    assert.equal(crl.nextUpdate?.getTime(), Date.parse(/Next Update: (.+)/.exec(text)?.[1] as string));
  });

  test('a CRL of 100 000 entries loads (no parser node limit)', () => {
    const serials = Array.from({ length: 100_000 }, (_, i) => (0x100000 + i).toString(16));
    const [crl] = readCrlFile(createCrl(ca, serials) + createCrl(ca2, []), cas, now);
    assert.equal(crl?.revoked.size, 100_000);
  });
});

describe('a CRL file', () => {
  test('one CRL per CA, in any order', () => {
    const crls = readCrlFile(createCrl(ca2, []) + createCrl(ca, [a.serialHex]), cas, now);
    assert.deepEqual(
      crls.map((c) => c.cas),
      [[cas[1]], [cas[0]]],
    );
  });

  test('refused: two CRLs of one CA, a CA without a CRL, a CRL of another key, expired, not yet valid, incomplete, another block type, nothing, garbage', () => {
    const refusals: [string, string, RegExp][] = [
      ['two of one CA', createCrl(ca, []) + createCrl(ca, [a.serialHex]) + createCrl(ca2, []), /second CRL of/],
      ['a CA without one', createCrl(ca, []), /no CRL of .*second CA/],
      ['signed by a same-named CA with another key', createCrl(sameName, []) + createCrl(ca2, []), /not signed by any CA/],
      ['expired', createCrl(ca, [], { nextUpdateDays: -1 }) + createCrl(ca2, []), /expired/],
      ['truncated', createCrl(ca, []).slice(0, 200), /incomplete PEM block/],
      ['a certificate', a.certPem, /CERTIFICATE block/],
      ['empty', '', /no X509 CRL/],
      ['garbage in a block', '-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n', /does not parse/],
    ];
    for (const [name, text, message] of refusals) assert.throws(() => readCrlFile(text, cas, now), message, name);
    // thisUpdate is a minute ago (createCrl): at a clock two minutes behind, the CRL is not valid yet, as OpenSSL
    // would judge it; the error says when it will be (the reload is tried again then).
    const early = createCrl(ca, []) + createCrl(ca2, []);
    assert.throws(
      () => readCrlFile(early, cas, now - 2 * 60_000),
      (e: unknown) => e instanceof CrlNotYetValid && /not valid before/.test(e.message) && Math.abs(e.validFrom - (now - 60_000)) < 5_000,
    );
  });
});

describe('a CA file', () => {
  test('every certificate of the bundle, handed on block by block (text around the blocks left out)', () => {
    const { certs, pems } = readCaBundle(`junk before\n# paste each -----BEGIN block below\n${ca.certPem}\r\n${ca2.certPem}trailing`);
    assert.equal(certs.length, 2);
    assert.deepEqual(
      pems.map((p) => p.startsWith('-----BEGIN CERTIFICATE-----')),
      [true, true],
    );
  });

  test('refused: no certificate, garbage, a truncated bundle, a key in it', () => {
    for (const [name, text, message] of [
      ['empty', '', /no CERTIFICATE/],
      ['garbage', 'not a certificate\n', /no CERTIFICATE/],
      ['truncated', ca.certPem + ca2.certPem.slice(0, 300), /incomplete PEM block/],
      ['a key', ca.certPem + ca.keyPem, /PRIVATE KEY block/],
      ['a block right after an END, on its line', ca.certPem.trimEnd() + ca2.certPem, /text after the END line of PEM block 1/],
      ['a BEGIN line inside a block', ca.certPem.replace('\n', '\n-----BEGIN CERTIFICATE-----\n'), /incomplete PEM block 1 of 2/],
      // One pass: 50 000 BEGIN lines without their END are refused as they are read (a regex that looked for
      // each one's END to the end of the text would take minutes here).
      ['BEGIN lines without END', ca.certPem + '-----BEGIN CERTIFICATE-----\nAAAA\n'.repeat(50_000), /incomplete PEM block 2 of 50001/],
    ] as const)
      assert.throws(() => readCaBundle(text), message, name);
  });
});

describe('one CA, several certificates of it', () => {
  test('the same CA twice, or re-issued with its key and name: one CRL covers them all, a second is refused', () => {
    // Re-issued: a new certificate for the same key and subject (a CA renewal).
    const reissued = createCa({ cn: 'crl test CA' });
    reissued.cert.publicKey = ca.cert.publicKey;
    reissued.cert.sign(ca.key, forge.md.sha256.create());
    const again = x509(forge.pki.certificateToPem(reissued.cert));
    for (const bundle of [
      [cas[0], cas[0], cas[1]],
      [cas[0], again, cas[1]],
    ] as X509Certificate[][]) {
      const crls = readCrlFile(createCrl(ca, [a.serialHex]) + createCrl(ca2, []), bundle, now);
      assert.equal(crls[0]?.cas.length, 2);
      assert.throws(() => readCrlFile(createCrl(ca, []) + createCrl(ca, []) + createCrl(ca2, []), bundle, now), /second CRL of/);
    }
  });
});

describe('CRLs made by `openssl ca -gencrl`', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sg-osslca-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'crlnumber'), '01\n');
  writeFileSync(join(dir, 'ca.cnf'), '[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\ncrlnumber = crlnumber\ndefault_md = sha256\ndefault_crl_days = 1\n');
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const make = (name: string, keyArgs: string[], sigopts: string[]) => {
    run(['req', '-x509', ...keyArgs, '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-subj', `/CN=${name}`, '-days', '2']);
    run(['ca', '-gencrl', '-config', 'ca.cnf', '-keyfile', `${name}.key`, '-cert', `${name}.pem`, '-out', `${name}.crl`, ...sigopts]);
    const read = (f: string) => execFileSync('cat', [f], { cwd: dir, encoding: 'utf8' });
    return { ca: x509(read(`${name}.pem`)), crl: read(`${name}.crl`) };
  };
  for (const [name, keyArgs, sigopts] of [
    ['rsa', ['-newkey', 'rsa:2048'], []],
    ['rsa-pss', ['-newkey', 'rsa:2048'], ['-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:32']],
    ['p256', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], []],
    ['p384-sha384', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'], ['-md', 'sha384']],
    ['ed25519', ['-newkey', 'ed25519'], ['-md', 'default']],
  ] as const) {
    test(`${name}: read and paired with its CA (CRL number and AKI extensions)`, () => {
      const made = make(name, [...keyArgs], [...sigopts]);
      const [crl] = readCrlFile(made.crl, [made.ca], Date.now());
      assert.deepEqual(crl?.cas, [made.ca]);
      assert.equal(crl?.revoked.size, 0);
    });
  }
});

describe('a CRL not valid yet', () => {
  test('the reload is refused, then tried again by itself when the CRL becomes valid', async () => {
    const pki = makeTestPki();
    try {
      const events: string[] = [];
      const reloader = new TlsReloader(
        { certPath: pki.serverCertPath, keyPath: pki.serverKeyPath, caPath: pki.caPath, crlPath: pki.crlPath },
        { minVersion: 'TLSv1.2', ecdhCurve: 'auto' },
        (e) => events.push(e.outcome),
      );
      try {
        writeFileSync(pki.crlPath, createCrl(pki.ca, [], { thisUpdate: new Date(Date.now() + 1500) }));
        assert.equal(reloader.reload(), 'failed');
        const before = reloader.current.crlDigest;
        await new Promise((r) => setTimeout(r, 2500));
        // No file event: the retry at thisUpdate took the file.
        assert.deepEqual(events, ['failed', 'ok']);
        assert.notEqual(reloader.current.crlDigest, before);
      } finally {
        reloader.close();
      }
    } finally {
      pki.cleanup();
    }
  });
});
