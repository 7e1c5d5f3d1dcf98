// One verification-key file: its name rule and its parse into a KeyObject (docs/jws.md, "Key directory layout").
// `<fspId>.pem` is the primary key of an FSP; `<fspId>.<label>.pem` adds overlapping keys during
// rotation. The FSP id is the part before the first dot, so FSP ids containing dots are not supported.
import { createPublicKey, type KeyObject, X509Certificate } from 'node:crypto';
import { describeKey, type KeyInfo, keyRejection } from './algorithms.js';
import { keyIdentity } from './jwk.js';
import type { VerificationKey } from './verify.js';

export interface KeyFileName {
  readonly fspId: string;
  readonly label: string;
}

/** Splits `payerfsp.pem` → {payerfsp, ''} and `payerfsp.2027-01.pem` → {payerfsp, '2027-01'}; undefined for other names. */
export function parseKeyFileName(name: string): KeyFileName | undefined {
  if (!name.endsWith('.pem') || name.startsWith('.')) return undefined;
  const stem = name.slice(0, -4);
  const dot = stem.indexOf('.');
  if (dot === 0 || stem.length === 0) return undefined;
  if (dot < 0) return { fspId: stem, label: '' };
  const label = stem.slice(dot + 1);
  return label.length > 0 ? { fspId: stem.slice(0, dot), label } : undefined;
}

/** What the admin API lists for one key file. */
export interface KeyListing {
  readonly fspId: string;
  readonly label: string;
  readonly file: string;
  /** SHA-256 of the canonical SPKI DER, lower-case hex (spkiFingerprint). */
  readonly fingerprint: string;
  readonly family: KeyInfo['family'];
  readonly bits: number | undefined;
  readonly curve: string | undefined;
  /** Certificate validTo (unix seconds); undefined for bare public keys. */
  readonly notAfter: number | undefined;
  /** Why the key is refused (e.g. RSA under 2048 bits), if it is. */
  readonly rejected: string | undefined;
}

export interface ParsedKeyFile {
  readonly verificationKey: VerificationKey;
  readonly listing: KeyListing;
  /** The public key, also when the key rules refuse it (for its RFC 7638 thumbprint in listings). */
  readonly publicKey: KeyObject;
}

/**
 * Parses SPKI, PKCS#1 or X.509 certificate PEM. Keys that fail the key rules are returned with
 * `rejected` set and no usable key, so verification fails with GW_JWS_KEY_REJECTED.
 * @throws Error when the text is not a public key or certificate.
 */
export function parseKeyFile(pem: string, name: KeyFileName, file: string): ParsedKeyFile {
  let key: KeyObject;
  let notAfter: number | undefined;
  if (pem.includes('-----BEGIN CERTIFICATE-----')) {
    const cert = new X509Certificate(pem);
    key = cert.publicKey;
    notAfter = Math.floor(Date.parse(cert.validTo) / 1000);
  } else {
    key = createPublicKey(pem);
  }
  const info = describeKey(key);
  const rejected = keyRejection(key);
  const fingerprints = keyIdentity(key);
  const { fingerprint } = fingerprints;
  const verificationKey: VerificationKey =
    rejected === undefined ? { label: name.label, key, info, ...fingerprints } : { label: name.label, key: undefined, info, rejected, ...fingerprints };
  return {
    verificationKey,
    publicKey: key,
    listing: { fspId: name.fspId, label: name.label, file, fingerprint, family: info.family, bits: info.bits, curve: info.curve, notAfter, rejected },
  };
}
