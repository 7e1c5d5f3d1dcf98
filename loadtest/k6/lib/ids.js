// Identifiers: W3C trace context for every request (a fresh trace per request): a random 64-bit prefix drawn
// once per VU and the VU's request counter (lib/trace.js).
import { randomBytes } from 'k6/crypto';
import { traceparentOf } from './trace.js';

/** @param {number} n */
function hex(n) {
  const bytes = new Uint8Array(randomBytes(n));
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
  return s;
}

let PREFIX = '';
let SENT = 0;

/** A W3C `traceparent` (version 00, sampled), new for every request of this VU. */
export function traceparent() {
  if (PREFIX === '') PREFIX = hex(8);
  SENT++;
  return traceparentOf(PREFIX, SENT);
}
