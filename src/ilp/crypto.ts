// Conditions and fulfilments (API Definition v1.1 §4.4): a fulfilment is a 32-byte preimage, the condition its
// SHA-256; both travel as 43 unpadded base64url characters. Decoding here is strict (the URL alphabet,
// no padding, canonical trailing bits), unlike the SDK's lenient decoder, so every accepted string has
// exactly one byte form and validation is a constant-time comparison of 32-byte buffers.
import * as nodeCrypto from 'node:crypto';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

// 43 characters carry 258 bits: the last character's two spare bits must be zero (its alphabet index a
// multiple of 4), so "…A" and "…B" are not two spellings of one value.
const FORM = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

/** The 32 bytes of a strictly encoded condition or fulfilment, or undefined when the text is not one. */
export function decode32(text: unknown): Buffer | undefined {
  if (typeof text !== 'string' || !FORM.test(text)) return undefined;
  return Buffer.from(text, 'base64url');
}

// One-shot crypto.hash (Node ≥ 20.12) costs about two thirds of createHash().update().digest();
// engines allows 20.10, hence the fallback.
const oneShot = (nodeCrypto as Partial<typeof nodeCrypto>).hash;
const sha256: (data: Buffer) => Buffer = oneShot ? (data) => oneShot('sha256', data, 'buffer') : (data) => createHash('sha256').update(data).digest();

/** The condition (base64url SHA-256) of a 32-byte fulfilment. */
export function conditionOf(fulfilment: Buffer): string {
  return sha256(fulfilment).toString('base64url');
}

/** True when SHA-256(fulfilment) equals the condition; both must be strictly encoded. Constant time in the values. */
export function validateFulfilment(fulfilment: unknown, condition: unknown): boolean {
  const f = decode32(fulfilment);
  const c = decode32(condition);
  if (f === undefined || c === undefined) return false;
  return timingSafeEqual(sha256(f), c);
}

/** Constant-time check of decoded bytes: SHA-256(fulfilment) === condition. */
export function fulfils(fulfilment: Buffer, condition: Buffer): boolean {
  return fulfilment.length === 32 && condition.length === 32 && timingSafeEqual(sha256(fulfilment), condition);
}

/**
 * The SDK's HMAC key: the ASCII text of base64(UTF-8(secret)), not the secret bytes (the SDK's src/lib/ilp).
 * Computed once per secret by the keyring.
 */
export function hmacKeyOf(secret: string): Buffer {
  return Buffer.from(Buffer.from(secret, 'utf8').toString('base64'), 'ascii');
}

/** HMAC-SHA256 over the ASCII text `message` (v1: the packet's base64url text; v4: padded base64 of the JSON). */
export function hmacFulfilment(key: Buffer, message: string): Buffer {
  return createHmac('sha256', key).update(Buffer.from(message, 'latin1')).digest();
}
