// The seam between capabilities and metrics. Capabilities report what happened through this small
// interface; metrics/registry.ts implements it with prom-client. Nobody looks metrics up by name.
// NOOP_TELEMETRY is for unit tests and tools that do not export metrics.

import type { PayloadForm } from '../jws/payload-forms.js';

export type JwsOutcome = 'ok' | 'failed' | 'skipped';
/** Re-exported for the modules that still import it from here; the type lives in src/jws/payload-forms.ts. */
export type { PayloadForm };

export interface Telemetry {
  /** One finished request on a listener. fspiopCode is '' when the request succeeded. */
  request(e: { listener: 'inbound' | 'outbound'; route: string; method: string; status: number; fspiopCode: string; seconds: number }): void;
  /** One JWS verification decision. reason is a GatewayError code for failures; source is the FSPIOP-Source as sent. */
  jwsVerify(e: { source: string; outcome: JwsOutcome; reason?: string; form?: PayloadForm; seconds: number }): void;
  jwsSign(e: { outcome: 'ok' | 'failed'; seconds: number }): void;
  /** One ILP check. errorType is a GatewayError code for failures. */
  ilp(e: { check: string; outcome: 'ok' | 'failed'; errorType?: string; seconds: number }): void;
  tlsHandshakeFailed(reason: string): void;
  /**
   * One finished TLS handshake and its key-exchange group (src/tls/negotiated-group.ts): endpoint inbound (the
   * listener), outbound (the mTLS client to peers) or upstream (the client to https upstreams).
   */
  tlsHandshake(e: { endpoint: 'inbound' | 'outbound' | 'upstream'; group: string }): void;
  upstream(e: { target: string; outcome: 'ok' | 'error' | 'timeout'; seconds: number }): void;
  /** One upstream pool's load, sampled every second (src/proxy/upstream.ts PoolLoad). */
  upstreamPool(e: { target: string; inFlight: number; peak: number; connections: number; limit: number }): void;
  /** Result of the latest reachability probe of an inbound upstream (its name: 'upstream' or 'upstream:<resource>'). */
  upstreamUp(e: { target: string; up: boolean }): void;
  store(e: { op: string; outcome: 'ok' | 'error'; seconds: number }): void;
  keyCache(e: { event: 'hit' | 'miss' | 'negative_hit' | 'load' | 'load_failed'; size: number }): void;
  /** Expiry (unix seconds) of a certificate or JWS key file; notAfter undefined removes the series. */
  expiry(e: { kind: 'tls_server' | 'tls_ca' | 'tls_client' | 'jws_key'; file: string; notAfter: number | undefined }): void;
  reload(e: { what: 'tls' | 'jws_keys' | 'jws_signing_key' | 'peers' | 'identity_map' | 'rate_limits' | 'admin_tokens'; outcome: 'ok' | 'failed' }): void;
  quarantine(e: { count: number }): void;
  /** The FSP ids the gateway knows (keys, peers): metric labels outside this set are folded to 'unknown'. */
  knownPeers(ids: Iterable<string>): void;
  /** Result of the latest store health probe (Store.ping()); feeds switchguard_store_up. */
  storeUp(up: boolean): void;
  /** The memory store refused a write because it is full (it never evicts live records). */
  storeFull(): void;
  /** A replica found the shared quarantine list missing or older than the list it enforces (store flush, restart, eviction). */
  quarantineLost(): void;
  /** A connection closed by a listener cap (src/http/listener-limits.ts). */
  connectionRejected(e: { listener: 'inbound' | 'outbound' | 'admin'; reason: 'max_connections' | 'max_per_address' }): void;
  /** A connection closed by a listener timeout: TLS handshake, headers, request (body) or keep-alive idle. */
  connectionTimeout(e: { listener: 'inbound' | 'outbound' | 'admin'; kind: 'handshake' | 'headers' | 'request' | 'idle' }): void;
  /** A TCP connection to the TLS listener that closed without sending a byte (health check, port scan). */
  tlsProbe(): void;
  // traffic control (src/limits/)
  /** A request refused by a per-FSP limit (rate or concurrency); fspId is the verified peer or the destination. */
  rateLimited(e: { listener: 'inbound' | 'outbound'; fspId: string; reason: 'rate' | 'concurrency' }): void;
  /** Requests of one FSP in flight through this process's limit stage. */
  inFlight(e: { listener: 'inbound' | 'outbound'; fspId: string; count: number }): void;
  /** A limit decision taken by the per-process fallback because the shared store did not answer. */
  rateLimitFallback(e: { what: 'rate' | 'concurrency' }): void;
  /** A body FSP id that differs from its header (IDENTITY_CHECK): template and member come from src/fspiop/identity.ts RELATIONS. */
  identityMismatch(e: { listener: 'inbound' | 'outbound'; template: string; member: string; policy: 'log' | 'enforce' }): void;
  // issue 10: no error swallowed
  /** An audit record that could not be written (src/logging/audit.ts onWriteError). */
  auditWriteFailed(): void;
  // issue 12: own signing keys (src/jws/signing-key.ts)
  /** Every key of the signing keyring with its state and times (unix seconds); replaces the previous report. */
  signingKeys(keys: readonly { kid: string; state: string; activation: number; retire: number | undefined; published: number }[]): void;
  /** Activation time (unix seconds) of a staged certificate (src/tls/staged.ts); undefined removes the series. */
  certificateActivation(e: { kind: 'tls_server' | 'tls_client'; file: string; activateAt: number | undefined }): void;
  // OCSP (src/tls/ocsp/)
  /** One OCSP decision about an inbound client certificate: the status found and whether the connection was admitted. */
  ocspCheck(e: { outcome: 'good' | 'revoked' | 'unknown' | 'error'; decision: 'allow' | 'refuse' }): void;
  /** One query to an OCSP responder: what it gave (reason: why there was no usable answer) and how long it took. */
  ocspResponder(e: { purpose: 'client' | 'staple'; outcome: 'good' | 'revoked' | 'unknown' | 'error'; reason: string | undefined; seconds: number }): void;
  /** One TLS client that asked for the server certificate's OCSP status: whether an answer was stapled. */
  ocspStaple(e: { stapled: boolean }): void;
  // issue 12: peer verification keys from remote sources, and their revocation
  /**
   * One fetch of a remote key source (src/jws/sources/): kind jwks (source = the peer) or mcm (source = dfsps
   * or hub). ok: keys in force, last success and stale-after (unix seconds); failed: reason (a Refusal
   * reason); removed: the source left the peer directory (its series go).
   */
  keySource(e: {
    kind: 'jwks' | 'mcm';
    source: string;
    outcome: 'ok' | 'failed' | 'removed';
    reason?: string;
    keys?: number;
    lastSuccess?: number;
    staleAfter?: number;
  }): void;
  /** Key revocations in force (src/jws/revocations.ts). */
  keyRevocations(e: { count: number }): void;
  /** A replica found the shared revocation list missing, older or forged, and restored it. */
  keyRevocationsLost(): void;
}

const noop = () => {};
export const NOOP_TELEMETRY: Telemetry = {
  request: noop,
  jwsVerify: noop,
  jwsSign: noop,
  ilp: noop,
  tlsHandshakeFailed: noop,
  tlsHandshake: noop,
  upstream: noop,
  upstreamUp: noop,
  upstreamPool: noop,
  store: noop,
  keyCache: noop,
  expiry: noop,
  reload: noop,
  quarantine: noop,
  knownPeers: noop,
  storeUp: noop,
  storeFull: noop,
  quarantineLost: noop,
  connectionRejected: noop,
  connectionTimeout: noop,
  tlsProbe: noop,
  rateLimited: noop,
  inFlight: noop,
  rateLimitFallback: noop,
  identityMismatch: noop,
  auditWriteFailed: noop,
  signingKeys: noop,
  certificateActivation: noop,
  ocspCheck: noop,
  ocspResponder: noop,
  ocspStaple: noop,
  keySource: noop,
  keyRevocations: noop,
  keyRevocationsLost: noop,
};
