// Assembles a running gateway from a validated Config: TLS material with live reload, upstream pools,
// peer directory, capability stages, and the three listeners. main.ts calls it; tests call it with
// port 0 and overrides. It never reads process.env and never exits the process.
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { getRequestListener } from '@hono/node-server';
import { requestErrorResponse } from './http/client-error.js';
import { buildInboundApp, buildOutboundApp, type Stages } from './app.js';
import type { Config } from './config/schema.js';
import type { RequestLogger } from './http/stages.js';
import { PeerDirectory } from './peers/directory.js';
import { Upstreams } from './proxy/upstream.js';
import { startSimulator, type Simulator } from './simulator/server.js';
import { handshakeReason } from './tls/handshake-reason.js';
import { applyListenerLimits, limitServerOptions, listenerLimitsOf, type ListenerLimits, type ListenerName } from './http/listener-limits.js';
import { TlsReloader } from './tls/material.js';
import { loadIdentityMap, type IdentityMap } from './tls/peer.js';
import type { Telemetry } from './telemetry/types.js';
import { watchFiles, type FileWatch } from './util/file-watch.js';
import { buildAdminApp, type KeyInfo } from './admin/app.js';
import { quarantineGuard, quarantineOutboundGuard } from './admin/middleware.js';
import { Quarantine } from './admin/quarantine.js';
import type { ReadinessCheck } from './admin/readiness.js';
import { ilpInbound, ilpOutbound } from './ilp/middleware.js';
import { createReplayGuard } from './jws/freshness.js';
import { KeyDirectory } from './jws/key-directory.js';
import { checkFreshness, signOutbound, verifyInboundJws } from './jws/middleware.js';
import { SigningKeyHolder } from './jws/signing-key.js';
import { createAuditLog, type AuditLog } from './logging/audit.js';
import { createLogger } from './logging/logger.js';
import { createTelemetry } from './metrics/registry.js';
import { createStore, type Store } from './store/index.js';
import { createTrafficControl } from './limits/index.js'; // issue 15
import { AdminTokens } from './admin/tokens.js'; // issue 15

export interface GatewayOverrides {
  readonly telemetry?: Telemetry & { metricsText?: () => Promise<string>; contentType?: string };
  readonly logger?: RequestLogger;
  readonly audit?: AuditLog;
  readonly store?: Store;
  /** Replace or add capability stages (tests). */
  readonly stages?: Partial<Stages>;
  /** Cluster worker: the admin app is served by the primary over IPC, not on a port. */
  readonly adminListen?: boolean;
}

export interface RunningGateway {
  readonly inbound: AddressInfo;
  readonly outbound: AddressInfo;
  readonly admin: AddressInfo;
  readonly tls: TlsReloader;
  readonly peers: PeerDirectory;
  readonly upstreamUrl: string;
  readonly store: Store;
  readonly keys: KeyDirectory | undefined;
  readonly signer: SigningKeyHolder | undefined;
  readonly quarantine: Quarantine;
  /** The admin app (the cluster primary relays admin calls to it). */
  readonly adminFetch: (req: Request) => Response | Promise<Response>;
  /** The prom-client registry when metrics are the built-in ones. */
  readonly registry: unknown;
  /** Stops accepting, lets in-flight requests finish within `timeoutMs` (default SHUTDOWN_TIMEOUT_MS), then closes everything. */
  close(timeoutMs?: number): Promise<void>;
}

export async function startGateway(config: Config, overrides: GatewayOverrides = {}): Promise<RunningGateway> {
  const telemetry = overrides.telemetry ?? createTelemetry();
  const logger: RequestLogger = overrides.logger ?? createLogger(config);
  const audit: AuditLog = overrides.audit ?? createAuditLog(config);
  const closers: (() => unknown)[] = [];
  const onError = (what: string) => (err: unknown) => logger.error({ err: String((err as Error)?.message ?? err) }, what);

  // --- TLS material of the inbound listener, reloaded on change ---
  const reportTlsExpiry = (t: TlsReloader) => {
    telemetry.expiry({ kind: 'tls_server', file: config.serverCertPath!, notAfter: Date.parse(t.current.serverCert.validTo) / 1000 });
    for (const [i, ca] of t.current.caCerts.entries()) telemetry.expiry({ kind: 'tls_ca', file: `${config.caCertPath}#${i}`, notAfter: Date.parse(ca.validTo) / 1000 });
  };
  const tls: TlsReloader = new TlsReloader(
    { certPath: config.serverCertPath!, keyPath: config.serverKeyPath!, caPath: config.inboundMtls ? config.caCertPath : undefined, crlPath: config.inboundMtls ? config.crlPath : undefined },
    config.tlsMinVersion,
    (e) => {
      if (e.outcome === 'unchanged') return;
      telemetry.reload({ what: 'tls', outcome: e.outcome });
      if (e.outcome === 'ok') {
        logger.info({ event: 'certificate_reloaded' }, 'TLS material reloaded');
        audit.record({ event: 'certificate_reloaded', actor: 'gateway', file: config.serverCertPath!, fingerprint: e.loaded!.serverCert.fingerprint256, notAfter: new Date(e.loaded!.serverCert.validTo).toISOString() });
        reportTlsExpiry(tls);
      } else {
        logger.error({ event: 'certificate_reload_failed', err: String((e.error as Error)?.message ?? e.error) }, 'TLS reload refused; keeping the previous certificates');
        audit.record({ event: 'certificate_reload_failed', actor: 'gateway', file: config.serverCertPath!, reason: 'unparsable_or_mismatched' });
      }
    },
  );
  reportTlsExpiry(tls);
  tls.watch(config.tlsReloadIntervalMs);
  closers.push(() => tls.close());

  // --- peer identity map (optional), hot-reloaded ---
  let identityMap: IdentityMap | undefined = config.peerIdentityMap ? loadIdentityMap(config.peerIdentityMap) : undefined;
  if (config.peerIdentityMap) {
    const path = config.peerIdentityMap;
    const w: FileWatch = watchFiles([path], () => {
      try { identityMap = loadIdentityMap(path); telemetry.reload({ what: 'identity_map', outcome: 'ok' }); }
      catch (err) { telemetry.reload({ what: 'identity_map', outcome: 'failed' }); logger.error({ err: String(err) }, 'identity map reload refused'); }
    }, { intervalMs: config.tlsReloadIntervalMs });
    closers.push(() => w.close());
  }

  // --- upstreams ---
  let simulator: Simulator | undefined;
  if (config.useSimulator) simulator = await startSimulator();
  const upstreamUrl = config.upstreamUrl ?? simulator!.url;
  const upstreamOptions = {
    connections: config.upstreamConnections, connectTimeoutMs: config.upstreamConnectTimeoutMs,
    headersTimeoutMs: config.upstreamHeadersTimeoutMs, bodyTimeoutMs: config.upstreamBodyTimeoutMs, maxResponseBytes: config.maxBodyBytes,
  };
  const inboundUpstreams = new Upstreams({
    ...upstreamOptions,
    tls: () => (config.upstreamCaCertPath ? { ca: readFileSync(config.upstreamCaCertPath) } : {}),
  }, telemetry);
  const outboundUpstreams = new Upstreams({
    ...upstreamOptions,
    tls: () => ({
      ...(config.outCaCertPath ? { ca: readFileSync(config.outCaCertPath) } : {}),
      ...(config.outClientCertPath ? { cert: readFileSync(config.outClientCertPath) } : {}),
      ...(config.outClientKeyPath ? { key: readFileSync(config.outClientKeyPath) } : {}),
    }),
  }, telemetry);
  closers.push(() => inboundUpstreams.close(), () => outboundUpstreams.close());
  // A new client certificate takes effect on new connections: drop the pools when the files change.
  const clientFiles = [config.outClientCertPath, config.outClientKeyPath, config.outCaCertPath].filter((p): p is string => !!p);
  if (clientFiles.length) {
    const w = watchFiles(clientFiles, () => { void outboundUpstreams.reset(); }, { intervalMs: config.tlsReloadIntervalMs });
    closers.push(() => w.close());
  }

  const peers = new PeerDirectory(config.peersPath, config.peerEndpoint, (e) => {
    telemetry.reload({ what: 'peers', outcome: e.outcome });
    if (e.outcome === 'failed') logger.error({ err: String(e.error) }, 'peer directory reload refused; keeping the previous one');
  });
  peers.watch(config.tlsReloadIntervalMs);
  closers.push(() => peers.close());

  // --- store, keys, quarantine ---
  const store = overrides.store ?? createStore(config, telemetry);
  closers.push(() => store.close());
  // Metric labels: the union of the key directory's and the peer directory's FSP ids.
  let keyIds: Iterable<string> = [];
  const reportKnown = () => telemetry.knownPeers(new Set([...keyIds, ...peers.ids()]));
  const keyTelemetry: Telemetry = Object.assign(Object.create(telemetry) as Telemetry, { knownPeers(ids: Iterable<string>) { keyIds = [...ids]; reportKnown(); } });
  reportKnown();
  const keys = config.validateInboundJws ? await KeyDirectory.open({
    dir: config.jwsKeysDir!, cacheSize: config.jwsCacheSize, cacheTtlSeconds: config.jwsCacheTtlSeconds,
    unknownSourceCooldownSeconds: config.jwsUnknownSourceCooldownSeconds, rescanIntervalSeconds: config.jwsRescanIntervalSeconds, telemetry: keyTelemetry,
  }) : undefined;
  if (keys) closers.push(() => keys.close());
  const signer = config.jwsSign ? await SigningKeyHolder.open({ path: config.jwsSigningKeyPath!, telemetry, rescanIntervalSeconds: config.jwsRescanIntervalSeconds }) : undefined;
  if (signer) closers.push(() => signer.close());
  const quarantine = new Quarantine({
    store, telemetry, path: config.quarantinePath, hmacKey: config.stateHmacKey, onError: onError('quarantine list refresh failed; keeping the previous list'),
    onLoss: (e) => logger.error({ event: 'quarantine_lost', ...e }, 'shared quarantine list lost (store flush, restart or eviction); still enforced, restored into the store'),
  });
  quarantine.loadDurable(); // a corrupt QUARANTINE_PATH stops start-up: never start with a quarantine silently lifted
  if (store.kind === 'redis' && config.stateHmacKey === undefined) logger.warn({ event: 'state_not_sealed' }, 'STATE_HMAC_KEY unset: any client that can write to Redis can change the quarantine list and limit overrides');
  if (config.quarantinePath === undefined) logger.warn({ event: 'quarantine_not_durable' }, 'QUARANTINE_PATH unset: a quarantine survives a store flush only while a replica that knows it runs');
  await quarantine.start().catch(onError('quarantine list not readable at start-up'));
  closers.push(() => quarantine.close());
  let storeUp = true;
  const storeProbe = setInterval(() => { void store.ping().then((up) => { storeUp = up; telemetry.storeUp(up); }); }, 2000);
  storeProbe.unref();
  closers.push(() => clearInterval(storeProbe));

  // --- traffic control (issue 15, src/limits/) ---
  const traffic = await createTrafficControl({
    path: config.rateLimitsPath, reloadIntervalMs: config.tlsReloadIntervalMs, share: 1 / (config.rateLimitsReplicas * config.workers),
    leaseMs: config.httpRequestTimeoutMs + config.upstreamConnectTimeoutMs + config.upstreamHeadersTimeoutMs + config.upstreamBodyTimeoutMs,
    redis: config.storeKind === 'redis' ? { ...(config.redisUrl !== undefined ? { url: config.redisUrl } : {}), clusterNodes: config.redisClusterNodes, keyPrefix: config.redisKeyPrefix, timeoutMs: config.storeTimeoutMs } : undefined,
    store, telemetry, audit, isKnown: (id) => peers.has(id) || (keys?.knownIds().includes(id) ?? false),
    onReloadFailed: (err) => logger.error({ event: 'limits_reload_failed', err: String((err as Error)?.message ?? err) }, 'limits file reload refused; keeping the previous limits'),
    onOverridesError: onError('limit overrides refresh failed; keeping the overrides in force'),
    hmacKey: config.stateHmacKey,
  });
  closers.push(() => traffic.close());

  // --- apps ---
  const ilpDeps = { config, store, telemetry };
  const stages: Stages = {
    quarantine: quarantineGuard(quarantine, { audit }),
    quarantineOutbound: quarantineOutboundGuard(quarantine, { audit }),
    freshness: checkFreshness({ config }),
    ...(keys ? { verifyJws: verifyInboundJws({ config, keys, telemetry, ...(config.replayProtection ? { replay: createReplayGuard(store, config.jwsMaxClockSkewSeconds) } : {}) }) } : {}),
    ...(config.ilpCheck ? { ilpInbound: ilpInbound(ilpDeps), ilpOutbound: ilpOutbound(ilpDeps) } : {}),
    ...(signer ? { signJws: signOutbound({ config, signer, telemetry }) } : {}),
    limits: traffic.inbound, limitsOutbound: traffic.outbound, // issue 15
    ...(overrides.stages ?? {}),
  };
  const appDeps = { config, telemetry, logger, audit, stages };
  const inboundApp = buildInboundApp({ ...appDeps, upstreams: inboundUpstreams, upstreamUrl: new URL(upstreamUrl), peerIdentity: { from: config.peerIdentityFrom, map: () => identityMap } });
  const outboundApp = buildOutboundApp({ ...appDeps, upstreams: outboundUpstreams, peers });

  const readiness: ReadinessCheck[] = [
    { name: 'certificates', check: () => Date.parse(tls.current.serverCert.validTo) > Date.now() && Date.parse(tls.current.serverCert.validFrom) <= Date.now() },
    { name: 'upstream', check: () => upstreamUrl.length > 0 },
    ...(keys ? [{ name: 'keys', check: () => keys.knownIds().length > 0 }] : []),
    ...(signer ? [{ name: 'signing_key', check: () => signer.current() !== undefined }] : []),
    { name: 'quarantine', check: () => quarantine.readiness().ok, info: () => quarantine.readiness().info },
    { name: 'store', check: async () => { storeUp = await store.ping(); telemetry.storeUp(storeUp); return storeUp; } },
  ];
  const listKeys = async (): Promise<KeyInfo[]> => (keys ? (await keys.list()).map((k) => ({ fspId: k.fspId, fingerprint: k.fingerprint, expiry: k.notAfter === undefined ? null : new Date(k.notAfter * 1000).toISOString(), file: k.file })) : []);
  // issue 15: scoped admin tokens (ADMIN_TOKENS, ADMIN_TOKENS_PATH; ADMIN_TOKEN = operator)
  const adminTokens = new AdminTokens({
    adminToken: config.adminToken, adminTokens: config.adminTokens, path: config.adminTokensPath, reloadIntervalMs: config.tlsReloadIntervalMs,
    onReload: (e) => {
      telemetry.reload({ what: 'admin_tokens', outcome: e.outcome });
      if (e.outcome === 'failed') { logger.error({ event: 'admin_tokens_reload_failed', err: String((e.error as Error)?.message ?? e.error) }, 'admin token file reload refused; keeping the previous tokens'); audit.record({ event: 'admin_tokens_reload_failed', actor: 'gateway' }); }
    },
  });
  closers.push(() => adminTokens.close());
  const adminApp = buildAdminApp({
    adminToken: config.adminToken, tokens: adminTokens, limits: traffic,
    ...(overrides.telemetry && !overrides.telemetry.metricsText ? {} : { metrics: telemetry as Required<Pick<NonNullable<GatewayOverrides['telemetry']>, 'metricsText' | 'contentType'>> }),
    readiness, audit, quarantine,
    onError: onError('admin call failed'),
    reloadKeys: async () => {
      const r = { keys: keys ? ((await keys.reload()) ? 'ok' : 'failed') : 'disabled', signingKey: signer ? ((await signer.reload()) ? 'ok' : 'failed') : 'disabled' };
      if (r.keys === 'failed' || r.signingKey === 'failed') throw new Error(`reload incomplete: keys ${r.keys}, signing key ${r.signingKey}`);
      return r;
    },
    reloadCertificates: () => ({ tls: tls.reload() }),
    listKeys,
    listPeers: () => peers.list(),
    knownPeers: () => new Set([...(keys?.knownIds() ?? []), ...peers.ids()]),
  });

  // --- listeners (every one hardened by the same limits: src/http/listener-limits.ts) ---
  const limits: ListenerLimits = listenerLimitsOf(config);
  const limit = (server: HttpServer | HttpsServer, listener: ListenerName) => applyListenerLimits(server, limits, {
    rejected: (reason) => telemetry.connectionRejected({ listener, reason }),
    timeout: (kind) => telemetry.connectionTimeout({ listener, kind }),
  });
  const inboundServer: HttpsServer = createHttpsServer({
    ...tls.current.options,
    requestCert: config.inboundMtls,
    rejectUnauthorized: config.inboundMtls,
    maxHeaderSize: 64 * 1024,
    ...limitServerOptions(limits),
  }, getRequestListener(inboundApp.fetch, { errorHandler: requestErrorResponse }));
  tls.attach(inboundServer);
  // The peer is bound once per connection (src/tls/peer.ts caches it per socket): a TLS 1.2
  // renegotiation could present another certificate on the same socket, so it is refused.
  inboundServer.on('secureConnection', (socket: TLSSocket) => { socket.disableRenegotiation(); });
  const inboundLimits = limit(inboundServer, 'inbound');
  inboundServer.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
    if (inboundLimits.refused(socket)) return; // counted by the listener limits
    const reason = handshakeReason(err, socket);
    if (reason === 'handshake_timeout') return; // counted by the listener limits
    if (reason === 'probe') { telemetry.tlsProbe(); logger.debug({ event: 'tls_probe', remote: socket?.remoteAddress }, 'TCP connection closed before a ClientHello'); return; }
    telemetry.tlsHandshakeFailed(reason);
    logger.warn({ event: 'peer_rejected', reason, remote: socket?.remoteAddress }, 'TLS handshake refused');
    audit.record({ event: 'peer_rejected', actor: 'peer', peer: socket?.remoteAddress ?? 'unknown', reason: `tls_${reason}` });
  });
  const outboundServer: HttpServer = createHttpServer({ maxHeaderSize: 64 * 1024, ...limitServerOptions(limits) }, getRequestListener(outboundApp.fetch, { errorHandler: requestErrorResponse }));
  limit(outboundServer, 'outbound');
  const adminServer: HttpServer = createHttpServer(limitServerOptions(limits), getRequestListener(adminApp.fetch));
  limit(adminServer, 'admin');

  const listen = (s: HttpServer | HttpsServer, port: number, host: string) => new Promise<AddressInfo>((resolve, reject) => {
    s.once('error', reject);
    s.listen(port, host, () => { s.off('error', reject); resolve(s.address() as AddressInfo); });
  });
  let inbound: AddressInfo, outbound: AddressInfo, admin: AddressInfo;
  try {
    inbound = await listen(inboundServer, config.inboundPort, config.inboundHost);
    outbound = await listen(outboundServer, config.outboundPort, config.outboundHost);
    admin = overrides.adminListen === false ? { address: '', family: '', port: 0 } : await listen(adminServer, config.adminPort, config.adminHost);
  } catch (e) {
    for (const s of [inboundServer, outboundServer, adminServer]) s.close();
    for (const c of closers) await c();
    await simulator?.close();
    throw e;
  }

  const close = async (timeoutMs = config.shutdownTimeoutMs) => {
    const servers = [inboundServer, outboundServer, adminServer];
    const drained = Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    for (const s of servers) s.closeIdleConnections();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), timeoutMs); });
    if ((await Promise.race([drained, timedOut])) === 'timeout') for (const s of servers) s.closeAllConnections();
    clearTimeout(timer);
    await drained;
    for (const c of closers) await c();
    await simulator?.close();
    await audit.flush();
  };

  const registry = (telemetry as { registry?: unknown }).registry;
  return { inbound, outbound, admin, tls, peers, upstreamUrl, store, keys, signer, quarantine, adminFetch: (req) => adminApp.fetch(req), registry, close };
}
