// One verification key from a remote source (a peer's JWKS, a Mojaloop Connection Manager), checked and
// imported (docs/jws.md, "Key sources"). A key is accepted only when every rule holds; otherwise the reason is
// one word of REFUSALS (a metric label) with a fixed detail:
//   - JWK (RFC 7517): public members only (a `d`, `p`, `q` or `k` member is a leaked private or secret key),
//     imported with jose's importJWK; `use` other than "sig" or `key_ops` without "verify" is not a
//     signature key and is skipped, not refused;
//   - the key rules of the algorithm table (src/jws/algorithms.ts: RSA of 2048 to 4096 bits with exponent 65537,
//     EC P-256);
//   - `alg`, when present, is in JWS_ALGORITHMS and fits the key; without `alg`, some allowed algorithm fits;
//   - an X.509 certificate (a JWK's first `x5c`, or a PEM certificate) holds the same key, and its subject CN,
//     when it names an FSP id, names this FSP: a key whose certificate names another FSP is refused.
// The RFC 7638 thumbprint and the canonical SPKI SHA-256 that revocations name come from src/jws/jwk.ts keyIdentity.
import { createPublicKey, KeyObject, X509Certificate } from 'node:crypto';
import { importJWK, type JWK } from 'jose';
import { isValidFspId } from '../../fspiop/headers.js';
import { ALGORITHMS, type AlgName, describeKey, keyFits, keyRejection } from '../algorithms.js';
import { keyIdentity } from '../jwk.js';
import type { VerificationKey } from '../verify.js';

export type SourceKind = 'jwks' | 'mcm';

/** Why a fetch or a key was refused: the `reason` label of switchguard_peer_key_source_failures_total. */
export const REFUSALS = [
  'unreachable',
  'timeout',
  'http_status',
  'too_large',
  'not_json',
  'bad_document',
  'no_keys',
  'token',
  'invalid_key',
  'private_key',
  'key_rejected',
  'alg_not_allowed',
  'duplicate_kid',
  'other_fsp',
  'invalid_in_mcm',
] as const;
export type RefusalReason = (typeof REFUSALS)[number];

export class Refusal extends Error {
  constructor(
    readonly reason: RefusalReason,
    readonly detail: string,
  ) {
    super(`${reason}: ${detail}`);
  }
}

export interface RemoteKey {
  readonly fspId: string;
  readonly kind: SourceKind;
  /** The JWK `kid` (JWKS only). */
  readonly kid: string | undefined;
  /** SHA-256 of the canonical SPKI DER, lower-case hex (spkiFingerprint). */
  readonly fingerprint: string;
  /** RFC 7638 thumbprint, base64url. */
  readonly thumbprint: string;
  /** Certificate validTo (unix seconds) when the key came with one. */
  readonly notAfter: number | undefined;
  readonly key: VerificationKey;
}

export interface ImportContext {
  readonly fspId: string;
  readonly kind: SourceKind;
  /** JWS_ALGORITHMS. */
  readonly allowed: ReadonlySet<string>;
}

/** The subject CNs of a certificate (node's multi-line subject). */
function subjectCns(cert: X509Certificate): string[] {
  return cert.subject
    .split('\n')
    .filter((l) => l.startsWith('CN='))
    .map((l) => l.slice(3));
}

/** A certificate's claim on the key: its CN must not name another FSP. Returns validTo (unix seconds). */
function checkCertificate(cert: X509Certificate, fspId: string): number {
  const cns = subjectCns(cert);
  if (cns.length > 1) throw new Refusal('invalid_key', 'certificate subject has more than one CN');
  const cn = cns[0];
  if (cn !== undefined && isValidFspId(cn) && cn !== fspId) throw new Refusal('other_fsp', "the key's certificate names another FSP");
  return Math.floor(Date.parse(cert.validTo) / 1000);
}

/** Key rules and algorithm fit, shared by JWKs and PEMs. */
function checkKey(key: KeyObject, alg: string | undefined, allowed: ReadonlySet<string>): void {
  const rejected = keyRejection(key);
  if (rejected !== undefined) throw new Refusal('key_rejected', rejected);
  const info = describeKey(key);
  const fits = (name: string) => allowed.has(name) && Object.hasOwn(ALGORITHMS, name) && keyFits(ALGORITHMS[name as AlgName], info);
  if (alg !== undefined ? !fits(alg) : ![...allowed].some(fits))
    throw new Refusal('alg_not_allowed', alg === undefined ? 'no allowed algorithm fits the key' : 'alg not allowed for this key');
}

function finish(key: KeyObject, ctx: ImportContext, kid: string | undefined, notAfter: number | undefined): RemoteKey {
  const identity = keyIdentity(key);
  const { fingerprint } = identity;
  // Every key that passed checkKey (RSA, EC P-256) has a JWK form, and so a thumbprint.
  const thumbprint = identity.thumbprint ?? '';
  const label = ctx.kind === 'jwks' ? `jwks:${kid !== undefined && /^[A-Za-z0-9._:-]{1,64}$/.test(kid) ? kid : thumbprint.slice(0, 12)}` : 'mcm';
  return { fspId: ctx.fspId, kind: ctx.kind, kid, fingerprint, thumbprint, notAfter, key: { label, key, info: describeKey(key), ...identity } };
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'] as const;
const IMPORT_ALG: Readonly<Record<string, string>> = { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' };

/** The public members RFC 7638 §3.2 names, per key type: what is imported and thumbprinted, nothing else. */
function publicJwk(j: Record<string, unknown>): { jwk: JWK; importAlg: string } {
  const s = (k: string) => {
    const v = j[k];
    if (typeof v !== 'string' || v.length === 0 || v.length > 2048) throw new Refusal('invalid_key', `JWK member ${k} missing or not a string`);
    return v;
  };
  if (j.kty === 'RSA') return { jwk: { kty: 'RSA', n: s('n'), e: s('e') }, importAlg: 'RS256' };
  if (j.kty === 'EC') {
    const crv = s('crv');
    const importAlg = IMPORT_ALG[crv];
    if (importAlg === undefined) throw new Refusal('key_rejected', 'EC curve not P-256');
    return { jwk: { kty: 'EC', crv, x: s('x'), y: s('y') }, importAlg };
  }
  if (j.kty === 'OKP') return { jwk: { kty: 'OKP', crv: s('crv'), x: s('x') }, importAlg: 'EdDSA' };
  throw new Refusal('invalid_key', 'unsupported JWK kty');
}

/**
 * Checks and imports one member of a JWK Set. Resolves undefined for a key that is not for signatures.
 * @throws (rejects with) Refusal
 */
export async function importJwk(raw: unknown, ctx: ImportContext): Promise<RemoteKey | undefined> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Refusal('invalid_key', 'JWK is not an object');
  const j = raw as Record<string, unknown>;
  if (j.use !== undefined && j.use !== 'sig') return undefined;
  if (j.key_ops !== undefined && !(Array.isArray(j.key_ops) && j.key_ops.includes('verify'))) return undefined;
  if (j.kty === 'oct' || PRIVATE_MEMBERS.some((m) => j[m] !== undefined)) throw new Refusal('private_key', 'a JWK Set must publish public keys only');
  if (j.kid !== undefined && (typeof j.kid !== 'string' || j.kid.length > 256)) throw new Refusal('invalid_key', 'kid is not a string');
  if (j.alg !== undefined && typeof j.alg !== 'string') throw new Refusal('invalid_key', 'alg is not a string');
  const { jwk, importAlg } = publicJwk(j);
  let key: KeyObject;
  try {
    const imported = await importJWK(jwk, importAlg);
    key = imported instanceof Uint8Array ? createPublicKey({ key: jwk as never, format: 'jwk' }) : KeyObject.from(imported);
  } catch {
    throw new Refusal('invalid_key', 'JWK does not import');
  }
  const alg = j.alg as string | undefined;
  const kid = j.kid as string | undefined;
  checkKey(key, alg, ctx.allowed);
  let notAfter: number | undefined;
  if (j.x5c !== undefined) {
    const first = Array.isArray(j.x5c) ? j.x5c[0] : undefined;
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(Buffer.from(String(first), 'base64'));
    } catch {
      throw new Refusal('invalid_key', 'x5c[0] is not a certificate');
    }
    if (!cert.publicKey.equals(key)) throw new Refusal('invalid_key', "x5c[0] does not hold the JWK's key");
    notAfter = checkCertificate(cert, ctx.fspId);
  }
  return finish(key, ctx, kid, notAfter);
}

/**
 * Checks and imports a PEM public key or certificate (the Connection Manager's `publicKey`).
 * @throws (rejects with) Refusal
 */
export async function importPem(pem: unknown, ctx: ImportContext): Promise<RemoteKey> {
  if (typeof pem !== 'string' || pem.length > 65536) throw new Refusal('invalid_key', 'publicKey is not a PEM string');
  // createPublicKey would derive the public half of a private key: a published private key is a leak, refused.
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) throw new Refusal('private_key', 'a private key was published');
  let key: KeyObject;
  let notAfter: number | undefined;
  try {
    if (pem.includes('-----BEGIN CERTIFICATE-----')) {
      const cert = new X509Certificate(pem);
      key = cert.publicKey;
      notAfter = checkCertificate(cert, ctx.fspId);
    } else {
      key = createPublicKey(pem);
    }
  } catch (e) {
    if (e instanceof Refusal) throw e;
    throw new Refusal('invalid_key', 'publicKey does not parse');
  }
  checkKey(key, undefined, ctx.allowed);
  return finish(key, ctx, undefined, notAfter);
}
