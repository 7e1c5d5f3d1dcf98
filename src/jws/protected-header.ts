// Decoding of the protected header and the check of its members against the HTTP headers and the
// real request line (Signature v1.1 §3.3; the SDK's jwsValidator.js). Values are compared byte-exactly; an empty
// FSPIOP-Destination header counts as absent, as in the SDK (negative vector destination-header-empty).
import { GatewayError } from '../errors.js';
import { hasDuplicateKeys } from '../fspiop/duplicate-keys.js';

/** Header lookup by lower-case name; undefined when absent. */
export type HeaderGetter = (lowerName: string) => string | undefined;

export interface ProtectedHeader {
  readonly alg: unknown;
  readonly [member: string]: unknown;
}

/** Members the FSPIOP protected header may carry, with the HTTP header each one mirrors. */
const MIRRORED: ReadonlyMap<string, string> = new Map([
  ['FSPIOP-URI', 'fspiop-uri'],
  ['FSPIOP-HTTP-Method', 'fspiop-http-method'],
  ['FSPIOP-Source', 'fspiop-source'],
  ['FSPIOP-Destination', 'fspiop-destination'],
  ['Date', 'date'],
  ['FSPIOP-Encryption', 'fspiop-encryption'],
]);
const REQUIRED = ['FSPIOP-URI', 'FSPIOP-HTTP-Method', 'FSPIOP-Source'] as const;
const MAX_DECODED = 6144;

const mismatch = (detail: string) => new GatewayError('GW_JWS_HEADER_MISMATCH', { detail });

/**
 * Decodes the base64url protected header into an object.
 * @throws GatewayError GW_JWS_MALFORMED when it is not a UTF-8 JSON object.
 */
export function decodeProtectedHeader(b64: string): ProtectedHeader {
  const text = Buffer.from(b64, 'base64url').toString('utf8');
  let v: unknown;
  try {
    v = text.length <= MAX_DECODED ? JSON.parse(text) : undefined;
  } catch {
    v = undefined; // rejected just below as not a JSON object
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new GatewayError('GW_JWS_MALFORMED', { detail: 'protected header is not a JSON object' });
  }
  // RFC 7515 §4: header parameter names must be unique; a validator that keeps the first of two would
  // read other members than this one (JSON.parse keeps the last).
  if (hasDuplicateKeys(text)) throw new GatewayError('GW_JWS_MALFORMED', { detail: 'protected header repeats a member' });
  return v as ProtectedHeader;
}

export interface RequestLine {
  /** Upper-case HTTP method of the real request. */
  readonly method: string;
  /** The FSPIOP-URI the real request line implies: path from the resource name, plus query. */
  readonly uri: string;
}

/**
 * Checks every protected member against the HTTP headers and the real request line.
 * `alg` is checked separately (algorithms.ts). Unknown members are rejected: the spec says other
 * protected members name HTTP headers, and the gateway will not accept one it cannot check.
 * @throws GatewayError GW_JWS_HEADER_MISMATCH (or GW_JWS_MALFORMED for non-string members).
 */
export function checkProtectedHeader(ph: ProtectedHeader, header: HeaderGetter, line: RequestLine): void {
  for (const name of Object.keys(ph)) {
    if (name === 'alg') continue;
    if (!MIRRORED.has(name)) throw mismatch('protected header has an unsupported member');
    if (typeof ph[name] !== 'string') throw new GatewayError('GW_JWS_MALFORMED', { detail: 'protected header member is not a string' });
  }
  for (const name of REQUIRED) {
    if (ph[name] === undefined) throw mismatch(`protected header lacks ${name}`);
  }
  for (const [member, httpName] of MIRRORED) {
    const p = ph[member] as string | undefined;
    const h = header(httpName);
    const hPresent = h !== undefined && h !== '';
    if (p === undefined) {
      // Encryption v1.1 §3: FSPIOP-Encryption must be protected when present (fspiop.md); unprotected, whoever sits
      // on the path could attach an encryption descriptor the sender never signed.
      if ((member === 'FSPIOP-Destination' || member === 'FSPIOP-Encryption') && hPresent) throw mismatch(`${member} is not protected`);
      continue;
    }
    if (!hPresent) throw mismatch(`${member} is protected but the HTTP header is missing`);
    if (h !== p) throw mismatch(`${member} does not match the protected header`);
  }
  if (ph['FSPIOP-HTTP-Method'] !== line.method) throw mismatch('FSPIOP-HTTP-Method does not match the request method');
  if (ph['FSPIOP-URI'] !== line.uri) throw mismatch('FSPIOP-URI does not match the request path');
}
