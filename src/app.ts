// The two FSPIOP pipelines as Hono apps, each in one readable list (README, "Architecture"). Pure factories: no
// I/O, no listen; everything comes in through deps. Optional capability stages are skipped when absent.

import type { TLSSocket } from 'node:tls';
import { Hono } from 'hono';
import type { Config } from './config/schema.js';
import { GatewayError } from './errors.js';
import type { GatewayEnv, GatewayMiddleware } from './http/context.js';
import { header } from './http/context.js';
import { forward, type InboundUpstream, type Target, targetOf, targetsByResource } from './http/forward.js';
import {
  bindPeer,
  checkRequest,
  matchFspiopRoute,
  type RequestLogger,
  renderError,
  requestScope,
  requireExactTarget,
  requireRoute,
  requireSourceMatchesPeer,
  requireSwitchSender,
} from './http/stages.js';
import { JWKS_PATH, type PublishedKeySource, servePublishedKeys } from './jws/published.js';
import type { AuditLog } from './logging/audit.js';
import type { PeerDirectory } from './peers/directory.js';
import type { Upstreams } from './proxy/upstream.js';
import type { Telemetry } from './telemetry/types.js';
import type { ClientRevocationGate } from './tls/ocsp/client-gate.js';
import type { PeerResolverOptions } from './tls/peer.js';

/** Capability stages, slotted into the pipelines in the order docs/security.md describes. */
export interface Stages {
  /** Quarantined peers get 2003/503 right after peer binding (docs/security.md class 5). */
  readonly quarantine?: GatewayMiddleware;
  /** Outbound: nothing is delivered to, or on behalf of, a quarantined peer (2003/503). */
  readonly quarantineOutbound?: GatewayMiddleware;
  /** Date window and replay protection (docs/security.md class 9). */
  readonly freshness?: GatewayMiddleware;
  readonly verifyJws?: GatewayMiddleware;
  /** Body FSP ids agree with FSPIOP-Source/-Destination (IDENTITY_CHECK, docs/security.md class 11): after JWS inbound, before ILP. */
  readonly identity?: GatewayMiddleware;
  /** The same outbound, before ILP completion and signing. */
  readonly identityOutbound?: GatewayMiddleware;
  readonly ilpInbound?: GatewayMiddleware;
  /** Writes a verified signature's replay record that no store operation carried, before forwarding (class 9). */
  readonly replayRecord?: GatewayMiddleware;
  readonly ilpOutbound?: GatewayMiddleware;
  readonly signJws?: GatewayMiddleware;
  /** Per-FSP rate and in-flight limits (src/limits/): inbound by verified peer, outbound by destination. */
  readonly limits?: GatewayMiddleware;
  readonly limitsOutbound?: GatewayMiddleware;
}

export interface AppDeps {
  /** What the pipelines themselves read: everything else reaches them as stages (src/stages.ts). */
  readonly config: Pick<Config, 'trustedProxyPeers' | 'role' | 'hubId' | 'inboundMtls' | 'maxBodyBytes' | 'maxJsonValues' | 'peerEndpoint'>;
  readonly telemetry: Telemetry;
  readonly logger: RequestLogger;
  readonly audit?: AuditLog;
  /** Sends the forwarded request (undici pools; an in-memory recorder in tests). */
  readonly upstreams: Pick<Upstreams, 'send'>;
  readonly stages: Stages;
}

const present = (...m: (GatewayMiddleware | undefined)[]) => m.filter((x): x is GatewayMiddleware => x !== undefined);

/** Mounts the stages in order; the last one (forward) produces the response. */
function mount(app: Hono<GatewayEnv>, stages: GatewayMiddleware[]): void {
  for (const s of stages) app.use('*', s);
}

function base(): Hono<GatewayEnv> {
  const app = new Hono<GatewayEnv>();
  app.onError(renderError);
  app.notFound(() => {
    throw new GatewayError('GW_ROUTE_UNKNOWN');
  });
  return app;
}

/** Peer → gateway → the upstream of the route's resource (INBOUND_UPSTREAM_ROUTES, else INBOUND_UPSTREAM_URL or the built-in simulator). */
export function buildInboundApp(
  deps: AppDeps & {
    readonly peerIdentity: PeerResolverOptions;
    readonly inboundUpstreams: readonly InboundUpstream[];
    /** This side's signing keyring (JWS_SIGN=true): GET /.well-known/jwks.json publishes its keys. */
    readonly publishedKeys?: PublishedKeySource;
    /** OCSP_POLICY soft or hard: the client certificate status gate (src/tls/ocsp/client-gate.ts). */
    readonly revocation?: Pick<ClientRevocationGate, 'admit'> | undefined;
    /** When a connection's client chain expires (src/tls/material.ts chainNotAfter). */
    readonly chainNotAfter?: (socket: TLSSocket) => number | undefined;
  },
): Hono<GatewayEnv> {
  const { config, stages } = deps;
  const trusted = [...config.trustedProxyPeers, ...(config.role === 'dfsp' ? [config.hubId] : [])];
  const upstreamOf = targetsByResource(deps.inboundUpstreams);
  const app = base();
  if (deps.publishedKeys) {
    // Registered before the FSPIOP pipeline and answered without calling it: not an FSPIOP route, so no FSPIOP
    // header, JWS or ILP stage applies, but the transport checks do (client certificate bound to a peer,
    // quarantine, the peer's limits). Other methods on the path fall through to the pipeline (3002/404).
    const served = `GET ${JWKS_PATH}`;
    const scope = requestScope({ listener: 'inbound', telemetry: deps.telemetry, logger: deps.logger, served, ...(deps.audit ? { audit: deps.audit } : {}) });
    for (const h of present(
      scope,
      config.inboundMtls ? bindPeer(deps.peerIdentity, deps.revocation, deps.chainNotAfter) : undefined,
      stages.quarantine,
      stages.limits,
      requireExactTarget(JWKS_PATH),
    ))
      app.get(JWKS_PATH, h);
    app.get(JWKS_PATH, servePublishedKeys(deps.publishedKeys));
  }
  mount(
    app,
    present(
      requestScope({ listener: 'inbound', telemetry: deps.telemetry, logger: deps.logger, ...(deps.audit ? { audit: deps.audit } : {}) }),
      matchFspiopRoute(), // the strict request-target check comes before anything reads the target
      config.inboundMtls ? bindPeer(deps.peerIdentity, deps.revocation, deps.chainNotAfter) : undefined,
      stages.quarantine,
      stages.limits, // after peer binding and quarantine, before any body read or crypto
      requireRoute(), // a refused target is answered here: charged to the peer's limits, refused as its own
      checkRequest({ maxBodyBytes: config.maxBodyBytes, maxJsonValues: config.maxJsonValues }),
      config.inboundMtls ? requireSourceMatchesPeer({ trusted }) : undefined,
      requireSwitchSender({ trusted }),
      stages.freshness,
      stages.verifyJws,
      stages.identity, // a body whose signature failed is reported as that, never as a mismatch
      stages.ilpInbound, // its first store operation also writes the replay record (src/store/first-use.ts)
      stages.replayRecord,
      forward({ upstreams: deps.upstreams, target: (c) => upstreamOf(c.get('route').resource), proto: 'https' }),
    ),
  );
  return app;
}

/** Local side → gateway → peer chosen by FSPIOP-Destination (peer directory or PEER_ENDPOINT). */
export function buildOutboundApp(deps: AppDeps & { readonly peers: PeerDirectory }): Hono<GatewayEnv> {
  const { config, stages, peers } = deps;
  const targetFor = (c: Parameters<Parameters<typeof forward>[0]['target']>[0]): Target => {
    const dest = header(c, 'fspiop-destination');
    if (dest === undefined) {
      if (config.peerEndpoint) return targetOf(new URL(config.peerEndpoint), 'default');
      throw new GatewayError('GW_HEADER_MISSING', { detail: 'FSPIOP-Destination is required' });
    }
    const p = peers.resolve(dest);
    return targetOf(p.endpoint, peers.has(dest) ? dest : 'default');
  };
  const app = base();
  mount(
    app,
    present(
      requestScope({ listener: 'outbound', telemetry: deps.telemetry, logger: deps.logger, ...(deps.audit ? { audit: deps.audit } : {}) }),
      stages.quarantineOutbound,
      matchFspiopRoute(),
      requireRoute(), // the local side is trusted: refused at once
      stages.limitsOutbound, // by FSPIOP-Destination, before the body is read or signed
      // The local side may leave Date out: the gateway adds it, before anything signs or reads it.
      checkRequest({ maxBodyBytes: config.maxBodyBytes, maxJsonValues: config.maxJsonValues, addMissingDate: { now: Date.now } }),
      async function resolveDestination(c, next) {
        targetFor(c);
        await next();
      }, // 3201/3102 before any signing
      stages.identityOutbound, // the gateway never completes or signs a body that speaks for another FSP than its headers
      stages.ilpOutbound,
      stages.signJws,
      forward({ upstreams: deps.upstreams, target: targetFor, proto: 'http' }),
    ),
  );
  return app;
}
