// The one place that decides which capability stages exist and with which options (docs/architecture.md): a
// stage exists when its config group does (config/schema.ts ConfigGroups), and it gets exactly the options
// it needs. app.ts slots the stages into the two pipelines; gateway.ts only wires.

import { readFileSync } from 'node:fs';
import { quarantineGuard, quarantineOutboundGuard } from './admin/middleware.js';
import type { Quarantine } from './admin/quarantine.js';
import type { Stages } from './app.js';
import type { Config } from './config/schema.js';
import type { GatewayMiddleware } from './http/context.js';
import { checkIdentity } from './http/identity.js';
import type { RequestLogger } from './http/stages.js';
import { BulkItemQuota } from './ilp/bulk-quota.js';
import { createKeyring, ilpVersionFor } from './ilp/keyring.js';
import { dfspIlpInbound, dfspIlpOutbound, hubIlp, type IlpOptions } from './ilp/middleware.js';
import { createReplayGuard, type ReplayGuard } from './jws/freshness.js';
import { KeyDirectory } from './jws/key-directory.js';
import { checkFreshness, signOutbound, verifyInboundJws, verifyOptionsOf, writeReplayRecord } from './jws/middleware.js';
import { PeerKeys } from './jws/peer-keys.js';
import type { KeyRevocations } from './jws/revocations.js';
import { type SigningKeyEvent, SigningKeyHolder } from './jws/signing-key.js';
import { createKeyFetch, type KeyFetch } from './jws/sources/fetch.js';
import { RemoteKeySources } from './jws/sources/remote-keys.js';
import type { TrafficControl } from './limits/index.js';
import type { AuditLog } from './logging/audit.js';
import type { PeerDirectory } from './peers/directory.js';
import { outboundTlsMaterial } from './proxy/pools.js';
import type { Store } from './store/types.js';
import type { Telemetry } from './telemetry/types.js';
import type { Closers } from './util/closers.js';

/** REPLAY_PROTECTION: the guard verification records every verified signature with, or none. */
export function replayGuardOf(config: Pick<Config, 'replayProtection' | 'jwsMaxClockSkewSeconds'>, store: Store): ReplayGuard | undefined {
  return config.replayProtection ? createReplayGuard(store, config.jwsMaxClockSkewSeconds) : undefined;
}

/**
 * The ILP stages of the role (ILP_CHECK): the hub checks inbound only; the DFSP role checks inbound and
 * generates outbound, with the keyring built here (and nowhere else) from the validated secrets.
 */
export function ilpStagesOf(
  config: Config,
  deps: { store: Store; telemetry: Telemetry; now?: () => number },
): { inbound?: GatewayMiddleware; outbound?: GatewayMiddleware } {
  const ilp = config.ilp;
  if (ilp === undefined) return {};
  const common: IlpOptions = {
    store: deps.store,
    telemetry: deps.telemetry,
    graceSeconds: config.ilpGraceSeconds,
    transferMaxTtlSeconds: config.ilpTransferMaxTtlSeconds,
    versionFor: (fspId) => ilpVersionFor(config, fspId),
    ...(deps.now ? { now: deps.now } : {}),
  };
  if (ilp.role === 'hub')
    return {
      inbound: hubIlp({
        ...common,
        quoteBinding: ilp.quoteBinding,
        quoteMaxTtlSeconds: config.ilpQuoteMaxTtlSeconds,
        bulkQuota: new BulkItemQuota(config.ilpBulkItemsMaxPerFsp, deps.now),
      }),
    };
  const dfsp = {
    ...common,
    keyring: createKeyring(ilp.secrets, { development: ilp.development }),
    quoteExpirySeconds: config.quoteExpirySeconds,
    quoteMaxTtlSeconds: config.ilpQuoteMaxTtlSeconds,
  };
  return { inbound: dfspIlpInbound(dfsp), outbound: dfspIlpOutbound(dfsp) };
}

export interface StageDeps {
  readonly store: Store;
  readonly telemetry: Telemetry;
  /** The key directory reports the FSP ids it knows through this (metric labels). */
  readonly keyTelemetry: Telemetry;
  readonly audit: AuditLog;
  readonly quarantine: Quarantine;
  readonly traffic: Pick<TrafficControl, 'inbound' | 'outbound'>;
  readonly closers: Closers;
  /** Clock of the ILP stages (tests). */
  readonly now?: () => number;
  /** Reports a key file that does not parse, or a watch that failed (the keys in force stay). */
  readonly onError?: (what: string) => (err: unknown) => void;
  /** Where IDENTITY_CHECK=log writes its warnings (none written without it). */
  readonly logger?: Pick<RequestLogger, 'warn'>;
}

const NO_LOG: Pick<RequestLogger, 'warn'> = { warn() {} };

/** IDENTITY_CHECK: the stage of each listener, when the check is on. */
function identityStagesOf(
  config: Pick<Config, 'identity'>,
  deps: { telemetry: Telemetry; logger?: Pick<RequestLogger, 'warn'> },
): { inbound?: GatewayMiddleware; outbound?: GatewayMiddleware } {
  const id = config.identity;
  if (id === undefined) return {};
  const common = { enforce: id.enforce, relays: id.relays, telemetry: deps.telemetry, logger: deps.logger ?? NO_LOG };
  return { inbound: checkIdentity({ ...common, listener: 'inbound' }), outbound: checkIdentity({ ...common, listener: 'outbound' }) };
}

export interface OpenedStages {
  readonly stages: Stages;
  /** Present when VALIDATE_INBOUND_JWS=true. */
  readonly keys: PeerKeys | undefined;
  /** Present when JWS_SIGN=true. */
  readonly signer: SigningKeyHolder | undefined;
}

/** The signing keyring's changes go to the audit stream and the gateway log (docs/operations.md, "Audit events"). */
function signingKeyEvents(audit: AuditLog | undefined, logger: { info?(o: object, msg: string): void } | undefined): (e: SigningKeyEvent) => void {
  return (e) => {
    if (e.type === 'revoked') audit?.record({ event: 'signing_key_revoked', actor: 'gateway', kid: e.kid, reason: e.reason });
    else audit?.record({ event: e.type === 'published' ? 'signing_key_published' : 'signing_key_activated', actor: 'gateway', kid: e.kid, file: e.file });
    logger?.info?.(
      { event: `signing_key_${e.type}`, kid: e.kid, ...(e.type === 'revoked' ? { reason: e.reason } : { alg: e.alg, file: e.file }) },
      `JWS signing key ${e.type}`,
    );
  };
}

/** What the remote key sources and revocations need beyond the stage dependencies (all optional: tests). */
export interface KeyMaterialDeps extends Pick<StageDeps, 'telemetry' | 'keyTelemetry' | 'closers' | 'onError'> {
  /** The peer directory: its jwksUrls are key sources, followed as it reloads. */
  readonly peers?: Pick<PeerDirectory, 'jwksUrls' | 'subscribe'>;
  readonly revocations?: KeyRevocations;
  readonly logger?: { warn(o: object, msg: string): void; info?(o: object, msg: string): void };
  readonly audit?: AuditLog;
  /** The key sources' HTTP client (default: over the outbound TLS material). */
  readonly fetch?: KeyFetch;
}

/** The remote key sources the configuration asks for: the peers' jwksUrls (when a peer directory is given) and MCM_URL. */
function remoteSourcesOf(config: Config, d: KeyMaterialDeps, fileBindings: () => Promise<Map<string, Set<string>>>): RemoteKeySources | undefined {
  const v = config.jwsVerify;
  if (v === undefined || (d.peers === undefined && v.mcm === undefined)) return undefined;
  const mcm = v.mcm;
  const secret = mcm?.oidc?.secret;
  return new RemoteKeySources({
    fetch: d.fetch ?? createKeyFetch(outboundTlsMaterial(config)),
    allowed: new Set(config.jwsAlgorithms),
    bounds: { minMs: v.remote.refreshMinSeconds * 1000, maxMs: v.remote.refreshMaxSeconds * 1000 },
    timeoutMs: v.remote.fetchTimeoutMs,
    fileBindings,
    telemetry: d.telemetry,
    ...(d.logger ? { logger: d.logger } : {}),
    ...(d.audit ? { audit: d.audit } : {}),
    ...(mcm
      ? {
          mcm: {
            fetch: d.fetch ?? createKeyFetch(outboundTlsMaterial(config, mcm.caCertPath ?? config.outCaCertPath)),
            url: new URL(mcm.url),
            // The hub's own key is not needed by the hub; a DFSP verifies the hub's callbacks with it.
            hubId: config.role === 'dfsp' ? config.hubId : undefined,
            credentials:
              mcm.oidc && secret
                ? {
                    tokenUrl: new URL(mcm.oidc.tokenUrl),
                    clientId: mcm.oidc.clientId,
                    clientSecret: 'path' in secret ? () => readFileSync(secret.path, 'utf8').trim() : () => secret.value,
                  }
                : undefined,
          },
        }
      : {}),
  });
}

/** The key material the configured stages need: opened first, so that every FSP id with a key is known from the start. */
export async function openKeyMaterial(config: Config, d: KeyMaterialDeps): Promise<{ keys: PeerKeys | undefined; signer: SigningKeyHolder | undefined }> {
  const v = config.jwsVerify;
  let keys: PeerKeys | undefined;
  if (v !== undefined) {
    // The FSP ids with a key: the key files' (reported by the directory on every scan) and the remote sources'.
    let fileIds: readonly string[] = [];
    let remote: RemoteKeySources | undefined;
    const report = () => d.keyTelemetry.knownPeers(new Set([...fileIds, ...(remote?.ids() ?? [])]));
    const files = await KeyDirectory.open({
      dir: v.keysDir,
      cacheSize: v.cacheSize,
      cacheTtlSeconds: v.cacheTtlSeconds,
      unknownSourceCooldownSeconds: v.unknownSourceCooldownSeconds,
      rescanIntervalSeconds: v.rescanIntervalSeconds,
      telemetry: {
        ...d.keyTelemetry,
        knownPeers(ids: Iterable<string>) {
          fileIds = [...ids];
          report();
        },
      },
      ...(d.onError ? { onError: d.onError('verification key directory') } : {}),
    });
    remote = remoteSourcesOf(config, d, () => peerKeys.fileBindings());
    const peerKeys = d.closers.add(new PeerKeys(files, remote, d.revocations), (k) => k.close());
    keys = peerKeys;
    if (remote) {
      const r = remote;
      r.onChange(report);
      const first = r.refreshAll(); // the Connection Manager, if configured
      const peers = d.peers;
      if (peers) {
        peers.subscribe(() => void r.setJwksUrls(peers.jwksUrls()));
        await r.setJwksUrls(peers.jwksUrls());
      }
      await first;
    }
  }
  const s = config.jwsSigning;
  const signer =
    s === undefined
      ? undefined
      : d.closers.add(
          await SigningKeyHolder.open({
            path: s.keyPath,
            telemetry: d.telemetry,
            rescanIntervalSeconds: s.rescanIntervalSeconds,
            onEvent: signingKeyEvents(d.audit, d.logger),
            ...(d.onError ? { onError: d.onError('signing key') } : {}),
          }),
          (k) => k.close(),
        );
  return { keys, signer };
}

/** Builds every stage from the configuration, the opened key material and traffic control. */
export function buildStages(config: Config, d: StageDeps & { keys: PeerKeys | undefined; signer: SigningKeyHolder | undefined }): Stages {
  const { keys, signer } = d;
  const ilp = ilpStagesOf(config, d);
  const identity = identityStagesOf(config, d);
  const replay = replayGuardOf(config, d.store);
  const stages: Stages = {
    quarantine: quarantineGuard(d.quarantine, { audit: d.audit }),
    quarantineOutbound: quarantineOutboundGuard(d.quarantine, { audit: d.audit }),
    freshness: checkFreshness({ skewSeconds: config.jwsMaxClockSkewSeconds }),
    ...(keys ? { verifyJws: verifyInboundJws({ ...verifyOptionsOf(config), keys, telemetry: d.telemetry, replay }) } : {}),
    ...(keys && replay ? { replayRecord: writeReplayRecord({ store: d.store }) } : {}),
    ...(identity.inbound ? { identity: identity.inbound } : {}),
    ...(identity.outbound ? { identityOutbound: identity.outbound } : {}),
    ...(ilp.inbound ? { ilpInbound: ilp.inbound } : {}),
    ...(ilp.outbound ? { ilpOutbound: ilp.outbound } : {}),
    ...(signer ? { signJws: signOutbound({ signer, selfId: config.selfId, signPutParties: config.jwsSignPutParties }) } : {}),
    limits: d.traffic.inbound,
    limitsOutbound: d.traffic.outbound,
  };
  return stages;
}

/** Both steps, for a pipeline whose traffic control does not depend on the known ids (tests). */
export async function openStages(config: Config, d: StageDeps): Promise<OpenedStages> {
  const { keys, signer } = await openKeyMaterial(config, d);
  return { stages: buildStages(config, { ...d, keys, signer }), keys, signer };
}
