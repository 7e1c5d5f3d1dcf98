// Inbound FSPIOP-Signature verification (Signature v1.1 §3.3; docs/jws.md). Pure: headers come through a
// getter, keys through `keysFor`; the Hono middleware only adapts. Hot path (raw form, cached key):
// one JSON.parse of the small header, one base64url of the body, one crypto.verify.
import { verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { GatewayError } from '../errors.js';
import { hasNonCanonicalNumber } from '../fspiop/json-numbers.js';
import { nextTurn, YIELD_ABOVE_BYTES } from '../util/turns.js';
import { type Algorithm, type KeyInfo, keyFits, resolveAlgorithm } from './algorithms.js';
import type { PayloadForm } from './payload-forms.js';
import { hasDuplicateKeys, parseBody, payloadText } from './payload-forms.js';
import { checkProtectedHeader, decodeProtectedHeader, type HeaderGetter } from './protected-header.js';
import { parseSignatureHeader } from './signature-header.js';
import { fspiopUri } from './uri.js';

/** One verification key of a source as the key directory holds it. */
export interface VerificationKey {
  /** '' for `<fspId>.pem`, the label for `<fspId>.<label>.pem`. */
  readonly label: string;
  readonly key: KeyObject | undefined;
  readonly info: KeyInfo;
  /** Set when the key fails the key rules (e.g. RSA < 2048): it never verifies anything. */
  readonly rejected?: string;
  /** SHA-256 of the canonical SPKI DER (src/jws/jwk.ts spkiFingerprint): what a revocation names (src/jws/revocations.ts). */
  readonly fingerprint?: string;
  /** SHA-256 of the key's other SPKI encodings (src/jws/jwk.ts KeyIdentity): a revocation of an earlier release may name one. */
  readonly aliases?: readonly string[];
  /** RFC 7638 thumbprint: a revocation made through the admin API keeps it (src/jws/jwk.ts keyIdentity). */
  readonly thumbprint?: string;
  /**
   * Set (to the operator's reason) when the key is revoked: it never verifies anything; a signature it
   * would verify is refused as GW_JWS_KEY_REVOKED rather than GW_JWS_BAD_SIGNATURE.
   */
  readonly revoked?: string;
}

export type KeysFor = (source: string) => readonly VerificationKey[] | Promise<readonly VerificationKey[]>;

export interface VerifyPolicy {
  readonly algorithms: ReadonlySet<string>;
  /** Forms tried in this order (JWS_PAYLOAD_FORMS). */
  readonly forms: readonly PayloadForm[];
  /**
   * JWS_REQUIRE_SIGNED_DATE: the protected header must carry `Date` (checkProtectedHeader already makes
   * it equal the Date header), so the freshness window and the replay key rest on signed facts only.
   */
  readonly requireDate?: boolean;
}

export interface VerifyInput {
  /** Real request method (any case). */
  readonly method: string;
  /** Real request path with query as received, e.g. `/transfers/1` or `/base/parties/MSISDN/1?currency=USD`. */
  readonly path: string;
  /** Header lookup by lower-case name. */
  readonly header: HeaderGetter;
  /** Body bytes exactly as received. */
  readonly body: Buffer;
}

export interface VerifyResult {
  readonly form: PayloadForm;
  readonly alg: Algorithm['name'];
  /** `<source>` or `<source>.<label>`: which key file verified. */
  readonly keyId: string;
  readonly source: string;
}

const fail = (code: ConstructorParameters<typeof GatewayError>[0], detail: string) => new GatewayError(code, { detail });

/** Lower-case-name header getter over a plain object of any key casing. */
export function headerGetter(headers: Readonly<Record<string, string | undefined>>): HeaderGetter {
  const lower = new Map<string, string>();
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) lower.set(k.toLowerCase(), v);
  return (name) => lower.get(name);
}

/**
 * Verifies the FSPIOP-Signature of one request: header syntax, algorithm allow-list, protected members
 * against HTTP headers and the real method/path, then the signature over the raw body and, failing
 * that, over the configured canonical forms, with every usable key of the source. Runs synchronously
 * when `keysFor` answers synchronously (a key-cache hit); the result is always a promise.
 * @throws (rejects with) GatewayError GW_JWS_* (see docs/jws.md) or GW_HEADER_MISSING when FSPIOP-Source is absent.
 */
export function verifyRequest(input: VerifyInput, keysFor: KeysFor, policy: VerifyPolicy): Promise<VerifyResult> {
  try {
    const p = prepare(input, policy);
    const keys = keysFor(p.source);
    if (!isPromise(keys)) return verifyWithKeys(p, keys, input.body, policy);
    return keys.then((k) => verifyWithKeys(p, k, input.body, policy));
  } catch (e) {
    return Promise.reject(e);
  }
}

interface Prepared {
  readonly source: string;
  readonly alg: Algorithm;
  readonly protectedHeader: string;
  readonly signature: Buffer;
}

const isPromise = <T>(v: T | Promise<T>): v is Promise<T> => typeof (v as { then?: unknown }).then === 'function';

/** Everything that needs no key: header syntax, algorithm, protected members vs the request. */
function prepare(input: VerifyInput, policy: VerifyPolicy): Prepared {
  const { header, body } = input;
  const sigValue = header('fspiop-signature');
  if (sigValue === undefined || sigValue === '') throw fail('GW_JWS_MISSING', 'no FSPIOP-Signature');
  if (!header('fspiop-uri') || !header('fspiop-http-method')) throw fail('GW_JWS_MISSING', 'FSPIOP-URI and FSPIOP-HTTP-Method are required with a signature');
  if (body.length === 0) throw fail('GW_JWS_MISSING', 'signed request without a body');
  const sh = parseSignatureHeader(sigValue);
  const ph = decodeProtectedHeader(sh.protectedHeader);
  const alg = resolveAlgorithm(ph.alg, policy.algorithms);
  const source = header('fspiop-source');
  if (!source) throw new GatewayError('GW_HEADER_MISSING', { detail: 'FSPIOP-Source' });
  const uri = fspiopUri(input.method, input.path);
  if (uri === undefined) throw fail('GW_JWS_HEADER_MISMATCH', 'request path has no FSPIOP resource');
  checkProtectedHeader(ph, header, { method: input.method.toUpperCase(), uri });
  if (policy.requireDate && ph.Date === undefined) throw new GatewayError('GW_JWS_DATE_UNSIGNED', { detail: 'protected header lacks Date' });
  const signature = Buffer.from(sh.signature, 'base64url');
  if (alg.sigBytes !== undefined && signature.length !== alg.sigBytes) {
    throw fail('GW_JWS_BAD_SIGNATURE', `${alg.name} signature must be ${alg.sigBytes} bytes (raw r||s, not DER)`);
  }
  return { source, alg, protectedHeader: sh.protectedHeader, signature };
}

function verifyWithKeys(p: Prepared, keys: readonly VerificationKey[], body: Buffer, policy: VerifyPolicy): Promise<VerifyResult> {
  const { alg } = p;
  if (keys.length === 0) throw fail('GW_JWS_KEY_UNKNOWN', 'no verification key for this FSPIOP-Source');
  let usable = 0;
  let rejected = false;
  let revoked = false; // with only revoked keys the forms are still tried: GW_JWS_KEY_REVOKED or GW_JWS_BAD_SIGNATURE says which
  for (const k of keys) {
    if (k.rejected !== undefined || k.key === undefined) rejected = true;
    else if (k.revoked !== undefined) revoked = true;
    else if (keyFits(alg, k.info)) usable++;
  }
  if (usable === 0 && !revoked) {
    throw rejected
      ? fail('GW_JWS_KEY_REJECTED', 'the verification key fails the key rules')
      : fail('GW_JWS_ALG_NOT_ALLOWED', 'algorithm does not fit the verification key');
  }
  return tryForms(p, keys, body, policy.forms);
}

/**
 * Tries the payload forms in order. Every form hashes the whole body and a fallback form also parses and
 * re-serialises it: for a body over YIELD_ABOVE_BYTES each of those steps runs in a turn of its own, so that
 * no request stalls the event loop for long (bounded work per request, docs/security.md class 10). A small
 * body, the hot path, never awaits: the function runs to its end synchronously.
 */
async function tryForms(p: Prepared, keys: readonly VerificationKey[], body: Buffer, forms: readonly PayloadForm[]): Promise<VerifyResult> {
  const turn = body.length > YIELD_ABOVE_BYTES ? nextTurn : undefined;
  const prefix = `${p.protectedHeader}.`;
  let parsed: ReturnType<typeof parseBody> | null = null;
  for (const form of forms) {
    if (turn) await turn();
    let payloadB64: string;
    if (form === 'raw') {
      payloadB64 = body.toString('base64url');
    } else {
      parsed ??= parseBody(body);
      if (parsed === undefined) continue;
      if (turn) await turn();
      const text = payloadText(form, parsed.json);
      if (text === parsed.text) continue; // identical to the raw bytes, already tried
      if (turn) await turn();
      payloadB64 = Buffer.from(text, 'utf8').toString('base64url');
    }
    if (turn) await turn();
    // signingInput may hand out the shared scratch buffer: build and use it within one turn. A verification that
    // awaits between keys (`turn`) gets a buffer of its own, whatever the form's length: another request verified in
    // between would overwrite the scratch, and the next key would check this signature against that request's bytes
    // (re-review of 2026-12-02: a fallback form of a padded body is short enough for the scratch).
    const data = signingInput(prefix, payloadB64, turn === undefined);
    const hit = turn ? await firstVerifyingInTurns(p.alg, data, keys, p.signature, false, turn) : firstVerifying(p.alg, data, keys, p.signature, false);
    if (hit === undefined) {
      // Only on the failure path: would a revoked key have verified? Then say so (it is still refused).
      if (turn) await turn();
      const revoked = turn ? await firstVerifyingInTurns(p.alg, data, keys, p.signature, true, turn) : firstVerifying(p.alg, data, keys, p.signature, true);
      if (revoked !== undefined) throw fail('GW_JWS_KEY_REVOKED', 'signed with a revoked key');
      continue;
    }
    if (form !== 'raw' && parsed) {
      if (turn) await turn();
      if (hasDuplicateKeys(parsed.text)) throw fail('GW_JWS_DUPLICATE_KEYS', 'duplicate JSON member names');
      if (hasNonCanonicalNumber(parsed.text)) throw fail('GW_JWS_NUMBER_AMBIGUOUS', 'a number is spelled otherwise than in the signed form');
    }
    return resultOf(p, form, hit);
  }
  throw fail('GW_JWS_BAD_SIGNATURE', 'signature does not verify');
}

function resultOf(p: Prepared, form: PayloadForm, hit: VerificationKey): VerifyResult {
  return { form, alg: p.alg.name, keyId: hit.label === '' ? p.source : `${p.source}.${hit.label}`, source: p.source };
}

// crypto.verify is synchronous, so one scratch buffer can hold every signing input verified within one turn: no
// per-request allocation of a 2 kB buffer on the hot path. `shared` false: a buffer of its own (used across turns).
const scratch = Buffer.allocUnsafeSlow(65536);
function signingInput(prefix: string, payloadB64: string, shared: boolean): Buffer {
  const len = prefix.length + payloadB64.length;
  const buf = shared && len <= scratch.length ? scratch : Buffer.allocUnsafe(len);
  buf.write(prefix, 0, 'latin1');
  buf.write(payloadB64, prefix.length, 'latin1');
  return buf.subarray(0, len);
}

/** Whether `k` is tried: a usable key that fits `alg`, in force (or, `revoked` true, revoked). */
const tried = (alg: Algorithm, k: VerificationKey, revoked: boolean): k is VerificationKey & { key: KeyObject } =>
  k.key !== undefined && k.rejected === undefined && (k.revoked !== undefined) === revoked && keyFits(alg, k.info);

function verifiesWith(alg: Algorithm, data: Buffer, key: KeyObject, signature: Buffer): boolean {
  try {
    return cryptoVerify(alg.digest, data, alg.hasOptions ? { key, ...alg.options } : key, signature);
  } catch {
    return false; // a malformed signature for this key type: treat as not verifying
  }
}

/** The first key that verifies: among the keys in force, or (`revoked` true) among the revoked ones only. */
function firstVerifying(alg: Algorithm, data: Buffer, keys: readonly VerificationKey[], signature: Buffer, revoked: boolean): VerificationKey | undefined {
  for (const k of keys) if (tried(alg, k, revoked) && verifiesWith(alg, data, k.key, signature)) return k;
  return undefined;
}

/**
 * firstVerifying for a large body: each verification hashes the whole signing input again, so with several keys
 * (a peer's own key set may give it ten) one turn would hash it ten times over (re-review of 2026-12-02: a 5 MiB body
 * and ten keys stalled the event loop for 90 ms). Each key after the first is tried in a turn of its own. `data` must
 * be the request's own buffer (signingInput with `shared` false), never the scratch another request may overwrite.
 */
async function firstVerifyingInTurns(
  alg: Algorithm,
  data: Buffer,
  keys: readonly VerificationKey[],
  signature: Buffer,
  revoked: boolean,
  turn: () => Promise<void>,
): Promise<VerificationKey | undefined> {
  let first = true;
  for (const k of keys) {
    if (!tried(alg, k, revoked)) continue;
    if (!first) await turn();
    first = false;
    if (verifiesWith(alg, data, k.key, signature)) return k;
  }
  return undefined;
}
