// The strict reading of IN_CA_CERT_PATH and IN_CRL_PATH (src/tls/crl.ts), checked against OpenSSL's own reading
// of the same CRLs (`openssl crl -text`): validity and revoked serials; and the files a reload must refuse.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createCa, createCrl, issueCert } from '../../../src/pki/forge-pki.js';
import { certificateSerial, readCaBundle, readCrlFile } from '../../../src/tls/crl.js';

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
    assert.equal(crl.ca, cas[0]);
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
      crls.map((c) => c.ca),
      [cas[1], cas[0]],
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
    // thisUpdate is a minute ago: at a clock 10 minutes behind, the CRL is not valid yet; 4 minutes behind is skew.
    assert.throws(() => readCrlFile(createCrl(ca, []) + createCrl(ca2, []), cas, now - 10 * 60_000), /not valid before/);
    assert.equal(readCrlFile(createCrl(ca, []) + createCrl(ca2, []), cas, now - 4 * 60_000).length, 2);
  });
});

describe('a CA file', () => {
  test('every certificate of the bundle, handed on block by block (text around the blocks left out)', () => {
    const { certs, pems } = readCaBundle(`junk before ${ca.certPem}\r\n${ca2.certPem}trailing`);
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
    ] as const)
      assert.throws(() => readCaBundle(text), message, name);
  });
});
