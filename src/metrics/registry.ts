// The one metrics registry (docs/operations.md): every metric the gateway exports is declared in this file, on a
// private prom-client Registry (never the global one), and createTelemetry() implements the Telemetry
// seam over it. Capabilities only ever see the Telemetry interface; nobody looks a metric up by name.
// Metric names are a public contract (dashboards, alerts/): docs/operations.md lists them.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Telemetry } from '../telemetry/types.js';
import { CappedLabel, children, errorCodeLabel, fspiopCodeLabel, methodLabel, tlsGroupLabel, UNKNOWN } from './labels.js';

const REQUEST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const CRYPTO_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1];
const STORE_BUCKETS = [0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
const OCSP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

// Gauges carry an aggregator for WORKERS > 1, where prom-client's AggregatorRegistry merges the workers'
// registries: counters and histograms add up, but a timestamp or an up/down flag must not be summed.

/** Declares every gateway metric on `registry`. Exported for tests that check names (dashboard, docs). */
export function declareMetrics(registry: Registry) {
  const r = [registry];
  return {
    jwsVerifications: new Counter({
      name: 'mojaloop_jws_verification_total',
      help: 'JWS verification decisions by FSPIOP-Source (unknown sources folded to "unknown") and outcome (ok, failed, skipped).',
      labelNames: ['dfsp', 'outcome'] as const,
      registers: r,
    }),
    jwsFailures: new Counter({
      name: 'mojaloop_jws_verification_failed_total',
      help: 'Failed JWS verifications by FSPIOP-Source and GatewayError code.',
      labelNames: ['dfsp', 'reason'] as const,
      registers: r,
    }),
    jwsVerifySeconds: new Histogram({
      name: 'mojaloop_jws_verify_duration_seconds',
      help: 'Time to verify an FSPIOP-Signature, by outcome and the payload form that verified.',
      labelNames: ['outcome', 'form'] as const,
      buckets: CRYPTO_BUCKETS,
      registers: r,
    }),
    jwsSignSeconds: new Histogram({
      name: 'mojaloop_jws_sign_duration_seconds',
      help: 'Time to sign an outbound message, by outcome.',
      labelNames: ['outcome'] as const,
      buckets: CRYPTO_BUCKETS,
      registers: r,
    }),
    ilpValidations: new Counter({
      name: 'mojaloop_ilp_validation_total',
      help: 'ILP checks by check and outcome (ok, failed).',
      labelNames: ['check', 'outcome'] as const,
      registers: r,
    }),
    ilpFailures: new Counter({
      name: 'mojaloop_ilp_validation_failed_total',
      help: 'Failed ILP checks by GatewayError code.',
      labelNames: ['error_type'] as const,
      registers: r,
    }),
    ilpSeconds: new Histogram({
      name: 'mojaloop_ilp_validation_duration_seconds',
      help: 'Time of one ILP check (store round trips included).',
      labelNames: ['check'] as const,
      buckets: STORE_BUCKETS,
      registers: r,
    }),
    tlsFailures: new Counter({
      name: 'switchguard_tls_handshake_failures_total',
      help: 'Inbound TLS handshakes that failed (tlsClientError), by reason.',
      labelNames: ['reason'] as const,
      registers: r,
    }),
    tlsHandshakes: new Counter({
      name: 'switchguard_tls_handshakes_total',
      help: 'Finished TLS handshakes by endpoint (inbound listener, outbound = mTLS client to peers, upstream = https upstream client) and negotiated key-exchange group (X25519MLKEM768 = post-quantum hybrid).',
      labelNames: ['endpoint', 'group'] as const,
      registers: r,
    }),
    requestSeconds: new Histogram({
      name: 'switchguard_http_request_duration_seconds',
      help: 'Requests by listener, route template, method and FSPIOP error code ("" = success).',
      labelNames: ['listener', 'route', 'method', 'fspiop_code'] as const,
      buckets: REQUEST_BUCKETS,
      registers: r,
    }),
    upstreamRequests: new Counter({
      name: 'switchguard_upstream_requests_total',
      help: 'Forwarded requests by target and outcome (ok, error, timeout).',
      labelNames: ['target', 'outcome'] as const,
      registers: r,
    }),
    upstreamSeconds: new Histogram({
      name: 'switchguard_upstream_duration_seconds',
      help: 'Upstream round-trip time by target class (peer = any known peer; else the target) and outcome.',
      labelNames: ['target_class', 'outcome'] as const,
      buckets: REQUEST_BUCKETS,
      registers: r,
    }),
    upstreamUp: new Gauge({
      name: 'switchguard_upstream_up',
      help: 'Inbound upstreams by name (upstream = INBOUND_UPSTREAM_URL, upstream:<resource> = an INBOUND_UPSTREAM_ROUTES item): 1 when the latest probe connected, else 0.',
      labelNames: ['target'] as const,
      aggregator: 'min',
      registers: r,
    }),
    upstreamInFlight: new Gauge({
      name: 'switchguard_upstream_in_flight',
      help: 'Requests sent to an upstream (inbound upstream name or peer id) and not yet answered, sampled every second.',
      labelNames: ['target'] as const,
      aggregator: 'sum',
      registers: r,
    }),
    upstreamInFlightPeak: new Gauge({
      name: 'switchguard_upstream_in_flight_peak',
      help: 'The most requests in flight to an upstream at once during the last second; at UPSTREAM_CONNECTIONS the pool is saturated and requests wait for a connection.',
      labelNames: ['target'] as const,
      aggregator: 'max',
      registers: r,
    }),
    upstreamConnections: new Gauge({
      name: 'switchguard_upstream_connections',
      help: 'Open keep-alive connections of an upstream pool, sampled every second.',
      labelNames: ['target'] as const,
      aggregator: 'sum',
      registers: r,
    }),
    upstreamConnectionsLimit: new Gauge({
      name: 'switchguard_upstream_connections_limit',
      help: 'The bound of an upstream pool (UPSTREAM_CONNECTIONS per origin and process).',
      labelNames: ['target'] as const,
      aggregator: 'max',
      registers: r,
    }),
    storeSeconds: new Histogram({
      name: 'switchguard_store_operation_duration_seconds',
      help: 'Store (memory or Redis) operation time by operation and outcome.',
      labelNames: ['op', 'outcome'] as const,
      buckets: STORE_BUCKETS,
      registers: r,
    }),
    storeErrors: new Counter({
      name: 'switchguard_store_errors_total',
      help: 'Store operations that failed (store unreachable or timed out; op marked_operation: the ILP operation after a written replay record, a full memory store included), by operation.',
      labelNames: ['op'] as const,
      registers: r,
    }),
    storeUp: new Gauge({ name: 'switchguard_store_up', help: '1 when the latest store health probe answered, else 0.', aggregator: 'min', registers: r }),
    keyCacheHits: new Counter({
      name: 'switchguard_jws_key_cache_hits_total',
      help: 'Key lookups answered from the cache; kind=negative for cached unknown sources.',
      labelNames: ['kind'] as const,
      registers: r,
    }),
    keyCacheMisses: new Counter({ name: 'switchguard_jws_key_cache_misses_total', help: 'Key lookups that had to load from the key directory.', registers: r }),
    keyLoads: new Counter({
      name: 'switchguard_jws_key_loads_total',
      help: 'Key loads from the key directory by outcome (ok, failed).',
      labelNames: ['outcome'] as const,
      registers: r,
    }),
    keyCacheSize: new Gauge({ name: 'switchguard_jws_key_cache_size', help: 'Parsed verification keys currently cached.', aggregator: 'max', registers: r }),
    certExpiry: new Gauge({
      name: 'switchguard_certificate_expiry_timestamp_seconds',
      help: 'notAfter (unix seconds) of each loaded TLS certificate file, by kind (tls_server, tls_ca, tls_client).',
      labelNames: ['kind', 'file'] as const,
      aggregator: 'min',
      registers: r,
    }),
    jwsKeyExpiry: new Gauge({
      name: 'switchguard_jws_key_expiry_timestamp_seconds',
      help: 'notAfter (unix seconds) of each JWS key file that carries one (X.509 certificates).',
      labelNames: ['file'] as const,
      aggregator: 'min',
      registers: r,
    }),
    reloads: new Counter({
      name: 'switchguard_reload_total',
      help: 'Reloads of certificates, keys, peers and identity map, by what and outcome (ok, failed).',
      labelNames: ['what', 'outcome'] as const,
      registers: r,
    }),
    reloadTime: new Gauge({
      name: 'switchguard_reload_last_timestamp_seconds',
      help: 'Unix time of the latest reload by what and outcome.',
      labelNames: ['what', 'outcome'] as const,
      aggregator: 'max',
      registers: r,
    }),
    quarantined: new Gauge({
      name: 'switchguard_quarantined_peers',
      help: 'Peers currently quarantined through the admin API.',
      aggregator: 'max',
      registers: r,
    }),
    storeFull: new Counter({
      name: 'switchguard_store_full_total',
      help: 'Writes the in-memory store refused because MEMORY_STORE_MAX_ENTRIES or MEMORY_STORE_MAX_BYTES was reached (answered 2003).',
      registers: r,
    }),
    quarantineLost: new Counter({
      name: 'switchguard_quarantine_lost_total',
      help: 'Times a replica found the shared quarantine list missing or older than the one it enforces, and restored it.',
      registers: r,
    }),
    connectionsRejected: new Counter({
      name: 'switchguard_connections_rejected_total',
      help: 'Connections closed at once by a listener cap, by listener and reason (max_connections, max_per_address).',
      labelNames: ['listener', 'reason'] as const,
      registers: r,
    }),
    connectionTimeouts: new Counter({
      name: 'switchguard_connection_timeouts_total',
      help: 'Connections closed by a listener timeout, by listener and kind (handshake, headers, request, idle).',
      labelNames: ['listener', 'kind'] as const,
      registers: r,
    }),
    tlsProbes: new Counter({
      name: 'switchguard_tls_probes_total',
      help: 'TCP connections to the inbound TLS listener closed before sending a byte (health checks, scans); not handshake failures.',
      registers: r,
    }),
    // traffic control (src/limits/)
    rateLimited: new Counter({
      name: 'switchguard_rate_limited_total',
      help: 'Requests refused by a per-FSP limit (2005/503), by listener, FSP (verified peer inbound, FSPIOP-Destination outbound; unknown ids folded) and reason (rate, concurrency).',
      labelNames: ['listener', 'dfsp', 'reason'] as const,
      registers: r,
    }),
    inFlight: new Gauge({
      name: 'switchguard_in_flight_requests',
      help: 'Requests in flight through the limit stage, by listener and FSP (only FSPs with limits).',
      labelNames: ['listener', 'dfsp'] as const,
      aggregator: 'sum',
      registers: r,
    }),
    rateLimitFallback: new Counter({
      name: 'switchguard_rate_limit_fallback_total',
      help: 'Limit decisions taken by the per-process fallback (1/(RATE_LIMITS_REPLICAS x WORKERS) of each limit) because the store did not answer, by what (rate, concurrency).',
      labelNames: ['what'] as const,
      registers: r,
    }),
    identityMismatches: new Counter({
      name: 'switchguard_identity_mismatch_total',
      help: 'Body FSP ids that differ from FSPIOP-Source or FSPIOP-Destination (IDENTITY_CHECK), by listener, route template, FSPIOP member and policy (log: forwarded, enforce: refused with 3100).',
      labelNames: ['listener', 'template', 'member', 'policy'] as const,
      registers: r,
    }),
    auditWriteFailed: new Counter({
      name: 'switchguard_audit_write_failed_total',
      help: 'Audit records that could not be written (AUDIT_LOG file or stream failing); the events are lost from the audit trail.',
      registers: r,
    }),
    signingKeyActivation: new Gauge({
      name: 'switchguard_jws_signing_key_activation_timestamp_seconds',
      help: 'Activation time (unix seconds) of each key of the signing keyring, by kid (RFC 7638 thumbprint) and state (next, current, previous, expired, revoked).',
      labelNames: ['kid', 'state'] as const,
      aggregator: 'max',
      registers: r,
    }),
    signingKeyRetire: new Gauge({
      name: 'switchguard_jws_signing_key_retire_timestamp_seconds',
      help: 'Time (unix seconds) after which a signing key is no longer published, by kid and state; only keys with a successor have one.',
      labelNames: ['kid', 'state'] as const,
      aggregator: 'max',
      registers: r,
    }),
    signingKeyPublished: new Gauge({
      name: 'switchguard_jws_signing_key_published_timestamp_seconds',
      help: 'Time (unix seconds) a signing key was added to the keyring and so published in /.well-known/jwks.json, by kid and state.',
      labelNames: ['kid', 'state'] as const,
      aggregator: 'max',
      registers: r,
    }),
    certActivation: new Gauge({
      name: 'switchguard_certificate_activation_timestamp_seconds',
      help: 'Activation time (unix seconds) of each staged TLS certificate waiting for it, by kind (tls_server, tls_client) and file.',
      labelNames: ['kind', 'file'] as const,
      aggregator: 'min',
      registers: r,
    }),
    // OCSP (src/tls/ocsp/)
    ocspChecks: new Counter({
      name: 'switchguard_ocsp_checks_total',
      help: 'OCSP decisions about inbound client certificates, by outcome (good, revoked, unknown, error: no usable answer) and decision (allow, refuse) under OCSP_POLICY.',
      labelNames: ['outcome', 'decision'] as const,
      registers: r,
    }),
    ocspResponderSeconds: new Histogram({
      name: 'switchguard_ocsp_responder_duration_seconds',
      help: 'Queries to OCSP responders and their latency, by purpose (client, staple) and outcome (good, revoked, unknown, error).',
      labelNames: ['purpose', 'outcome'] as const,
      buckets: OCSP_BUCKETS,
      registers: r,
    }),
    ocspResponderFailures: new Counter({
      name: 'switchguard_ocsp_responder_failures_total',
      help: 'OCSP queries that gave no usable answer, by purpose and reason (unreachable, timeout, http_status, malformed, response_status, signature, responder_untrusted, cert_id, stale, not_yet_valid, nonce, no_responder, no_issuer, forged_issuer, too_large).',
      labelNames: ['purpose', 'reason'] as const,
      registers: r,
    }),
    ocspStaples: new Counter({
      name: 'switchguard_ocsp_staples_total',
      help: "TLS clients that asked for the server certificate's OCSP status, by outcome (stapled, none).",
      labelNames: ['outcome'] as const,
      registers: r,
    }),
    // peer verification keys from remote sources (src/jws/sources/) and their revocation (src/jws/revocations.ts)
    keySourceLastSuccess: new Gauge({
      name: 'switchguard_peer_key_source_last_success_timestamp_seconds',
      help: 'Unix time of the last good answer of each remote key source, by kind (jwks: source = the peer; mcm: source = dfsps or hub).',
      labelNames: ['kind', 'source'] as const,
      aggregator: 'max',
      registers: r,
    }),
    keySourceStaleAfter: new Gauge({
      name: 'switchguard_peer_key_source_stale_after_timestamp_seconds',
      help: "Unix time after which a remote key source's last good set is stale (last success + max-age, or PEER_KEYS_REFRESH_MAX_SECONDS without one); PeerKeySourceStale fires past it.",
      labelNames: ['kind', 'source'] as const,
      aggregator: 'max',
      registers: r,
    }),
    keySourceKeys: new Gauge({
      name: 'switchguard_peer_key_source_keys',
      help: 'Keys in force from each remote key source (its last good set).',
      labelNames: ['kind', 'source'] as const,
      aggregator: 'max',
      registers: r,
    }),
    keySourceFailures: new Counter({
      name: 'switchguard_peer_key_source_failures_total',
      help: 'Remote key source fetches that failed or answers refused (the last good set stays), by kind, source and reason (unreachable, timeout, http_status, too_large, not_json, bad_document, no_keys, token, invalid_key, private_key, key_rejected, alg_not_allowed, duplicate_kid, other_fsp, invalid_in_mcm).',
      labelNames: ['kind', 'source', 'reason'] as const,
      registers: r,
    }),
    keyRevocations: new Gauge({
      name: 'switchguard_jws_key_revocations',
      help: 'Peer verification keys revoked by an operator (POST /admin/keys/revocations) and in force.',
      aggregator: 'max',
      registers: r,
    }),
    keyRevocationsLost: new Counter({
      name: 'switchguard_jws_key_revocations_lost_total',
      help: 'Times a replica found the shared key revocation list missing, older or forged, and restored it.',
      registers: r,
    }),
    knownPeers: new Gauge({
      name: 'switchguard_known_peers',
      help: 'FSP ids the gateway knows (keys, peer directory); other sources are labelled "unknown".',
      aggregator: 'max',
      registers: r,
    }),
  };
}

export interface TelemetryOptions {
  /** Also export prom-client's default process metrics (default true). */
  readonly processMetrics?: boolean;
  /** Labels added to every series, e.g. { replica: 'gw-1' }. */
  readonly defaultLabels?: Readonly<Record<string, string>>;
}

export interface MetricsTelemetry extends Telemetry {
  readonly registry: Registry;
  readonly contentType: string;
  /** The Prometheus text exposition of every metric. */
  metricsText(): Promise<string>;
}

/**
 * Creates the registry, declares every metric on it and returns the Telemetry implementation.
 * @example
 * const telemetry = createTelemetry();
 * telemetry.knownPeers(['dfsp1', 'dfsp2']);
 * telemetry.jwsVerify({ source: 'dfsp1', outcome: 'failed', reason: 'GW_JWS_BAD_SIGNATURE', seconds: 0.001 });
 * res.end(await telemetry.metricsText());
 */
export function createTelemetry(options: TelemetryOptions = {}): MetricsTelemetry {
  const registry = new Registry();
  if (options.defaultLabels) registry.setDefaultLabels({ ...options.defaultLabels });
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });
  const m = declareMetrics(registry);
  m.storeUp.set(1);

  // Telemetry must never throw into the request path: prom-client rejects NaN, so bad durations count as 0.
  const secs = (x: number) => (x >= 0 && x < Infinity ? x : 0);
  let known: ReadonlySet<string> = new Set();
  const dfsp = (source: string) => (known.has(source) ? source : UNKNOWN);
  const routes = new CappedLabel(100);
  const targets = new CappedLabel(50); // targets other than known peers ('upstream', 'default')
  const tlsReasons = new CappedLabel(50);
  const checks = new CappedLabel(50);
  const ops = new CappedLabel(50);
  const files = new CappedLabel(5000);
  const keySources = new CappedLabel(1000);
  const refusals = new CappedLabel(50); // Refusal reasons (src/jws/sources/remote-key.ts REFUSALS), set by code
  const staleSet = new Set<string>(); // sources whose stale-after series exists
  const members = new CappedLabel(50);
  const ocspReasons = new CappedLabel(20);

  const verifyCount = children(m.jwsVerifications);
  const verifyFail = children(m.jwsFailures);
  const verifyTime = children(m.jwsVerifySeconds);
  const signTime = children(m.jwsSignSeconds);
  const requestTime = children(m.requestSeconds);
  const upstreamCount = children(m.upstreamRequests);
  const upstreamTime = children(m.upstreamSeconds);
  const storeTime = children(m.storeSeconds);
  const ilpCount = children(m.ilpValidations);
  const ilpFail = children(m.ilpFailures);
  const ilpTime = children(m.ilpSeconds);
  const identityCount = children(m.identityMismatches);
  const handshakes = children(m.tlsHandshakes);

  return {
    registry,
    contentType: registry.contentType,
    metricsText: () => registry.metrics(),

    request(e) {
      requestTime.get4(e.listener, routes.value(e.route), methodLabel(e.method), fspiopCodeLabel(e.fspiopCode)).observe(secs(e.seconds));
    },
    jwsVerify(e) {
      const id = dfsp(e.source);
      verifyCount.get2(id, e.outcome).inc();
      if (e.outcome === 'failed') verifyFail.get2(id, errorCodeLabel(e.reason)).inc();
      if (e.outcome !== 'skipped') verifyTime.get2(e.outcome, e.form ?? 'none').observe(secs(e.seconds));
    },
    jwsSign(e) {
      signTime.get1(e.outcome).observe(secs(e.seconds));
    },
    ilp(e) {
      const check = checks.value(e.check);
      ilpCount.get2(check, e.outcome).inc();
      if (e.outcome === 'failed') ilpFail.get1(errorCodeLabel(e.errorType)).inc();
      ilpTime.get1(check).observe(secs(e.seconds));
    },
    tlsHandshakeFailed(reason) {
      m.tlsFailures.labels(tlsReasons.value(reason)).inc();
    },
    tlsHandshake(e) {
      handshakes.get2(e.endpoint, tlsGroupLabel(e.group)).inc();
    },
    upstream(e) {
      // Per-peer latency histograms would cost 16 series per DFSP; the per-peer error ratio is in the counter.
      const peer = known.has(e.target);
      const target = peer ? e.target : targets.value(e.target);
      upstreamCount.get2(target, e.outcome).inc();
      upstreamTime.get2(peer ? 'peer' : target, e.outcome).observe(secs(e.seconds));
    },
    upstreamUp(e) {
      m.upstreamUp.labels(targets.value(e.target)).set(e.up ? 1 : 0);
    },
    upstreamPool(e) {
      const target = known.has(e.target) ? e.target : targets.value(e.target);
      m.upstreamInFlight.labels(target).set(e.inFlight);
      m.upstreamInFlightPeak.labels(target).set(e.peak);
      m.upstreamConnections.labels(target).set(e.connections);
      m.upstreamConnectionsLimit.labels(target).set(e.limit);
    },
    store(e) {
      const op = ops.value(e.op);
      storeTime.get2(op, e.outcome).observe(secs(e.seconds));
      if (e.outcome === 'error') m.storeErrors.labels(op).inc();
    },
    keyCache(e) {
      if (e.event === 'hit') m.keyCacheHits.labels('key').inc();
      else if (e.event === 'negative_hit') m.keyCacheHits.labels('negative').inc();
      else if (e.event === 'miss') m.keyCacheMisses.inc();
      else m.keyLoads.labels(e.event === 'load' ? 'ok' : 'failed').inc();
      if (Number.isFinite(e.size)) m.keyCacheSize.set(e.size);
    },
    expiry(e) {
      const file = files.value(e.file);
      const notAfter = e.notAfter !== undefined && Number.isFinite(e.notAfter) ? e.notAfter : undefined;
      if (e.kind === 'jws_key') {
        if (notAfter === undefined) m.jwsKeyExpiry.remove(file);
        else m.jwsKeyExpiry.labels(file).set(notAfter);
      } else if (notAfter === undefined) m.certExpiry.remove(e.kind, file);
      else m.certExpiry.labels(e.kind, file).set(notAfter);
    },
    reload(e) {
      m.reloads.labels(e.what, e.outcome).inc();
      m.reloadTime.labels(e.what, e.outcome).set(Date.now() / 1000);
    },
    quarantine(e) {
      if (Number.isFinite(e.count)) m.quarantined.set(e.count);
    },
    knownPeers(ids) {
      const next = new Set(ids);
      next.delete(UNKNOWN);
      known = next;
      m.knownPeers.set(next.size);
      // Series start at 0 so rate()/increase() see a DFSP's very first verification failure.
      for (const id of [...next, UNKNOWN]) {
        verifyCount.get2(id, 'ok').inc(0);
        verifyCount.get2(id, 'failed').inc(0);
      }
    },
    storeFull() {
      m.storeFull.inc();
    },
    quarantineLost() {
      m.quarantineLost.inc();
    },
    identityMismatch(e) {
      // template and member come from one fixed table (src/fspiop/identity.ts); the caps only guard the series count.
      identityCount.get4(e.listener, routes.value(e.template), members.value(e.member), e.policy).inc();
    },
    auditWriteFailed() {
      m.auditWriteFailed.inc();
    },
    storeUp(up) {
      m.storeUp.set(up ? 1 : 0);
    },
    connectionRejected(e) {
      m.connectionsRejected.labels(e.listener, e.reason).inc();
    },
    connectionTimeout(e) {
      m.connectionTimeouts.labels(e.listener, e.kind).inc();
    },
    tlsProbe() {
      m.tlsProbes.inc();
    },
    rateLimited(e) {
      m.rateLimited.labels(e.listener, dfsp(e.fspId), e.reason).inc();
    },
    inFlight(e) {
      // Unknown ids fold into one series; the fold is approximate (last writer wins) but bounded.
      if (Number.isFinite(e.count)) m.inFlight.labels(e.listener, dfsp(e.fspId)).set(e.count);
    },
    rateLimitFallback(e) {
      m.rateLimitFallback.labels(e.what).inc();
    },
    certificateActivation(e) {
      const file = files.value(e.file);
      if (e.activateAt === undefined || !Number.isFinite(e.activateAt)) m.certActivation.remove(e.kind, file);
      else m.certActivation.labels(e.kind, file).set(e.activateAt);
    },
    signingKeys(keys) {
      // A key's state label changes over time: the report replaces every series (a keyring holds a few keys).
      m.signingKeyActivation.reset();
      m.signingKeyRetire.reset();
      m.signingKeyPublished.reset();
      for (const k of keys.slice(0, 50)) {
        if (Number.isFinite(k.activation)) m.signingKeyActivation.labels(k.kid, k.state).set(k.activation);
        if (k.retire !== undefined && Number.isFinite(k.retire)) m.signingKeyRetire.labels(k.kid, k.state).set(k.retire);
        if (Number.isFinite(k.published)) m.signingKeyPublished.labels(k.kid, k.state).set(k.published);
      }
    },
    ocspCheck(e) {
      m.ocspChecks.labels(e.outcome, e.decision).inc();
    },
    ocspResponder(e) {
      m.ocspResponderSeconds.labels(e.purpose, e.outcome).observe(secs(e.seconds));
      if (e.outcome === 'error') m.ocspResponderFailures.labels(e.purpose, ocspReasons.value(e.reason ?? 'other')).inc();
    },
    ocspStaple(e) {
      m.ocspStaples.labels(e.stapled ? 'stapled' : 'none').inc();
    },
    keySource(e) {
      const source = keySources.value(e.source);
      const k = `${e.kind}/${source}`;
      if (e.outcome === 'removed') {
        staleSet.delete(k);
        m.keySourceLastSuccess.remove(e.kind, source);
        m.keySourceStaleAfter.remove(e.kind, source);
        m.keySourceKeys.remove(e.kind, source);
        return;
      }
      if (e.outcome === 'failed') {
        m.keySourceFailures.labels(e.kind, source, refusals.value(e.reason ?? 'unknown')).inc();
        // A source that never answered is stale from the start: PeerKeySourceStale sees it.
        if (!staleSet.has(k)) m.keySourceStaleAfter.labels(e.kind, source).set(0);
        staleSet.add(k);
        return;
      }
      staleSet.add(k);
      if (e.lastSuccess !== undefined && Number.isFinite(e.lastSuccess)) m.keySourceLastSuccess.labels(e.kind, source).set(e.lastSuccess);
      if (e.staleAfter !== undefined && Number.isFinite(e.staleAfter)) m.keySourceStaleAfter.labels(e.kind, source).set(e.staleAfter);
      if (e.keys !== undefined && Number.isFinite(e.keys)) m.keySourceKeys.labels(e.kind, source).set(e.keys);
    },
    keyRevocations(e) {
      if (Number.isFinite(e.count)) m.keyRevocations.set(e.count);
    },
    keyRevocationsLost() {
      m.keyRevocationsLost.inc();
    },
  };
}
