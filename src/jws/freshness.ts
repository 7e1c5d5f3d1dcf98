// Freshness checks the gateway adds on top of the SDK (docs/security.md class 9):
// a Date window and optional duplicate-signature rejection through the Store port.
import { createHash } from 'node:crypto';
import { GatewayError, isGatewayError } from '../errors.js';
import { parseHttpDate } from '../fspiop/headers.js';
import type { Store } from '../store/types.js';

/**
 * Rejects a Date header further than `skewSeconds` from `nowMs`.
 * @throws GatewayError GW_HEADER_MALFORMED (unparsable) or GW_CLOCK_SKEW (outside the window).
 */
export function checkDateWindow(date: string, nowMs: number, skewSeconds: number): void {
  const t = parseHttpDate(date);
  if (t === undefined) throw new GatewayError('GW_HEADER_MALFORMED', { detail: 'Date is not an RFC 1123 date' });
  checkDateWindowAt(t, nowMs, skewSeconds);
}

/** The same check for a Date already parsed (by checkRequest, kept in the request context). */
export function checkDateWindowAt(dateMs: number, nowMs: number, skewSeconds: number): void {
  if (Math.abs(nowMs - dateMs) > skewSeconds * 1000) throw new GatewayError('GW_CLOCK_SKEW', { detail: 'Date outside the allowed clock skew' });
}

// P-256 group order: an ECDSA signature (r, s) also verifies as (r, n - s), so the replay key uses the low s.
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

/** Replay-key material of a base64url signature: the decoded bytes (non-canonical base64url tails collapse), ES256 low-s normalised. */
export function signatureFingerprint(signatureB64: string): string {
  const bytes = Buffer.from(signatureB64, 'base64url');
  if (bytes.length === 64) {
    const s = BigInt(`0x${bytes.subarray(32).toString('hex')}`);
    if (s > P256_N / 2n) Buffer.from((P256_N - s).toString(16).padStart(64, '0'), 'hex').copy(bytes, 32);
  }
  return createHash('sha256').update(bytes).digest('hex');
}

export interface ReplayGuard {
  /** Records a signature; rejects when it was seen within the window. `dateMs`: the request's (signed) Date. */
  check(signatureB64: string, dateMs?: number): Promise<void>;
}

/**
 * Replay guard through the store: `save('jws-replay:<sha256>', '1', ttl, 'nx')`. A request is acceptable
 * while its Date lies within `skewSeconds` of now, i.e. until Date + skew: that (plus one second) is the
 * TTL, about one skew for a fresh request, so 1000 TPS with a 300 s window keeps ~300 000 records. Without
 * a usable Date the TTL is the worst case, 2 × skew. Store failures fail closed (GW_STORE_UNAVAILABLE).
 */
export function createReplayGuard(store: Store, skewSeconds: number, now: () => number = Date.now): ReplayGuard {
  const maxTtlMs = 2 * skewSeconds * 1000;
  return {
    async check(signatureB64, dateMs) {
      const ttlMs = dateMs === undefined || Number.isNaN(dateMs) ? maxTtlMs : Math.min(maxTtlMs, Math.max(1000, dateMs + skewSeconds * 1000 - now() + 1000));
      let fresh: boolean;
      try {
        fresh = await store.save(`jws-replay:${signatureFingerprint(signatureB64)}`, '1', ttlMs, 'nx');
      } catch (e) {
        throw isGatewayError(e) && e.code === 'GW_STORE_UNAVAILABLE' ? e : new GatewayError('GW_STORE_UNAVAILABLE', { cause: e });
      }
      if (!fresh) throw new GatewayError('GW_JWS_REPLAY', { detail: 'signature already seen' });
    },
  };
}
