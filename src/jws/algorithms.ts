// Everything the gateway knows about one JWS algorithm, in one table (style.md §6 item 6). The `alg`
// string from a protected header is resolved to an entry once, at the boundary; nothing infers the
// algorithm from key text (the SDK's `BEGIN EC ` test, fspiop.md §2.5).
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
  /** EC curve the key must use. */
  readonly curve?: 'prime256v1';
  /** Exact signature length in bytes for fixed-size encodings (ES256: raw r‖s = 64). */
  readonly sigBytes?: number;
  /** Extra options for crypto.sign/verify (padding, DSA encoding); empty when node's defaults are right. */
  readonly options: { readonly padding?: number; readonly saltLength?: number; readonly dsaEncoding?: 'ieee-p1363' };
  /** True when `options` is non-empty (the key must then be wrapped as { key, ...options }). */
  readonly hasOptions: boolean;
}

// RSASSA-PKCS1-v1_5 is node's default for RSA keys, so RS* need no per-call options object.
const rsa = (name: AlgName, digest: Algorithm['digest']): Algorithm =>
  ({ name, digest, keyType: 'rsa', minRsaBits: 2048, options: {}, hasOptions: false });

/** The algorithm table (FSPIOP Signature v1.1 §3: RS256/384/512; ES256 as the SDK adds it; PS256 optional). */
export const ALGORITHMS: Readonly<Record<AlgName, Algorithm>> = {
  RS256: rsa('RS256', 'sha256'),
  RS384: rsa('RS384', 'sha384'),
  RS512: rsa('RS512', 'sha512'),
  PS256: { name: 'PS256', digest: 'sha256', keyType: 'rsa', minRsaBits: 2048, options: { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, hasOptions: true },
  ES256: { name: 'ES256', digest: 'sha256', keyType: 'ec', curve: 'prime256v1', sigBytes: 64, options: { dsaEncoding: 'ieee-p1363' }, hasOptions: true },
};

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
}

/** Key family, RSA modulus length and EC curve, from the parsed key (never from PEM text). */
export function describeKey(key: KeyObject): KeyInfo {
  const d = key.asymmetricKeyDetails ?? {};
  const t = key.asymmetricKeyType;
  const family = t === 'rsa' || t === 'rsa-pss' ? 'rsa' : t === 'ec' ? 'ec' : 'other';
  return { family, bits: d.modulusLength, curve: d.namedCurve };
}

/** Why a key can never be used for any JWS algorithm, or undefined when it is acceptable. */
export function keyRejection(key: KeyObject): string | undefined {
  const k = describeKey(key);
  if (k.family === 'rsa') return (k.bits ?? 0) < 2048 ? 'RSA key under 2048 bits' : undefined;
  if (k.family === 'ec') return k.curve === 'prime256v1' ? undefined : 'EC curve not P-256';
  return 'unsupported key type';
}

/** True when `key` fits the algorithm's key rules (type, RSA size, curve). */
export function keyFits(alg: Algorithm, key: KeyObject): boolean {
  const k = describeKey(key);
  if (k.family !== alg.keyType) return false;
  if (alg.minRsaBits !== undefined && (k.bits ?? 0) < alg.minRsaBits) return false;
  if (alg.curve !== undefined && k.curve !== alg.curve) return false;
  return true;
}

/** The algorithm a signing key uses: RS256 for RSA, ES256 for EC P-256 (decided from the parsed key). */
export function signingAlgorithmFor(key: KeyObject): Algorithm {
  const k = describeKey(key);
  if (k.family === 'rsa' && (k.bits ?? 0) >= 2048) return ALGORITHMS.RS256;
  if (k.family === 'ec' && k.curve === 'prime256v1') return ALGORITHMS.ES256;
  throw new GatewayError('GW_JWS_SIGN_FAILED', { detail: 'signing key is neither RSA >= 2048 nor EC P-256' });
}
