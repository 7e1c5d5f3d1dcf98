// The strict reading of IN_CA_CERT_PATH and IN_CRL_PATH (src/tls/crl.ts), checked against OpenSSL's own reading
// of the same CRLs (`openssl crl -text`): issuer, validity and revoked serials; and the files a reload must refuse.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createCa, createCrl, issueCert } from '../../../src/pki/forge-pki.js';
import { certificateNames, readCaBundle, readCrl, readCrlFile, serialText } from '../../../src/tls/crl.js';

const tmp = mkdtempSync(join(tmpdir(), 'sg-crl-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const ca = createCa({ cn: 'crl test CA' });
const ca2 = createCa({ cn: 'second CA' });
const a = issueCert(ca, { cn: 'dfsp1', usage: 'client' });
const b = issueCert(ca, { cn: 'dfsp2', usage: 'client' });
const raw = (pem: string) => new Uint8Array(new X509Certificate(pem).raw);

function openssl(pem: string): string {
  const f = join(tmp, `c${Math.random().toString(36).slice(2)}.pem`);
  writeFileSync(f, pem);
  return execFileSync('openssl', ['crl', '-in', f, '-noout', '-text'], { encoding: 'utf8' });
}

describe('one CRL', () => {
  test('issuer, nextUpdate and revoked serials as OpenSSL reads them', () => {
    const pem = createCrl(ca, [a.serialHex, b.serialHex], { nextUpdateDays: 7 });
    const crl = readCrl(pem);
    const text = openssl(pem);
    const serials = [...text.matchAll(/Serial Number: ([0-9A-F]+)/gi)].map((m) => serialText(m[1] as string));
    assert.deepEqual([...crl.revoked].sort(), serials.sort());
    assert.deepEqual([...crl.revoked].sort(), [a, b].map((c) => serialText(new X509Certificate(c.certPem).serialNumber)).sort());
    const next = /Next Update: (.+)/.exec(text)?.[1] as string;
    assert.equal(crl.nextUpdate?.getTime(), Date.parse(next));
    // The CRL's issuer is the CA's subject, and the certificates' issuer, byte for byte.
    assert.equal(crl.issuer, certificateNames(raw(ca.certPem)).subject);
    assert.equal(crl.issuer, certificateNames(raw(a.certPem)).issuer);
    assert.notEqual(crl.issuer, certificateNames(raw(ca2.certPem)).subject);
  });

  test('a CRL revoking nothing has no revoked serials', () => {
    assert.equal(readCrl(createCrl(ca, [])).revoked.size, 0);
  });

  test('serial numbers compare without leading zeros and case', () => {
    assert.equal(serialText('00AB'), 'AB');
    assert.equal(serialText('0a0b'), 'A0B');
    assert.equal(serialText('00'), '0');
  });
});

describe('a CRL file', () => {
  const now = Date.now();
  test('every CRL of the file, one per CA', () => {
    const crls = readCrlFile(createCrl(ca, [a.serialHex]) + createCrl(ca2, []), now);
    assert.equal(crls.length, 2);
    assert.equal(crls[0]?.revoked.size, 1);
  });

  test('refused: two CRLs of one CA, an expired CRL, an incomplete block, another block type, nothing, garbage', () => {
    const refusals: [string, string, RegExp][] = [
      ['two of one CA', createCrl(ca, []) + createCrl(ca, [a.serialHex]), /same issuer/],
      ['expired', createCrl(ca, [], { nextUpdateDays: -1 }), /expired/],
      ['truncated', createCrl(ca, []).slice(0, 200), /incomplete PEM block/],
      ['a certificate', a.certPem, /CERTIFICATE block/],
      ['empty', '', /no X509 CRL/],
      ['garbage in a block', '-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n', /does not parse/],
    ];
    for (const [name, text, message] of refusals) assert.throws(() => readCrlFile(text, now), message, name);
  });
});

describe('a CA file', () => {
  test('every certificate of the bundle', () => {
    assert.equal(readCaBundle(ca.certPem + ca2.certPem).length, 2);
  });

  test('refused: no certificate, garbage, a truncated bundle, a key in it', () => {
    for (const [name, text, message] of [
      ['empty', '', /no CERTIFICATE/],
      ['garbage', 'not a certificate\n', /no CERTIFICATE/],
      ['truncated', ca.certPem + ca2.certPem.slice(0, 300), /incomplete PEM block/],
      ['a key', ca.certPem + ca.keyPem, /PRIVATE KEY block|RSA PRIVATE KEY block/],
    ] as const)
      assert.throws(() => readCaBundle(text), message, name);
  });
});
