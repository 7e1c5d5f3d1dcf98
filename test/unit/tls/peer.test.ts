import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { GatewayError } from '../../../src/errors.js';
import { loadIdentityMap, peerFromCertificate } from '../../../src/tls/peer.js';

const FP = `${'AB:CD:'.repeat(15)}AB:CD`;
const cert = {
  subject: { CN: 'dfsp-cn', O: 'x' },
  subjectaltname: 'IP Address:127.0.0.1, DNS:dfsp-san, URI:spiffe://x',
  fingerprint256: FP,
  valid_to: 'Jan  1 00:00:00 2030 GMT',
};
const code = (f: () => unknown) => {
  try {
    f();
    return 'ok';
  } catch (e) {
    return (e as GatewayError).code;
  }
};

test('CN by default, the DNS/URI SAN when asked', () => {
  assert.equal(peerFromCertificate(cert, { from: 'cn', map: () => undefined }).fspId, 'dfsp-cn');
  assert.equal(
    peerFromCertificate(
      { ...cert, subject: { CN: 'dfsp-san' }, subjectaltname: 'IP Address:127.0.0.1, DNS:dfsp-san, URI:dfsp-san' },
      { from: 'san', map: () => undefined },
    ).fspId,
    'dfsp-san',
  );
  assert.equal(peerFromCertificate(cert, { from: 'cn', map: () => undefined }).validTo.getUTCFullYear(), 2030);
});

test('identity map: by fingerprint (any case, colons optional) or CN, consulted first; map-only refuses unmapped certificates', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sg-map-'));
  try {
    const path = join(dir, 'map.json');
    writeFileSync(path, JSON.stringify({ [FP.replace(/:/g, '').toLowerCase()]: 'mapped-fsp', 'other-cn': 'other-fsp' }));
    const map = loadIdentityMap(path);
    assert.equal(peerFromCertificate(cert, { from: 'cn', map: () => map }).fspId, 'mapped-fsp');
    assert.equal(
      peerFromCertificate({ ...cert, fingerprint256: `${'EE:'.repeat(31)}EE`, subject: { CN: 'other-cn' } }, { from: 'map', map: () => map }).fspId,
      'other-fsp',
    );
    assert.equal(
      code(() => peerFromCertificate({ ...cert, fingerprint256: `${'EE:'.repeat(31)}EE` }, { from: 'map', map: () => map })),
      'GW_PEER_IDENTITY_UNKNOWN',
    );
    writeFileSync(path, JSON.stringify({ x: 'not a valid id with spaces' }));
    assert.throws(() => loadIdentityMap(path));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("identity map: a CN that spells a mapped certificate's fingerprint is a CN, never that certificate, in every mode", () => {
  const dir = mkdtempSync(join(tmpdir(), 'sg-map-'));
  try {
    const path = join(dir, 'map.json');
    // The victim's certificate is mapped by its (public) fingerprint; the attacker's CN spells it, in each spelling
    // the map accepts for a fingerprint key.
    writeFileSync(path, JSON.stringify({ [FP]: 'dfsp1' }));
    const map = loadIdentityMap(path);
    const other = `${'EE:'.repeat(31)}EE`;
    for (const spelled of [FP.replace(/:/g, ''), FP.replace(/:/g, '').toLowerCase(), FP]) {
      const attacker = { ...cert, fingerprint256: other, subject: { CN: spelled }, subjectaltname: 'DNS:dfsp9' };
      assert.equal(
        code(() => peerFromCertificate(attacker, { from: 'map', map: () => map })),
        'GW_PEER_IDENTITY_UNKNOWN',
        spelled,
      );
      assert.notEqual(
        code(() => peerFromCertificate(attacker, { from: 'cn', map: () => map })),
        'ok',
        spelled,
      );
      // san: the CN differs from the SAN, as without a map.
      assert.equal(
        code(() => peerFromCertificate(attacker, { from: 'san', map: () => map })),
        'GW_PEER_IDENTITY_AMBIGUOUS',
        spelled,
      );
    }
    // The victim's own certificate still binds by its fingerprint.
    assert.equal(peerFromCertificate({ ...cert, subject: { CN: 'anything' } }, { from: 'map', map: () => map }).fspId, 'dfsp1');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('identity map: a fingerprint written another way, or twice, is refused rather than filed as a CN', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sg-map-'));
  try {
    const path = join(dir, 'map.json');
    const hex = FP.replace(/:/g, '');
    const b64 = Buffer.from(hex, 'hex').toString('base64');
    const sha1 = 'AB'.repeat(20);
    for (const key of [
      `sha256:${hex}`,
      `SHA256 Fingerprint=${FP}`,
      hex.match(/../g)?.join(' ') as string,
      `${hex.toLowerCase()} `,
      hex.match(/../g)?.join('-') as string,
      hex.match(/../g)?.join('_') as string,
      `0x${hex}`,
      b64,
      `SHA256:${b64.replace(/=+$/, '')}`,
      `sha256:${Buffer.from(hex, 'hex').toString('base64url')}`,
      `SHA1 Fingerprint=${sha1.match(/../g)?.join(':')}`,
      Buffer.from(sha1, 'hex').toString('base64'),
    ]) {
      writeFileSync(path, JSON.stringify({ [key]: 'dfsp1' }));
      assert.throws(() => loadIdentityMap(path), /^Error: identity map key .* holds a fingerprint in another form/, key);
    }
    writeFileSync(path, JSON.stringify({ ['x'.repeat(65)]: 'dfsp1' }));
    assert.throws(() => loadIdentityMap(path), /longer than a subject CN can be/);
    writeFileSync(path, JSON.stringify({ [FP]: 'dfsp1', [hex.toLowerCase()]: 'dfsp2' }));
    assert.throws(() => loadIdentityMap(path), /two keys for the fingerprint/);
    // CNs, even long hex-looking ones shorter than a fingerprint, or long names with dashes, stay CN keys.
    const cns = ['Payer Bank Ltd', hex.slice(0, 62), 'payer-bank-of-kenya-nairobi-branch-office-2026', 'dfsp-7f3a', 'CN with spaces and 0123456789abcdef'];
    writeFileSync(path, JSON.stringify(Object.fromEntries(cns.map((k, i) => [k, `dfsp${i}`]))));
    assert.equal(loadIdentityMap(path).subjects.size, cns.length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('identity map with PEER_IDENTITY_FROM=san: a CN entry binds only when the SANs, if any, name the same FSP', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sg-map-'));
  try {
    const path = join(dir, 'map.json');
    writeFileSync(path, JSON.stringify({ 'Payer Bank Ltd': 'dfsp1' }));
    const map = loadIdentityMap(path);
    const bank = (subjectaltname: string | undefined) => ({
      ...cert,
      fingerprint256: `${'EE:'.repeat(31)}EE`,
      subject: { CN: 'Payer Bank Ltd' },
      subjectaltname,
    });
    assert.equal(peerFromCertificate(bank(undefined), { from: 'san', map: () => map }).fspId, 'dfsp1');
    assert.equal(peerFromCertificate(bank('DNS:dfsp1, IP Address:10.0.0.1'), { from: 'san', map: () => map }).fspId, 'dfsp1');
    assert.equal(
      code(() => peerFromCertificate(bank('DNS:dfsp9'), { from: 'san', map: () => map })),
      'GW_PEER_IDENTITY_AMBIGUOUS',
    );
    assert.equal(
      code(() => peerFromCertificate(bank('DNS:dfsp1, URI:dfsp9'), { from: 'san', map: () => map })),
      'GW_PEER_IDENTITY_AMBIGUOUS',
    );
    // The CN source takes the operator's CN entry as it is.
    assert.equal(peerFromCertificate(bank('DNS:dfsp9'), { from: 'cn', map: () => map }).fspId, 'dfsp1');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('no certificate, or a CN that is not an FSP id, is refused', () => {
  assert.equal(
    code(() => peerFromCertificate({}, { from: 'cn', map: () => undefined })),
    'GW_PEER_IDENTITY_UNKNOWN',
  );
  assert.equal(
    code(() => peerFromCertificate({ ...cert, subject: { CN: 'has space' } }, { from: 'cn', map: () => undefined })),
    'GW_PEER_IDENTITY_UNKNOWN',
  );
  assert.equal(
    code(() => peerFromCertificate({ ...cert, subjectaltname: 'IP Address:127.0.0.1' }, { from: 'san', map: () => undefined })),
    'GW_PEER_IDENTITY_UNKNOWN',
  );
});
