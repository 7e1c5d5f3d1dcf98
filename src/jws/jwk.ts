// A public JWS key as an RFC 7517 JWK, with its RFC 7638 thumbprint as `kid`. The key members come from node's
// own JWK export (KeyObject.export({ format: 'jwk' })); the thumbprint hashes the required members in
// lexicographic order without whitespace (RFC 7638 §3.2: RSA e, kty, n; EC crv, kty, x, y), which is what
// jose's calculateJwkThumbprint computes (test/unit/jws/jwk.test.ts checks the two agree).
import { createHash, createPublicKey, ECDH, type KeyObject } from 'node:crypto';
import type { AlgName } from './algorithms.js';

/** The members of a published verification key: key material, `kid`, `use` and `alg` (RFC 7517 §4), nothing else. */
export interface PublicJwk {
  readonly kty: 'RSA' | 'EC';
  readonly kid: string;
  readonly use: 'sig';
  readonly alg: AlgName;
  readonly n?: string;
  readonly e?: string;
  readonly crv?: string;
  readonly x?: string;
  readonly y?: string;
}

type Members = { kty?: unknown; n?: unknown; e?: unknown; crv?: unknown; x?: unknown; y?: unknown };

const text = (v: unknown, what: string): string => {
  if (typeof v !== 'string' || v.length === 0) throw new Error(`JWK export has no ${what}`);
  return v;
};

/** The RFC 7638 required members of an RSA or EC public JWK, in lexicographic order. */
function requiredMembers(m: Members): Record<string, string> {
  if (m.kty === 'RSA') return { e: text(m.e, 'e'), kty: 'RSA', n: text(m.n, 'n') };
  if (m.kty === 'EC') return { crv: text(m.crv, 'crv'), kty: 'EC', x: text(m.x, 'x'), y: text(m.y, 'y') };
  throw new Error(`no RFC 7638 thumbprint for key type ${String(m.kty)}`);
}

/** RFC 7638 SHA-256 thumbprint of a key's JWK members, base64url. */
const thumbprintOf = (m: Members): string =>
  createHash('sha256')
    .update(JSON.stringify(requiredMembers(m)), 'utf8')
    .digest('base64url');

/** RFC 7638 SHA-256 thumbprint of a key (public or private: the public half is hashed), base64url. */
export function jwkThumbprint(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return thumbprintOf(pub.export({ format: 'jwk' }) as Members);
}

/**
 * A key's fingerprint: SHA-256 of its SPKI DER, lower-case hex, in one canonical encoding. One public key has
 * several encodings (an EC point compressed or not, a DER that a parser accepts in more than one spelling), and
 * node exports a key as it was given; a revocation by fingerprint must refuse the key in all of them (hostile
 * review of 2026-12-02). So an RSA or EC key is re-imported from its JWK members (RFC 7518 §6: n and e; x and y,
 * uncompressed) and that key's SPKI is hashed. For a key given in the canonical form the fingerprint is the
 * SHA-256 of its SPKI as given (`openssl pkey -pubin -outform DER | sha256sum`), as before.
 */
export function spkiFingerprint(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const t = pub.asymmetricKeyType;
  let canonical = pub;
  if (t === 'rsa' || t === 'ec') {
    try {
      canonical = createPublicKey({ key: pub.export({ format: 'jwk' }), format: 'jwk' });
    } catch {
      // A curve with no JWK form (brainpool, secp224r1): the key rules refuse such a key, so it never verifies; its
      // SPKI as given names it. Throwing here would make its file "not parse" and keep the key it replaced in force
      // (re-review of 2026-12-02).
    }
  }
  return givenSpkiFingerprint(canonical);
}

/** SHA-256 of a public key's SPKI DER as node holds it (as it was given), lower-case hex. */
function givenSpkiFingerprint(key: KeyObject): string {
  return createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

/** What names a key for revocations (VerificationKey, src/jws/revocations.ts KeyRevocations.of). */
export interface KeyIdentity {
  /** SHA-256 of the canonical SPKI DER (spkiFingerprint). */
  readonly fingerprint: string;
  /**
   * SHA-256 of the key's other SPKI encodings: as the source gave it, and for a P-256 key its compressed and hybrid
   * point forms (SEC 1 §2.3.3). A revocation recorded by an earlier release under the encoding a copy was given in
   * names the key in every other copy too (re-review of 2026-12-02). Empty when there are none.
   */
  readonly aliases: readonly string[];
  /** RFC 7638 thumbprint (RSA and EC keys with a JWK form), canonical by definition: kept with admin revocations. */
  readonly thumbprint?: string;
}

// SPKI of a P-256 key up to its BIT STRING's content (RFC 5480 §2: id-ecPublicKey, secp256r1), for a 33-byte
// (compressed) or 65-byte (uncompressed, hybrid) point.
const P256_SPKI_33 = Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex');
const P256_SPKI_65 = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');
const sha256Hex = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** The SPKI DER of a P-256 public key (its JWK members) in its other point forms (compressed, hybrid); none for others. */
function otherPointForms(jwk: Members & { crv?: unknown }): Buffer[] {
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || typeof jwk.x !== 'string' || typeof jwk.y !== 'string') return [];
  const uncompressed = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]);
  const form = (f: 'compressed' | 'hybrid') => ECDH.convertKey(uncompressed, 'prime256v1', undefined, undefined, f) as Buffer;
  return [Buffer.concat([P256_SPKI_33, form('compressed')]), Buffer.concat([P256_SPKI_65, form('hybrid')])];
}

/** A key's JWK members, or undefined for a key without a JWK form (a curve node cannot export, say). */
function jwkOf(pub: KeyObject): Members | undefined {
  try {
    return pub.export({ format: 'jwk' }) as Members;
  } catch {
    return undefined;
  }
}

/** A key's identity: its canonical fingerprint, those of its other encodings, and its RFC 7638 thumbprint. */
export function keyIdentity(key: KeyObject): KeyIdentity {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const jwk = jwkOf(pub);
  const fingerprint = spkiFingerprint(pub);
  const aliases = new Set([givenSpkiFingerprint(pub), ...(jwk === undefined ? [] : otherPointForms(jwk).map(sha256Hex))]);
  aliases.delete(fingerprint);
  let thumbprint: string | undefined;
  try {
    thumbprint = jwk === undefined ? undefined : thumbprintOf(jwk);
  } catch {
    thumbprint = undefined; // a key type without RFC 7638 members
  }
  return { fingerprint, aliases: [...aliases], ...(thumbprint === undefined ? {} : { thumbprint }) };
}

/**
 * The public JWK of a signing or verification key, `kid` = its RFC 7638 thumbprint, `use: "sig"`.
 * @throws Error for key types without a JWK form here (only RSA and EC keys sign FSPIOP messages).
 */
export function publicJwk(key: KeyObject, alg: AlgName): PublicJwk {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const required = requiredMembers(pub.export({ format: 'jwk' }) as Members);
  const kid = createHash('sha256').update(JSON.stringify(required), 'utf8').digest('base64url');
  const { kty, ...material } = required;
  return { kty: kty as PublicJwk['kty'], kid, use: 'sig', alg, ...material };
}
