// Freshness checks the gateway adds on top of the SDK (docs/security.md class 9):
// a Date window and optional duplicate-signature rejection through the Store port.
import { createHash } from 'node:crypto';
import { GatewayError, isGatewayError } from '../errors.js';
import { parseHttpDate } from '../fspiop/headers.js';
import { PendingMark, writeMark } from '../store/first-use.js';
import type { Store, StoreMark } from '../store/types.js';

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
  /** The signature's replay record: its key and how long it lives. `dateMs`: the request's (signed) Date. */
  markOf(signatureB64: string, dateMs?: number): StoreMark;
  /** Records a signature on its own; rejects when it was seen within the window. */
  check(signatureB64: string, dateMs?: number): Promise<void>;
}

/**
 * The refusal of a request whose replay record could not be written as new: GW_JWS_REPLAY when it existed
 * (`false`), GW_STORE_UNAVAILABLE when the store failed (fail closed).
 */
export function replayRefusal(outcome: false | Error): GatewayError {
  if (outcome === false) return new GatewayError('GW_JWS_REPLAY', { detail: 'signature already seen' });
  return isGatewayError(outcome) && outcome.code === 'GW_STORE_UNAVAILABLE' ? outcome : new GatewayError('GW_STORE_UNAVAILABLE', { cause: outcome });
}

/**
 * Replay guard through the store: the record `jws-replay:<sha256>` = '1', written NX. A request is acceptable
 * while its Date lies within `skewSeconds` of now, i.e. until Date + skew: that (plus one second) is the
 * TTL, about one skew for a fresh request, so 1000 TPS with a 300 s window keeps ~300 000 records. Without
 * a usable Date the TTL is the worst case, 2 × skew. The inbound pipeline writes the record with the
 * message's first store operation (src/store/first-use.ts, src/jws/middleware.ts); `check` writes it alone.
 * Store failures fail closed (GW_STORE_UNAVAILABLE).
 */
export function createReplayGuard(store: Pick<Store, 'save'>, skewSeconds: number, now: () => number = Date.now): ReplayGuard {
  const maxTtlMs = 2 * skewSeconds * 1000;
  const markOf = (signatureB64: string, dateMs?: number): StoreMark => ({
    key: `jws-replay:${signatureFingerprint(signatureB64)}`,
    ttlMs: dateMs === undefined || Number.isNaN(dateMs) ? maxTtlMs : Math.min(maxTtlMs, Math.max(1000, dateMs + skewSeconds * 1000 - now() + 1000)),
  });
  return {
    markOf,
    // The record alone, as the pipeline's last writer does it (src/store/first-use.ts writeMark).
    check: (signatureB64, dateMs) =>
      writeMark(
        store,
        new PendingMark(markOf(signatureB64, dateMs), (outcome) => {
          if (outcome !== true) throw replayRefusal(outcome);
        }),
      ),
  };
}
