// Shared fixtures for the JWS tests: the vector files (copied from /work/shared/vectors) and key maps.

import { createPrivateKey, createPublicKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describeKey, keyRejection } from '../../src/jws/algorithms.js';
import type { KeysFor, VerificationKey } from '../../src/jws/verify.js';

const load = (name: string) => JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url), 'utf8'));

export interface VectorRequest {
  method?: string;
  url?: string;
  headers: Record<string, string>;
  body?: unknown;
}
export const KEYS = load('keys.json') as Record<string, string>;
export const VECTORS = load('jws-vectors.json') as {
  positives: {
    name: string;
    alg: string;
    request: Required<VectorRequest>;
    fspiopSignature: { protectedHeader: string; signature: string };
    protectedHeaderJson: string;
    jwsSigningInput: string;
  }[];
  specSignatureExample: { publicKeyPem: string; protectedHeaderJson: string; bodyExactBytes: string; correctedSignature: string };
  certificateAsVerificationKey: { ok: boolean };
};
export const NEGATIVES = load('jws-negative-vectors.json') as { cases: { name: string; request: VectorRequest }[] };

export function verificationKey(key: KeyObject, label = ''): VerificationKey {
  const rejected = keyRejection(key);
  return rejected ? { label, key: undefined, info: describeKey(key), rejected } : { label, key, info: describeKey(key) };
}

/** payerfsp and payeefsp RSA keys, ecfsp EC key. */
export const PUBLIC_KEYS: Record<string, KeyObject> = {
  payerfsp: createPublicKey(KEYS.payerfspPublicKeyPem!),
  payeefsp: createPublicKey(KEYS.payeefspPublicKeyPem!),
  ecfsp: createPublicKey(KEYS.ecfspPublicKeyPem!),
  payerfspCert: new X509Certificate(KEYS.payerfspCertificatePem!).publicKey,
};
export const PRIVATE_KEYS: Record<string, KeyObject> = {
  payerfsp: createPrivateKey(KEYS.payerfspPrivateKeyPem!),
  payeefsp: createPrivateKey(KEYS.payeefspPrivateKeyPem!),
  ecfsp: createPrivateKey(KEYS.ecfspPrivateKeyPem!),
};

/** keysFor over a fixed map of source → keys. */
export function staticKeys(map: Record<string, KeyObject[]>): KeysFor {
  const m = new Map(Object.entries(map).map(([k, v]) => [k, v.map((x) => verificationKey(x))]));
  return (source) => m.get(source) ?? [];
}

/** Body bytes of a vector request: strings as they are, parsed bodies as JSON.stringify wrote them. */
export const bodyBytes = (body: unknown): Buffer =>
  body === undefined ? Buffer.alloc(0) : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8');

import { generateKeyPairSync } from 'node:crypto';
import { ALGORITHMS } from '../../src/jws/algorithms.js';
import { type SigningKey, signRequest } from '../../src/jws/sign.js';
import { headerGetter, type VerifyInput } from '../../src/jws/verify.js';

export const TRANSFER = {
  transferId: '7c23e80c-d078-4077-8263-2c047876fcf6',
  payerFsp: 'payerfsp',
  payeeFsp: 'payeefsp',
  amount: { currency: 'USD', amount: '100.50' },
  expiration: '2029-01-01T10:05:00.000Z',
  ilpPacket:
    'AYIBgQAAAAAAAASwNGxldmVsb25lLmRmc3AxLm1lci45T2RTOF81MDdqUUZERmZlakgyOVc4bXFmNEpLMHlGTFGCAUBQU0svMS4wCk5vbmNlOiB1SXlweUYzY3pYSXBFdzVVc05TYWh3CkVuY3J5cHRpb246IG5vbmUKUGF5bWVudC1JZDogMTMyMzZhM2ItOGZhOC00MTYzLTg0NDctNGMzZWQzZGE5OGE3',
  condition: 'f5sqb7tBTWPd5Y8BDFdMm9BJR_MNI4isf8p8n4D5pHA',
};

/** A signed POST /transfers as verifyRequest sees it. */
export function signedTransfer(
  key: SigningKey,
  source: string,
  json: unknown = TRANSFER,
  extra: Record<string, string> = {},
): VerifyInput & { headers: Record<string, string> } {
  const headers: Record<string, string> = { 'fspiop-source': source, 'fspiop-destination': 'payeefsp', date: new Date().toUTCString(), ...extra };
  const out = signRequest({ method: 'POST', url: '/transfers', headers, json }, key);
  const all = { ...headers, ...out.headers };
  return { method: 'POST', path: '/transfers', header: headerGetter(all), body: out.body, headers: all };
}

export function newRsa(bits = 2048): { signing: SigningKey; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return { signing: { key: privateKey, alg: ALGORITHMS.RS256 }, publicPem: publicKey.export({ type: 'spki', format: 'pem' }) as string };
}

/** A request as Mojaloop's SDK signer takes it (axios/request options). */
export interface SdkRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
}
/** The JWS signer and validator of sdk-standard-components. */
export interface SdkJws {
  signer: new (c: { signingKey: string; logger: unknown }) => { sign(r: SdkRequest): void };
  validator: new (c: { validationKeys: Record<string, string>; logger: unknown }) => { validate(r: { headers: Record<string, string>; body: unknown }): true };
}
const require = createRequire(import.meta.url);
/** Both SDK generations from node_modules (devDependencies): 19.19.1 signs sorted keys, 19.18.8 insertion order. */
export const SDK_RELEASES: readonly [string, SdkJws][] = [
  ['19.19.1', (require('@mojaloop/sdk-standard-components') as { Jws: SdkJws }).Jws],
  ['19.18.8', (require('sdk-19188') as { Jws: SdkJws }).Jws],
];
/** The logger the SDK asks for: child(), debug(), error() and the isDebugEnabled flag. */
export const sdkLogger = {
  isDebugEnabled: false,
  child(): unknown {
    return sdkLogger;
  },
  debug() {},
  info() {},
  warn() {},
  error() {},
};
