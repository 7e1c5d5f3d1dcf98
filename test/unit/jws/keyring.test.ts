// The signing keyring: RFC 7638 kids (checked against jose), the manifest format, key states over time, and
// `keys rotate` planned over a real directory (staged, unchanged, pruned, emergency).
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { calculateJwkThumbprint, exportJWK } from 'jose';
import { jwkThumbprint, publicJwk } from '../../../src/jws/jwk.js';
import { basicIso, type Keyring, keyringPaths, nextChangeAt, parseKeyring, serializeKeyring, statesAt } from '../../../src/jws/keyring.js';
import { DAY_MS, directoryKeyStore, rotateSigningKey } from '../../../src/jws/rotate.js';

const root = mkdtempSync(join(tmpdir(), 'sg-keyring-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => {
  const d = join(root, `d${n++}`);
  mkdirSync(d);
  return d;
};
const readdir = (d: string) => readdirSync(d).sort();

const rsaPem = () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
const ecPem = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'sec1', format: 'pem' }) as string;
const kidOf = (pem: string) => jwkThumbprint(createPublicKey(pem));

test('kid = RFC 7638 thumbprint, the same as jose computes; the JWK carries only standard members', async () => {
  for (const [pem, alg, members] of [
    [rsaPem(), 'RS256', ['alg', 'e', 'kid', 'kty', 'n', 'use']],
    [ecPem(), 'ES256', ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']],
  ] as const) {
    const pub = createPublicKey(pem);
    const expected = await calculateJwkThumbprint(await exportJWK(pub), 'sha256');
    assert.equal(jwkThumbprint(pub), expected);
    const jwk = publicJwk(pub, alg);
    assert.equal(jwk.kid, expected);
    assert.equal(jwk.use, 'sig');
    assert.equal(jwk.alg, alg);
    assert.deepEqual(Object.keys(jwk).sort(), [...members]);
    // The published JWK is a usable verification key.
    assert.ok(createPublicKey({ key: jwk as unknown as import('node:crypto').JsonWebKey, format: 'jwk' }).equals(pub));
  }
  // RFC 7638 §3.1's own example key and thumbprint.
  const rfc = {
    kty: 'RSA',
    n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
    e: 'AQAB',
  };
  assert.equal(jwkThumbprint(createPublicKey({ key: rfc, format: 'jwk' })), 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
});

const T0 = Date.parse('2027-01-01T00:00:00Z');
const KID = (c: string) => c.repeat(43);

test('the manifest: strict parse, round trip, each key state over time', () => {
  const ring: Keyring = {
    keys: [
      { file: 'signing.key', kid: KID('a'), alg: 'RS256', activateAt: T0 - DAY_MS, publishedAt: T0 - DAY_MS, retireAt: T0 + 2 * DAY_MS },
      { file: `signing.${basicIso(T0 + DAY_MS)}.bbbb.key`, kid: KID('b'), alg: 'ES256', activateAt: T0 + DAY_MS, publishedAt: T0 },
    ],
    revoked: [{ kid: KID('z'), revokedAt: T0 - 5 * DAY_MS, reason: 'leaked' }],
  };
  assert.deepEqual(parseKeyring(serializeKeyring(ring)), ring);
  assert.equal(basicIso(T0 + DAY_MS), '20270102T000000Z');
  assert.deepEqual(keyringPaths('/etc/sg/signing.key'), { dir: '/etc/sg', base: 'signing.key', stem: 'signing', manifest: 'signing.keyring.json' });
  const at = (t: number) => statesAt(ring, t).map((k) => k.state);
  assert.deepEqual(at(T0), ['current', 'next']);
  assert.deepEqual(at(T0 + DAY_MS), ['previous', 'current'], 'the next key signs from its activation');
  assert.deepEqual(at(T0 + 2 * DAY_MS), ['expired', 'current'], 'the previous key retires at its retire time');
  assert.equal(nextChangeAt(ring, T0), T0 + DAY_MS);
  assert.equal(nextChangeAt(ring, T0 + DAY_MS), T0 + 2 * DAY_MS);
  assert.equal(nextChangeAt(ring, T0 + 3 * DAY_MS), undefined);
  // A revoked kid is revoked whatever its times say, and never current.
  const hostile = { ...ring, revoked: [{ kid: KID('b'), revokedAt: T0, reason: 'x' }] };
  assert.deepEqual(
    statesAt(hostile, T0 + DAY_MS).map((k) => k.state),
    ['current', 'revoked'],
  );

  const doc = JSON.parse(serializeKeyring(ring));
  const bad = (mut: (d: any) => void, msg: RegExp) => {
    const d = structuredClone(doc);
    mut(d);
    assert.throws(() => parseKeyring(JSON.stringify(d)), msg);
  };
  assert.throws(() => parseKeyring('{'), /keyring: not JSON/);
  bad((d) => (d.version = 2), /version/);
  bad((d) => (d.keys = []), /non-empty/);
  bad((d) => (d.keys[0].file = '../x.key'), /plain file name/);
  bad((d) => (d.keys[0].file = '.hidden'), /plain file name/);
  bad((d) => (d.keys[0].kid = 'short'), /thumbprint/);
  bad((d) => (d.keys[0].alg = 'none'), /algorithm/);
  bad((d) => (d.keys[1].kid = d.keys[0].kid), /repeats/);
  bad((d) => (d.keys[0].activateAt = 'tomorrow'), /ISO 8601/);
  bad((d) => (d.keys[0].retireAt = d.keys[0].activateAt), /after/);
  bad((d) => (d.revoked = [{ kid: 'x' }]), /revoked\[0\]/);
});

test('keys rotate over a directory: stage with overlap, idempotent while staged, prune after retention', async () => {
  const dir = freshDir();
  const base = rsaPem();
  writeFileSync(join(dir, 'signing.key'), base, { mode: 0o640 });
  writeFileSync(join(dir, 'other-fsp.key'), 'not ours');
  const store = directoryKeyStore(dir, 'signing.key');

  const r1 = await rotateSigningKey(store, { keyFile: 'signing.key', now: T0 });
  assert.equal(r1.outcome, 'staged');
  assert.equal(r1.activateAt, T0 + 2 * DAY_MS, 'default publish-ahead: two days');
  const file1 = `signing.20270103T000000Z.${r1.kid.slice(0, 12)}.key`;
  assert.deepEqual(r1.written, [file1, 'signing.keyring.json']);
  assert.deepEqual(r1.removed, []);
  assert.equal(readFileSync(join(dir, 'signing.key'), 'utf8'), base, 'the current key file is untouched');
  assert.equal(statSync(join(dir, file1)).mode & 0o777, 0o640, 'same mode as JWS_SIGNING_KEY_PATH');
  assert.equal(kidOf(readFileSync(join(dir, file1), 'utf8')), r1.kid);
  const ring1 = parseKeyring(readFileSync(join(dir, 'signing.keyring.json'), 'utf8'));
  assert.deepEqual(
    ring1.keys.map((k) => [k.file, k.kid, k.activateAt, k.retireAt]),
    [
      ['signing.key', kidOf(base), T0, T0 + 4 * DAY_MS],
      [file1, r1.kid, T0 + 2 * DAY_MS, undefined],
    ],
  );
  assert.deepEqual(readdir(dir), ['other-fsp.key', 'signing.key', 'signing.keyring.json', file1].sort(), 'no temporary file left');

  // Run again before the activation (a CronJob retry): nothing changes.
  const again = await rotateSigningKey(store, { keyFile: 'signing.key', now: T0 + DAY_MS });
  assert.equal(again.outcome, 'unchanged');
  assert.equal(again.kid, r1.kid);
  assert.deepEqual(parseKeyring(readFileSync(join(dir, 'signing.keyring.json'), 'utf8')), ring1);

  // A month later: the first key expired long ago; it leaves the manifest, and JWS_SIGNING_KEY_PATH becomes a
  // copy of the key signing now (it must keep naming a live key).
  const month = T0 + 30 * DAY_MS;
  const r2 = await rotateSigningKey(store, { keyFile: 'signing.key', now: month, activateAt: month + 3 * DAY_MS, retainMs: DAY_MS, alg: 'ES256' });
  assert.equal(r2.outcome, 'staged');
  const ring2 = r2.ring;
  assert.deepEqual(
    ring2.keys.map((k) => [k.kid, k.alg, k.activateAt, k.retireAt]),
    [
      [r1.kid, 'RS256', T0 + 2 * DAY_MS, month + 4 * DAY_MS],
      [r2.kid, 'ES256', month + 3 * DAY_MS, undefined],
    ],
  );
  assert.equal(kidOf(readFileSync(join(dir, 'signing.key'), 'utf8')), r1.kid, 'signing.key now holds the current key');
  assert.deepEqual(r2.removed, [], 'signing.key is rewritten, never removed');
  assert.equal(readFileSync(join(dir, 'other-fsp.key'), 'utf8'), 'not ours');

  await assert.rejects(rotateSigningKey(store, { keyFile: 'signing.key', now: month + 4 * DAY_MS, activateAt: month }), /future/);
});

test('keys rotate --emergency: new key current now, every other key revoked and its file removed; a revoked key never returns', async () => {
  const dir = freshDir();
  const base = rsaPem();
  writeFileSync(join(dir, 'hub.key'), base);
  const store = directoryKeyStore(dir, 'hub.key');
  const staged = await rotateSigningKey(store, { keyFile: 'hub.key', now: T0 });
  const e = await rotateSigningKey(store, { keyFile: 'hub.key', now: T0 + 1000, emergency: true, reason: 'key leaked in a log' });
  assert.equal(e.outcome, 'emergency');
  assert.equal(e.activateAt, T0 + 1000);
  assert.deepEqual([...e.revoked].sort(), [kidOf(base), staged.kid].sort());
  assert.deepEqual(e.removed, [`hub.20270103T000000Z.${staged.kid.slice(0, 12)}.key`]);
  assert.ok(!existsSync(join(dir, e.removed[0]!)));
  assert.equal(kidOf(readFileSync(join(dir, 'hub.key'), 'utf8')), e.kid, 'the compromised key file is overwritten');
  const ring = parseKeyring(readFileSync(join(dir, 'hub.keyring.json'), 'utf8'));
  assert.deepEqual(
    statesAt(ring, T0 + 1000).map((k) => [k.entry.kid, k.state]),
    [[e.kid, 'current']],
  );
  assert.deepEqual(
    ring.revoked.map((r) => [r.kid, r.reason]),
    e.revoked.map((k) => [k, 'key leaked in a log']),
  );
  // The revoked key cannot be brought back as a new key.
  await assert.rejects(rotateSigningKey(store, { keyFile: 'hub.key', now: T0 + 2000, newKeyPem: base }), /revoked/);
  // The records survive later rotations.
  const later = await rotateSigningKey(store, { keyFile: 'hub.key', now: T0 + 40 * DAY_MS });
  assert.equal(later.ring.revoked.length, 2);
});
