// One source per fact (issue 10): algorithm names and key rules come from the algorithm table, through one
// key-fit function that verification, key-file rejection and the signing-key choice all use.
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { test } from 'node:test';
import { loadConfig } from '../../../src/config/load.js';
import { ALGORITHM_NAMES, ALGORITHMS, describeKey, keyFits, keyRejection, signingAlgorithmFor } from '../../../src/jws/algorithms.js';
import { PAYLOAD_FORMS } from '../../../src/jws/payload-forms.js';

const rsa = (bits: number) => generateKeyPairSync('rsa', { modulusLength: bits }).publicKey;
const ec = (namedCurve: string) => generateKeyPairSync('ec', { namedCurve }).publicKey;
const KEYS: Record<string, KeyObject> = {
  'RSA 1024': rsa(1024),
  'RSA 2048': rsa(2048),
  'EC P-256': ec('P-256'),
  'EC P-384': ec('P-384'),
  Ed25519: generateKeyPairSync('ed25519').publicKey,
};

test('the key rules: which key fits which algorithm, and why a key is refused', () => {
  const fits = Object.fromEntries(Object.entries(KEYS).map(([k, key]) => [k, ALGORITHM_NAMES.filter((a) => keyFits(ALGORITHMS[a], describeKey(key)))]));
  assert.deepEqual(fits, {
    'RSA 1024': [],
    'RSA 2048': ['RS256', 'RS384', 'RS512', 'PS256'],
    'EC P-256': ['ES256'],
    'EC P-384': [],
    Ed25519: [],
  });
  const rejections = Object.fromEntries(Object.entries(KEYS).map(([k, key]) => [k, keyRejection(key)]));
  assert.deepEqual(rejections, {
    'RSA 1024': 'RSA key under 2048 bits',
    'RSA 2048': undefined,
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
