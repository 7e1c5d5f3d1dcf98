// Everything the gateway knows about one JWS algorithm, in one table (like jose's algorithm table). The `alg`
// string from a protected header is resolved to an entry once, at the boundary; nothing infers the
// algorithm from key text (the `BEGIN EC ` test of the SDK's jwsSigner.js). The algorithm names and the key
// rules (key type, RSA size, EC curve) are derived from the table, through one key-fit function.
import { constants, type KeyObject } from 'node:crypto';
import { GatewayError } from '../errors.js';

export type AlgName = 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'ES256';

export interface Algorithm {
  readonly name: AlgName;
  /** node:crypto digest name passed to crypto.sign/verify. */
  readonly digest: 'sha256' | 'sha384' | 'sha512';
  readonly keyType: 'rsa' | 'ec';
  /** RSA modulus floor (PKI-Best-Practices §5.4: ≥ 2048 bits). */
  readonly minRsaBits?: number;
  /** RSA modulus ceiling: a verification's cost grows with the modulus, and one request may try several keys. */
  readonly maxRsaBits?: number;
  /** EC curve the key must use. */
  readonly curve?: 'prime256v1';
  /** Exact signature length in bytes for fixed-size encodings (ES256: raw r‖s = 64). */
  readonly sigBytes?: number;
  /** Extra options for crypto.sign/verify (padding, DSA encoding); empty when node's defaults are right. */
  readonly options: { readonly padding?: number; readonly saltLength?: number; readonly dsaEncoding?: 'ieee-p1363' };
  /** True when `options` is non-empty (the key must then be wrapped as { key, ...options }). */
  readonly hasOptions: boolean;
}

// Bounded work per request (docs/security.md class 10): a verification costs about the square of the modulus
// length times the bit length of the public exponent, and a peer that publishes its own keys (a JWKS) chooses
// both. 4096 bits is the largest size Mojaloop's PKI guidance and the SDKs use; 65537 (F4) is the exponent of
// every RSA key OpenSSL, node, WebCrypto and the SDKs generate, and FIPS 186-5 §A.1.1's lower bound.
const MAX_RSA_BITS = 4096;
const RSA_EXPONENT = 65537n;

// RSASSA-PKCS1-v1_5 is node's default for RSA keys, so RS* need no per-call options object.
const rsa = (name: AlgName, digest: Algorithm['digest']): Algorithm => ({
  name,
  digest,
  keyType: 'rsa',
  minRsaBits: 2048,
  maxRsaBits: MAX_RSA_BITS,
  options: {},
  hasOptions: false,
});

/** The algorithm table (FSPIOP Signature v1.1 §3: RS256/384/512; ES256 as the SDK adds it; PS256 optional). */
export const ALGORITHMS: Readonly<Record<AlgName, Algorithm>> = {
  RS256: rsa('RS256', 'sha256'),
  RS384: rsa('RS384', 'sha384'),
  RS512: rsa('RS512', 'sha512'),
  PS256: {
    name: 'PS256',
    digest: 'sha256',
    keyType: 'rsa',
    minRsaBits: 2048,
    maxRsaBits: MAX_RSA_BITS,
    options: { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
    hasOptions: true,
  },
  ES256: { name: 'ES256', digest: 'sha256', keyType: 'ec', curve: 'prime256v1', sigBytes: 64, options: { dsaEncoding: 'ieee-p1363' }, hasOptions: true },
};

/** Every algorithm name the gateway knows (the values JWS_ALGORITHMS may take), in table order. */
export const ALGORITHM_NAMES: readonly AlgName[] = Object.freeze(Object.keys(ALGORITHMS) as AlgName[]);

const isAlgName = (s: string): s is AlgName => Object.hasOwn(ALGORITHMS, s);

/**
 * Resolves a protected-header `alg` against the allow-list.
 * @throws GatewayError GW_JWS_ALG_NOT_ALLOWED for unknown algorithms, `none`, HS*, or ones not in `allowed`.
 */
export function resolveAlgorithm(alg: unknown, allowed: ReadonlySet<string>): Algorithm {
  if (typeof alg !== 'string' || !isAlgName(alg) || !allowed.has(alg)) {
    throw new GatewayError('GW_JWS_ALG_NOT_ALLOWED', { detail: 'algorithm not allowed' });
  }
  return ALGORITHMS[alg];
}

export interface KeyInfo {
  readonly family: 'rsa' | 'ec' | 'other';
  readonly bits: number | undefined;
  readonly curve: string | undefined;
  /** The RSA public exponent. */
  readonly exponent?: bigint | undefined;
}

/**
 * Key family, RSA modulus length and exponent, EC curve, from the parsed key (never from PEM text). An
 * RSASSA-PSS key (SPKI algorithm id-RSASSA-PSS, node's 'rsa-pss') is of family 'other': JWS keys are plain
 * rsaEncryption keys (RFC 7518 §3.5 uses them for PS256 too), and the same modulus under a second algorithm
 * identifier would be a second identity for one key (a revocation by fingerprint would miss it).
 */
export function describeKey(key: KeyObject): KeyInfo {
  const d = key.asymmetricKeyDetails ?? {};
  const t = key.asymmetricKeyType;
  const family = t === 'rsa' ? 'rsa' : t === 'ec' ? 'ec' : 'other';
  return { family, bits: d.modulusLength, curve: d.namedCurve, ...(family === 'rsa' ? { exponent: d.publicExponent } : {}) };
}

const CURVE_NAMES: Readonly<Record<NonNullable<Algorithm['curve']>, string>> = { prime256v1: 'P-256' };

/**
 * The key rules, in one place: why a key described by `info` cannot be used with `alg` (key type, RSA
 * modulus floor, EC curve, all from the table), or undefined when it fits.
 */
function keyMisfit(alg: Algorithm, info: KeyInfo): string | undefined {
  if (info.family !== alg.keyType) return info.family === 'other' ? 'unsupported key type' : `${alg.name} needs an ${alg.keyType.toUpperCase()} key`;
  if (alg.minRsaBits !== undefined && (info.bits ?? 0) < alg.minRsaBits) return `RSA key under ${alg.minRsaBits} bits`;
  if (alg.maxRsaBits !== undefined && (info.bits ?? 0) > alg.maxRsaBits) return `RSA key over ${alg.maxRsaBits} bits`;
  if (alg.keyType === 'rsa' && info.exponent !== RSA_EXPONENT) return `RSA public exponent not ${RSA_EXPONENT}`;
  if (alg.curve !== undefined && info.curve !== alg.curve) return `EC curve not ${CURVE_NAMES[alg.curve]}`;
  return undefined;
}

/** True when a key described by `info` fits `alg` (keyMisfit finds nothing). */
export const keyFits = (alg: Algorithm, info: KeyInfo): boolean => keyMisfit(alg, info) === undefined;

const TABLE: readonly Algorithm[] = Object.values(ALGORITHMS);

/**
 * Why a key can never be used for any JWS algorithm of the table, or undefined when at least one fits.
 * The reason is that of the first algorithm of the key's type ('unsupported key type' when there is none).
 */
export function keyRejection(key: KeyObject): string | undefined {
  const info = describeKey(key);
  if (TABLE.some((alg) => keyFits(alg, info))) return undefined;
  const sameType = TABLE.find((alg) => alg.keyType === info.family);
  return sameType === undefined ? 'unsupported key type' : keyMisfit(sameType, info);
}

/** The algorithms a signing key may get, in preference order: RS256 for RSA, ES256 for EC (FSPIOP's and the SDK's). */
const SIGNING_ALGORITHMS: readonly Algorithm[] = [ALGORITHMS.RS256, ALGORITHMS.ES256];

/** The algorithm a signing key uses: RS256 for RSA of 2048–4096 bits (exponent 65537), ES256 for EC P-256 (decided from the parsed key). */
export function signingAlgorithmFor(key: KeyObject): Algorithm {
  const info = describeKey(key);
  const alg = SIGNING_ALGORITHMS.find((a) => keyFits(a, info));
  if (alg === undefined)
    throw new GatewayError('GW_JWS_SIGN_FAILED', { detail: 'signing key is neither RSA of 2048 to 4096 bits with exponent 65537 nor EC P-256' });
  return alg;
}
