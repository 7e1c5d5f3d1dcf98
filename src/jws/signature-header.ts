// The FSPIOP-Signature header value: a JSON object with exactly the two string members
// `protectedHeader` and `signature`, both unpadded base64url (Signature v1.1 §3.1 Table 1).
// It is not a compact JWS; the payload segment is rebuilt from the body.

import { GatewayError } from '../errors.js';
import { hasDuplicateKeys } from '../fspiop/duplicate-keys.js';

export interface SignatureHeader {
  /** The protected header exactly as received (base64url text, used verbatim in the signing input). */
  readonly protectedHeader: string;
  readonly signature: string;
}

/** Size cap of the whole header value; checked before JSON.parse so huge headers cost nothing. */
const MAX_SIGNATURE_HEADER_BYTES = 8192;
/** Spec caps: protectedHeader String(1..32768) is above our header cap anyway; signature String(1..512). */
const MAX_SIGNATURE_CHARS = 512;
const B64URL = /^[A-Za-z0-9_-]+$/;
const SORTED = /^\{"protectedHeader":"([A-Za-z0-9_-]+)","signature":"([A-Za-z0-9_-]+)"\}$/;
const LEGACY = /^\{"signature":"([A-Za-z0-9_-]+)","protectedHeader":"([A-Za-z0-9_-]+)"\}$/;

const malformed = (detail: string) => new GatewayError('GW_JWS_MALFORMED', { detail });

/**
 * Parses and strictly checks an FSPIOP-Signature header value.
 * @throws GatewayError GW_JWS_MALFORMED (too long, not JSON, wrong members, not base64url).
 */
export function parseSignatureHeader(value: string): SignatureHeader {
  if (value.length > MAX_SIGNATURE_HEADER_BYTES) throw malformed('signature header too long');
  // Fast path for the two compact forms SDK releases emit; anything else takes the general path.
  const m = SORTED.exec(value);
  if (m && m[2]!.length <= MAX_SIGNATURE_CHARS) return { protectedHeader: m[1]!, signature: m[2]! };
  const r = LEGACY.exec(value);
  if (r && r[1]!.length <= MAX_SIGNATURE_CHARS) return { protectedHeader: r[2]!, signature: r[1]! };
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw malformed('signature header is not JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw malformed('signature header is not a JSON object');
  // A validator that keeps the first of two equal members would read another protectedHeader than JSON.parse (the last).
  if (hasDuplicateKeys(value)) throw malformed('signature header repeats a member');
  const keys = Object.keys(parsed);
  if (keys.length !== 2) throw malformed('signature header must have exactly protectedHeader and signature');
  const { protectedHeader, signature } = parsed as Record<string, unknown>;
  if (typeof protectedHeader !== 'string' || typeof signature !== 'string') {
    throw malformed('signature header must have exactly protectedHeader and signature');
  }
  if (!B64URL.test(protectedHeader) || !B64URL.test(signature) || signature.length > MAX_SIGNATURE_CHARS) {
    throw malformed('signature header members are not unpadded base64url');
  }
  return { protectedHeader, signature };
}

/** The header value as SDK ≥ 19.18.9 writes it: sorted members, compact (the SDK's jwsSigner.js). */
export function formatSignatureHeader(h: SignatureHeader): string {
  return `{"protectedHeader":"${h.protectedHeader}","signature":"${h.signature}"}`;
}
