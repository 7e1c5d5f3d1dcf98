// Wires a running gateway from a validated Config and starts its listeners. Each concern opens in its own
// module (TLS, identity map, pools, peers, store, quarantine, limits, stages, admin, listeners) and
// registers what it must release; this file only connects them. main.ts calls it; tests call it with
// port 0 and overrides. It never reads process.env and never exits the process.
import type { AddressInfo } from 'node:net';
import { openQuarantine } from './admin/open-quarantine.js';
import type { Quarantine } from './admin/quarantine.js';
import { wireAdmin } from './admin/wiring.js';
import { buildInboundApp, buildOutboundApp, type Stages } from './app.js';
import type { Config } from './config/schema.js';
import type { InboundUpstream } from './http/forward.js';
import { startListeners } from './http/listeners.js';
import type { RequestLogger } from './http/stages.js';
import { openKeyRevocations } from './jws/open-revocations.js';
import type { PeerKeys } from './jws/peer-keys.js';
import type { KeyRevocations } from './jws/revocations.js';
import type { SigningKeyHolder } from './jws/signing-key.js';
import { openTrafficControl } from './limits/open.js';
import { type AuditLog, createAuditLog } from './logging/audit.js';
import { createLogger } from './logging/logger.js';
import { createTelemetry } from './metrics/registry.js';
import type { PeerDirectory } from './peers/directory.js';
import { openPeers } from './peers/open.js';
import { openPools } from './proxy/pools.js';
import { probeUpstreams } from './proxy/probe.js';
import { startSimulator } from './simulator/server.js';
import { buildStages, openKeyMaterial } from './stages.js';
import { createStore, type Store } from './store/index.js';
import { probeStore } from './store/probe.js';
import type { Telemetry } from './telemetry/types.js';
import { openIdentityMap } from './tls/identity-source.js';
import { openInboundTls } from './tls/inbound-tls.js';
import type { TlsReloader } from './tls/material.js';
import { openOcsp } from './tls/ocsp/open.js';
import { Closers } from './util/closers.js';

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
  /** The default upstream (INBOUND_UPSTREAM_URL or the built-in simulator), or the first route's when the routes cover every resource. */
  readonly upstreamUrl: string;
  /** Every inbound upstream with the resources it serves (config.upstream.targets, the simulator's URL filled in). */
  readonly upstreams: readonly InboundUpstream[];
  readonly store: Store;
  /** Every peer's verification keys (files, JWKS, Connection Manager; revocations applied), when VALIDATE_INBOUND_JWS. */
  readonly keys: PeerKeys | undefined;
  readonly revocations: KeyRevocations | undefined;
  readonly signer: SigningKeyHolder | undefined;
  readonly quarantine: Quarantine;
  /** The admin app (the cluster primary relays admin calls to it, with the caller's address for the audit records). */
  readonly adminFetch: (req: Request, remoteAddress?: string) => Response | Promise<Response>;
  /** The prom-client registry when metrics are the built-in ones. */
  readonly registry: unknown;
  /** Stops accepting, lets in-flight requests finish within `timeoutMs` (default SHUTDOWN_TIMEOUT_MS), then closes everything. */
  close(timeoutMs?: number): Promise<void>;
}

export async function startGateway(config: Config, overrides: GatewayOverrides = {}): Promise<RunningGateway> {
  const telemetry = overrides.telemetry ?? createTelemetry();
  const logger: RequestLogger = overrides.logger ?? createLogger(config);
  const onError = (what: string) => (err: unknown) => logger.error({ err, reason: err instanceof Error ? err.message : String(err) }, what);
  const audit: AuditLog =
    overrides.audit ??
    createAuditLog(config, {
      onWriteError: (err) => {
        telemetry.auditWriteFailed();
        onError('audit record not written')(err);
      },
    });
  const closers = new Closers();
  try {
    const base = { telemetry, logger, audit, onError, closers };
    const tls = closers.add(openInboundTls(config.inboundTls, base), (t) => t.close());
    const identity = closers.add(
      openIdentityMap(config.peerIdentityMap, { telemetry, intervalMs: config.tlsReloadIntervalMs, onReloadFailed: onError('identity map reload refused') }),
      (m) => m.close(),
    );
    const ocsp = openOcsp(config.ocsp, { telemetry, logger, audit, caCerts: () => tls.current.caCerts, presentedChain: (s) => tls.presentedChain(s) });
    const pools = closers.add(openPools(config, telemetry, onError('staged client certificate refused; keeping the configured one')), (p) => p.close());
    const simulator = config.upstream.targets.some((t) => t.kind === 'simulator') ? closers.add(await startSimulator(), (s) => s.close()) : undefined;
    const urlOf = (t: (typeof config.upstream.targets)[number]) => (t.kind === 'url' ? t.url : (simulator?.url ?? ''));
    const upstreams = config.upstream.targets.map((t): InboundUpstream => ({ name: t.name, resources: t.resources, url: new URL(urlOf(t)) }));
    const first = config.upstream.targets[0];
    const upstreamUrl = first ? urlOf(first) : '';
    const upstreamProbe = probeUpstreams(upstreams, { telemetry, timeoutMs: config.upstreamConnectTimeoutMs });
    closers.push(() => upstreamProbe.stop());
    const peers = openPeers(config, base);
    const store = closers.add(overrides.store ?? createStore(config, telemetry), (s) => s.close());
    const quarantine = closers.add(await openQuarantine(config, { ...base, store }), (q) => q.close());
    closers.push(probeStore(store, telemetry));
    // Keys first: traffic control checks the limits file's FSP ids against the key and peer directories.
    const revocations = config.jwsVerify ? closers.add(await openKeyRevocations(config, { ...base, store }), (r) => r.close()) : undefined;
    const { keys, signer } = await openKeyMaterial(config, {
      ...base,
      keyTelemetry: peers.keyTelemetry,
      peers: peers.directory,
      ...(revocations ? { revocations } : {}),
    });
    const traffic = await openTrafficControl(config, { ...base, store, isKnown: peers.isKnown });
    const stages = buildStages(config, { ...base, store, quarantine, keyTelemetry: peers.keyTelemetry, traffic, keys, signer });
    const all = { ...stages, ...(overrides.stages ?? {}) };
    const appDeps = { config, telemetry, logger, audit, stages: all };
    const apps = {
      inbound: buildInboundApp({
        ...appDeps,
        upstreams: pools.inbound,
        inboundUpstreams: upstreams,
        peerIdentity: { from: config.peerIdentityFrom, map: identity.current },
        ...(signer ? { publishedKeys: signer } : {}),
        revocation: ocsp.gate,
        chainNotAfter: (socket) => tls.chainNotAfter(socket),
      }),
      outbound: buildOutboundApp({ ...appDeps, upstreams: pools.outbound, peers: peers.directory }),
      admin: wireAdmin({
        ...base,
        onError: onError('admin call failed'),
        config,
        tls,
        upstreams: upstreamProbe.checks,
        store,
        quarantine,
        peers: peers.directory,
        keys,
        revocations,
        signer,
        limits: traffic,
        metrics: metricsOf(telemetry, overrides),
      }),
    };
    const listeners = await startListeners({ config, tls, apps, telemetry, logger, audit, ocsp, adminListen: overrides.adminListen !== false });
    return {
      ...listeners,
      tls,
      peers: peers.directory,
      upstreamUrl,
      upstreams,
      store,
      keys,
      revocations,
      signer,
      quarantine,
      // The admin app reads the caller's address where @hono/node-server puts it (c.env.incoming.socket).
      adminFetch: (req, remoteAddress) => apps.admin.fetch(req, remoteAddress === undefined ? undefined : { incoming: { socket: { remoteAddress } } }),
      registry: (telemetry as { registry?: unknown }).registry,
      async close(timeoutMs = config.shutdownTimeoutMs) {
        await listeners.close(timeoutMs);
        await closers.closeAll(onError('shutdown step failed'));
        await audit.flush();
      },
    };
  } catch (e) {
    await closers.closeAll(onError('closing after a failed start'));
    throw e;
  }
}

/** /metrics serves the built-in registry, or an injected telemetry that can render itself. */
function metricsOf(telemetry: Telemetry, overrides: GatewayOverrides): { contentType: string; metricsText(): Promise<string> } | undefined {
  if (overrides.telemetry && !overrides.telemetry.metricsText) return undefined;
  return telemetry as unknown as { contentType: string; metricsText(): Promise<string> };
}
