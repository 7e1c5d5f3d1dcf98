// Identifiers: W3C trace context for every request (a fresh trace per request).
import { randomBytes } from 'k6/crypto';

/** @param {number} n */
function hex(n) {
  const bytes = new Uint8Array(randomBytes(n));
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
  return s;
}

/** A W3C `traceparent` (version 00, sampled). */
export function traceparent() {
  return `00-${hex(16)}-${hex(8)}-01`;
}
