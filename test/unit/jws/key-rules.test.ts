// One source per fact (issue 10): algorithm names and key rules come from the algorithm table, through one
// key-fit function that verification, key-file rejection and the signing-key choice all use.
import assert from 'node:assert/strict';
import { createHash, createPublicKey, ECDH, generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { loadConfig } from '../../../src/config/load.js';
import { ALGORITHM_NAMES, ALGORITHMS, describeKey, keyFits, keyRejection, signingAlgorithmFor } from '../../../src/jws/algorithms.js';
import { jwkThumbprint, keyIdentity, spkiFingerprint } from '../../../src/jws/jwk.js';
import { PAYLOAD_FORMS } from '../../../src/jws/payload-forms.js';

const rsa = (bits: number) => generateKeyPairSync('rsa', { modulusLength: bits }).publicKey;
const ec = (namedCurve: string) => generateKeyPairSync('ec', { namedCurve }).publicKey;
/** An RSA public key of `bits` bits from a random odd modulus (no key pair of that size to generate). */
const rsaOfModulus = (bits: number, e = 'AQAB') => {
  const n = randomBytes(bits / 8);
  n[0]! |= 0x80;
  n[n.length - 1]! |= 1;
  return createPublicKey({ key: { kty: 'RSA', n: n.toString('base64url'), e }, format: 'jwk' });
};
const KEYS: Record<string, KeyObject> = {
  'RSA 1024': rsa(1024),
  'RSA 2048': rsa(2048),
  'RSA 4096': rsaOfModulus(4096),
  'RSA 4104': rsaOfModulus(4104),
  'RSA 2048, exponent 3': generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 3 }).publicKey,
  'RSA 2048, exponent 2^32+15': rsaOfModulus(2048, Buffer.from('010000000f', 'hex').toString('base64url')),
  'RSASSA-PSS 2048': generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).publicKey,
  'EC P-256': ec('P-256'),
  'EC P-384': ec('P-384'),
  Ed25519: generateKeyPairSync('ed25519').publicKey,
};

test('the key rules: which key fits which algorithm, and why a key is refused', () => {
  const fits = Object.fromEntries(Object.entries(KEYS).map(([k, key]) => [k, ALGORITHM_NAMES.filter((a) => keyFits(ALGORITHMS[a], describeKey(key)))]));
  assert.deepEqual(fits, {
    'RSA 1024': [],
    'RSA 2048': ['RS256', 'RS384', 'RS512', 'PS256'],
    'RSA 4096': ['RS256', 'RS384', 'RS512', 'PS256'],
    'RSA 4104': [],
    'RSA 2048, exponent 3': [],
    'RSA 2048, exponent 2^32+15': [],
    'RSASSA-PSS 2048': [],
    'EC P-256': ['ES256'],
    'EC P-384': [],
    Ed25519: [],
  });
  const rejections = Object.fromEntries(Object.entries(KEYS).map(([k, key]) => [k, keyRejection(key)]));
  assert.deepEqual(rejections, {
    'RSA 1024': 'RSA key under 2048 bits',
    'RSA 2048': undefined,
    'RSA 4096': undefined,
    'RSA 4104': 'RSA key over 4096 bits',
    'RSA 2048, exponent 3': 'RSA public exponent not 65537',
    'RSA 2048, exponent 2^32+15': 'RSA public exponent not 65537',
    'RSASSA-PSS 2048': 'unsupported key type',
    'EC P-256': undefined,
    'EC P-384': 'EC curve not P-256',
    Ed25519: 'unsupported key type',
  });
  // A key is refused exactly when no algorithm of the table fits it.
  for (const [k, key] of Object.entries(KEYS)) assert.equal(keyRejection(key) === undefined, fits[k]!.length > 0, k);
});

test('the signing algorithm is the first of RS256, ES256 that fits the key', () => {
  const signing = (key: KeyObject) => {
    try {
      return signingAlgorithmFor(key).name;
    } catch {
      return 'refused';
    }
  };
  assert.deepEqual(Object.fromEntries(Object.entries(KEYS).map(([k, key]) => [k, signing(key)])), {
    'RSA 1024': 'refused',
    'RSA 2048': 'RS256',
    'RSA 4096': 'RS256',
    'RSA 4104': 'refused',
    'RSA 2048, exponent 3': 'refused',
    'RSA 2048, exponent 2^32+15': 'refused',
    'RSASSA-PSS 2048': 'refused',
    'EC P-256': 'ES256',
    'EC P-384': 'refused',
    Ed25519: 'refused',
  });
});

test("the configuration accepts exactly the table's algorithm names and the payload forms", () => {
  const env = (v: Record<string, string>) => ({ SWITCHGUARD_PROFILE: 'development', ...v });
  assert.deepEqual([...ALGORITHM_NAMES], Object.keys(ALGORITHMS));
  for (const name of ALGORITHM_NAMES) assert.deepEqual(loadConfig(env({ JWS_ALGORITHMS: name }), { cwd: '/tmp' }).jwsAlgorithms, [name]);
  assert.throws(() => loadConfig(env({ JWS_ALGORITHMS: 'HS256' }), { cwd: '/tmp' }));
  assert.deepEqual(loadConfig(env({ JWS_PAYLOAD_FORMS: PAYLOAD_FORMS.join(',') }), { cwd: '/tmp' }).jwsPayloadForms, [...PAYLOAD_FORMS]);
  assert.throws(() => loadConfig(env({ JWS_PAYLOAD_FORMS: 'pretty' }), { cwd: '/tmp' }));
});

test('a key has one fingerprint whatever its encoding: an EC point compressed or not (spkiFingerprint)', () => {
  const pub = ec('P-256');
  const der = pub.export({ type: 'spki', format: 'der' });
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  // SEC 1 §2.3.3: the same point, compressed; RFC 5480 §2.2 allows both in a SPKI.
  const point = ECDH.convertKey(der.subarray(der.length - 65), 'prime256v1', undefined, undefined, 'compressed') as Buffer;
  const compressed = createPublicKey({
    key: Buffer.concat([Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex'), point]),
    format: 'der',
    type: 'spki',
  });
  assert.ok(compressed.equals(pub), 'node reads the same key');
  assert.notEqual(sha(compressed.export({ type: 'spki', format: 'der' })), sha(der), 'and keeps the encoding as given');
  assert.equal(spkiFingerprint(compressed), sha(der), 'the fingerprint is that of the uncompressed SPKI');
  assert.equal(spkiFingerprint(pub), sha(der));
  // Both copies have one identity: the canonical fingerprint, the other point forms as aliases (an earlier release
  // recorded a revocation under the encoding a copy was given in), and the RFC 7638 thumbprint.
  const compressedFp = sha(compressed.export({ type: 'spki', format: 'der' }));
  for (const k of [compressed, pub]) {
    const id = keyIdentity(k);
    assert.equal(id.fingerprint, sha(der));
    assert.equal(id.thumbprint, jwkThumbprint(pub));
    assert.equal(id.aliases.length, 2, 'compressed and hybrid');
    assert.ok(id.aliases.includes(compressedFp));
    assert.ok(!id.aliases.includes(sha(der)));
  }
  const r = KEYS['RSA 2048']!;
  assert.equal(spkiFingerprint(r), sha(r.export({ type: 'spki', format: 'der' })), 'an RSA key as OpenSSL writes it: its SPKI as given');
  assert.deepEqual(keyIdentity(r).aliases, []);
  // A curve with no JWK form: refused by the key rules, named by its SPKI as given (no throw).
  const brainpool = ec('brainpoolP256r1');
  assert.equal(spkiFingerprint(brainpool), sha(brainpool.export({ type: 'spki', format: 'der' })));
});
