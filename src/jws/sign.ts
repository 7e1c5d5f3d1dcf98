// Outbound signing, byte-compatible with sdk-standard-components ≥ 19.18.9 (src/lib/jws/jwsSigner.js):
// the body is emitted as canonical sorted compact JSON and exactly those bytes are signed; the
// protected header is written in the SDK's member order. Inputs are never mutated.
import { sign as cryptoSign, type KeyObject } from 'node:crypto';
import { GatewayError } from '../errors.js';
import { canonicalJson } from '../fspiop/canonical-json.js';
import { nextTurn, YIELD_ABOVE_BYTES } from '../util/turns.js';
import type { Algorithm } from './algorithms.js';
import { formatSignatureHeader } from './signature-header.js';
import { fspiopUri } from './uri.js';

export interface SigningKey {
  readonly key: KeyObject;
  readonly alg: Algorithm;
}

export interface SignInput {
  readonly method: string;
  /** Full URL or path with query; FSPIOP-URI is derived from it (API Definition v1.1 §3.2.1.1, Signature v1.1 §3.1). */
  readonly url: string;
  /** Request headers, any casing. FSPIOP-Source is required; FSPIOP-Destination, FSPIOP-Encryption and Date are protected when present. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The message as a JSON value (an object for every FSPIOP message). */
  readonly json: unknown;
}

export interface SignOptions {
  /** Add a Date header (new Date().toUTCString()) when the request has none. Default true. */
  readonly addDate?: boolean;
  readonly now?: () => Date;
}

export interface SignedRequest {
  /** The canonical body bytes to send (and that were signed). */
  readonly body: Buffer;
  /** Header values to set, lower-case names. `date` only when this call generated it. */
  readonly headers: {
    readonly 'fspiop-signature': string;
    readonly 'fspiop-uri': string;
    readonly 'fspiop-http-method': string;
    readonly date?: string;
  };
}

interface PreparedHeader {
  protectedB64: string;
  headers: Omit<SignedRequest['headers'], 'fspiop-signature'>;
}
interface Prepared extends PreparedHeader {
  body: Buffer;
  input: Buffer;
}

const ASCII = /^[\x20-\x7e]*$/;
const bad = (detail: string) => new GatewayError('GW_JWS_SIGN_FAILED', { detail });

function lookup(headers: SignInput['headers'], name: string): string | undefined {
  for (const k in headers) if (k.toLowerCase() === name) return headers[k] || undefined;
  return undefined;
}

/** The protected header and the headers to set; everything but the body. */
function prepareHeader(input: SignInput, alg: Algorithm, options: SignOptions): PreparedHeader {
  if (input.json === undefined || input.json === null || typeof input.json !== 'object') throw bad('cannot sign without a JSON object body');
  const uri = fspiopUri(input.method, input.url);
  if (uri === undefined) throw bad('URL has no FSPIOP resource');
  const method = input.method.toUpperCase();
  const source = lookup(input.headers, 'fspiop-source');
  if (!source) throw bad('FSPIOP-Source is required to sign');
  const destination = lookup(input.headers, 'fspiop-destination');
  // Encryption v1.1 §3: protected when present (and the verifier refuses it unprotected: protected-header.ts).
  const encryption = lookup(input.headers, 'fspiop-encryption');
  let date = lookup(input.headers, 'date');
  let generatedDate: string | undefined;
  if (date === undefined && options.addDate !== false) date = generatedDate = (options.now?.() ?? new Date()).toUTCString();
  // jws writes the header as Latin-1; UTF-8 is the spec. They agree only on ASCII (RFC 7515 §5.1).
  for (const v of [uri, source, destination, encryption, date]) if (v !== undefined && !ASCII.test(v)) throw bad('protected header values must be ASCII');
  const ph: Record<string, string> = { alg: alg.name, 'FSPIOP-URI': uri, 'FSPIOP-HTTP-Method': method, 'FSPIOP-Source': source };
  if (destination) ph['FSPIOP-Destination'] = destination;
  if (encryption) ph['FSPIOP-Encryption'] = encryption;
  if (date) ph.Date = date;
  const protectedB64 = Buffer.from(JSON.stringify(ph), 'utf8').toString('base64url');
  const headers = generatedDate
    ? { 'fspiop-uri': uri, 'fspiop-http-method': method, date: generatedDate }
    : { 'fspiop-uri': uri, 'fspiop-http-method': method };
  return { protectedB64, headers };
}

const signingInputOf = (h: PreparedHeader, body: Buffer) => Buffer.from(`${h.protectedB64}.${body.toString('base64url')}`, 'latin1');

function prepare(input: SignInput, alg: Algorithm, options: SignOptions): Prepared {
  const h = prepareHeader(input, alg, options);
  const body = Buffer.from(canonicalJson(input.json), 'utf8');
  return { ...h, body, input: signingInputOf(h, body) };
}

function finish(p: Prepared, sig: Buffer): SignedRequest {
  const signature = formatSignatureHeader({ protectedHeader: p.protectedB64, signature: sig.toString('base64url') });
  return { body: p.body, headers: { 'fspiop-signature': signature, ...p.headers } };
}

/**
 * Signs one outbound request synchronously on the calling thread.
 * @throws GatewayError GW_JWS_SIGN_FAILED when the input cannot be signed.
 */
export function signRequest(input: SignInput, key: SigningKey, options: SignOptions = {}): SignedRequest {
  const p = prepare(input, key.alg, options);
  return finish(p, cryptoSign(key.alg.digest, p.input, key.alg.hasOptions ? { key: key.key, ...key.alg.options } : key.key));
}

/**
 * Same as signRequest, but the private-key operation runs on the libuv thread pool (crypto.sign with
 * a callback), keeping the event loop free while RSA works (see bench/jws.ts for the measurement).
 */
export async function signRequestAsync(input: SignInput, key: SigningKey, options: SignOptions = {}): Promise<SignedRequest> {
  const h = prepareHeader(input, key.alg, options);
  const text = canonicalJson(input.json);
  const large = text.length > YIELD_ABOVE_BYTES;
  if (large) await nextTurn();
  const body = Buffer.from(text, 'utf8');
  if (large) await nextTurn();
  const p: Prepared = { ...h, body, input: signingInputOf(h, body) };
  return new Promise((resolve, reject) => {
    cryptoSign(key.alg.digest, p.input, key.alg.hasOptions ? { key: key.key, ...key.alg.options } : key.key, (err, sig) => {
      if (err) reject(new GatewayError('GW_JWS_SIGN_FAILED', { detail: 'signing failed', cause: err }));
      else resolve(finish(p, sig));
    });
  });
}
