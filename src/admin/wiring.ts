// The admin listener's app with everything it reports on and acts upon (docs/operations.md): readiness checks,
// scoped tokens (hot-reloaded), key and certificate reloads, key and peer listings, quarantine and limits.
import type { Config } from '../config/schema.js';
import type { PeerKeys } from '../jws/peer-keys.js';
import type { KeyRevocations } from '../jws/revocations.js';
import type { SigningKeyHolder } from '../jws/signing-key.js';
import type { AuditLog } from '../logging/audit.js';
import type { PeerDirectory } from '../peers/directory.js';
import type { Store } from '../store/types.js';
import type { Telemetry } from '../telemetry/types.js';
import type { TlsReloader } from '../tls/material.js';
import type { Closers } from '../util/closers.js';
import { buildAdminApp, type KeyInfo } from './app.js';
import type { Quarantine } from './quarantine.js';
import type { ReadinessCheck } from './readiness.js';
import { AdminTokens } from './tokens.js';

export interface AdminWiring {
  readonly config: Pick<Config, 'adminToken' | 'adminTokens' | 'adminTokensPath' | 'adminAllowedHosts' | 'tlsReloadIntervalMs'>;
  readonly telemetry: Telemetry;
  /** The prom-client registry's text, when the metrics are the built-in ones. */
  readonly metrics: { readonly contentType: string; metricsText(): Promise<string> } | undefined;
  readonly logger: { error(o: object, msg: string): void };
  readonly audit: AuditLog;
  readonly onError: (err: unknown) => void;
  readonly tls: TlsReloader;
  /** One reachability check per inbound upstream (src/proxy/probe.ts), named 'upstream' or 'upstream:<resource>'. */
  readonly upstreams: readonly ReadinessCheck[];
  readonly store: Store;
  readonly quarantine: Quarantine;
  readonly peers: PeerDirectory;
  readonly keys: PeerKeys | undefined;
  readonly revocations: KeyRevocations | undefined;
  readonly signer: SigningKeyHolder | undefined;
  readonly limits: {
    list(): unknown;
    change(fspId: string, entry: unknown | undefined): Promise<unknown>;
    readonly overrides: { readiness(): { ok: boolean; info: Record<string, unknown> } };
  };
  readonly closers: Closers;
}

/** The admin app; its token file watch is closed with the gateway. */
export function wireAdmin(w: AdminWiring): ReturnType<typeof buildAdminApp> {
  const { keys, revocations, signer, telemetry, store, quarantine, tls, peers } = w;
  const readiness: ReadinessCheck[] = [
    {
      name: 'certificates',
      check: () => Date.parse(tls.current.serverCert.validTo) > Date.now() && Date.parse(tls.current.serverCert.validFrom) <= Date.now(),
    },
    ...w.upstreams,
    ...(keys ? [{ name: 'keys', check: () => keys.knownIds().length > 0 }] : []),
    ...(signer ? [{ name: 'signing_key', check: () => signer.current() !== undefined }] : []),
    { name: 'quarantine', check: () => quarantine.readiness().ok, info: () => quarantine.readiness().info },
    ...(revocations ? [{ name: 'key_revocations', check: () => revocations.readiness().ok, info: () => revocations.readiness().info }] : []),
    { name: 'limit_overrides', check: () => w.limits.overrides.readiness().ok, info: () => w.limits.overrides.readiness().info },
    {
      name: 'store',
      check: async () => {
        const up = await store.ping();
        telemetry.storeUp(up);
        return up;
      },
    },
  ];
  const tokens = w.closers.add(
    new AdminTokens({
      adminToken: w.config.adminToken,
      adminTokens: w.config.adminTokens,
      path: w.config.adminTokensPath,
      reloadIntervalMs: w.config.tlsReloadIntervalMs,
      onWatchError: w.onError,
      onReload: (e) => {
        telemetry.reload({ what: 'admin_tokens', outcome: e.outcome });
        if (e.outcome === 'failed') {
          w.logger.error({ event: 'admin_tokens_reload_failed', err: e.error }, 'admin token file reload refused; keeping the previous tokens');
          w.audit.record({ event: 'admin_tokens_reload_failed', actor: 'gateway' });
        }
      },
    }),
    (t) => t.close(),
  );
  const listKeys = async (): Promise<KeyInfo[]> =>
    keys
      ? (await keys.list()).map((k) => ({
          fspId: k.fspId,
          source: k.source,
          fingerprint: k.fingerprint,
          thumbprint: k.thumbprint,
          expiry: k.notAfter === undefined ? null : new Date(k.notAfter * 1000).toISOString(),
          ...(k.file !== undefined ? { file: k.file } : {}),
          ...(k.kid !== undefined ? { kid: k.kid } : {}),
          ...(k.url !== undefined ? { url: k.url } : {}),
          ...(k.rejected !== undefined ? { rejected: k.rejected } : {}),
          ...(k.revoked !== undefined ? { revoked: k.revoked } : {}),
        }))
      : [];
  return buildAdminApp({
    adminToken: w.config.adminToken,
    allowedHosts: w.config.adminAllowedHosts,
    tokens,
    limits: w.limits,
    ...(w.metrics ? { metrics: w.metrics } : {}),
    readiness,
    audit: w.audit,
    quarantine,
    onError: w.onError,
    reloadKeys: async () => {
      const r = {
        keys: keys ? ((await keys.reload()) ? 'ok' : 'failed') : 'disabled',
        signingKey: signer ? ((await signer.reload()) ? 'ok' : 'failed') : 'disabled',
      };
      if (r.keys === 'failed' || r.signingKey === 'failed') throw new Error(`reload incomplete: keys ${r.keys}, signing key ${r.signingKey}`);
      return r;
    },
    reloadCertificates: () => ({ tls: tls.reload() }),
    listKeys,
    ...(signer ? { signingKeys: signer } : {}),
    ...(keys ? { peerKeys: keys } : {}),
    ...(revocations ? { revocations } : {}),
    listPeers: () => peers.list(),
    knownPeers: () => new Set([...(keys?.knownIds() ?? []), ...peers.ids()]),
  });
}
