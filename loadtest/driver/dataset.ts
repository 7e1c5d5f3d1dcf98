// The pre-signed request file written by `npm run loadtest:prepare` and read by both the driver and the
// k6 scripts (SharedArray). Requests are stored in the order they must be sent.
import { readFileSync } from 'node:fs';

/** Request kinds; the k6 scripts have one module per kind under loadtest/k6/requests/. */
export type RequestKind = 'postQuotes' | 'putQuotes' | 'postTransfers' | 'putTransfers';

export interface PreparedRequest {
  readonly kind: RequestKind;
  readonly method: 'POST' | 'PUT';
  /** Path below the gateway's base URL, e.g. '/quotes' or '/transfers/{id}'. */
  readonly path: string;
  /** Client certificate to use = the sending FSP (FSPIOP-Source). */
  readonly fsp: string;
  readonly destination: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The exact body bytes that were signed (UTF-8 text). */
  readonly body: string;
  /** Expected HTTP status (202 for valid requests, 400 for broken signatures). */
  readonly expectStatus: number;
  /** Expected FSPIOP error code for rejected requests (e.g. '3105'). */
  readonly expectCode?: string;
}

export interface PreparedSet {
  readonly version: 1;
  readonly createdAt: string;
  /** Date headers are createdAt: the set verifies until createdAt + the gateway's JWS_MAX_CLOCK_SKEW_SECONDS. */
  readonly validUntil: string;
  readonly skewSeconds: number;
  /** True when every request may be sent more than once (no ILP state), so a run may wrap around. */
  readonly reusable: boolean;
  readonly fsps: readonly string[];
  readonly ilpVersion: string;
  readonly badShare: number;
  readonly requests: readonly PreparedRequest[];
}

/** Reads and sanity-checks a prepared set. */
export function loadPreparedSet(path: string): PreparedSet {
  const set = JSON.parse(readFileSync(path, 'utf8')) as PreparedSet;
  if (set.version !== 1 || !Array.isArray(set.requests) || set.requests.length === 0) {
    throw new Error(`${path}: not a prepared request set (run npm run loadtest:prepare)`);
  }
  return set;
}

/** The request for start number `i`, or undefined when a non-reusable set is exhausted. */
export function requestAt(set: PreparedSet, i: number): PreparedRequest | undefined {
  if (i < set.requests.length) return set.requests[i];
  return set.reusable ? set.requests[i % set.requests.length] : undefined;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '[::1]', 'localhost']);

/** Refuses any target that is not on the loopback interface: this tool must never load a real network. */
export function assertLoopback(target: string): URL {
  const u = new URL(target);
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error(`target must be http(s): ${target}`);
  if (!LOOPBACK.has(u.hostname) && !/^127\.\d+\.\d+\.\d+$/.test(u.hostname)) {
    throw new Error(`refusing non-loopback target ${u.hostname}: the load driver only runs against 127.0.0.1/::1`);
  }
  return u;
}
