// The two upstream pool sets: inbound traffic goes to the switch services or DFSP backend (one pool per
// distinct origin: INBOUND_UPSTREAM_URL and each INBOUND_UPSTREAM_ROUTES upstream, every https one trusting
// INBOUND_UPSTREAM_CA_CERT_PATH), outbound traffic to peers over mTLS with the gateway's client certificate. A new client
// certificate takes effect on new connections: the outbound pools are dropped when its files change, and at the
// activation time of a staged client certificate (src/tls/staged.ts), so every replica presents it from then on.
// Both offer the TLS_GROUPS key-exchange groups and count each handshake's group (endpoint upstream and outbound).
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Config } from '../config/schema.js';
import type { Telemetry } from '../telemetry/types.js';
import { at, type PairInForce, pairInForce, stagedPaths } from '../tls/staged.js';
import { watchFiles } from '../util/file-watch.js';
import { Upstreams } from './upstream.js';

export type PoolConfig = Pick<
  Config,
  | 'upstreamConnections'
  | 'upstreamConnectTimeoutMs'
  | 'upstreamHeadersTimeoutMs'
  | 'upstreamBodyTimeoutMs'
  | 'maxBodyBytes'
  | 'upstreamCaCertPath'
  | 'outCaCertPath'
  | 'outClientCertPath'
  | 'outClientKeyPath'
  | 'tlsReloadIntervalMs'
  | 'tlsGroups'
>;

export interface Pools {
  readonly inbound: Upstreams;
  readonly outbound: Upstreams;
  close(): Promise<void>;
}

/** The client certificate and key in force: OUT_CLIENT_CERT_PATH/OUT_CLIENT_KEY_PATH, or their staged pair once active (src/tls/staged.ts). */
function clientPairOf(c: Pick<PoolConfig, 'outClientCertPath' | 'outClientKeyPath'>): PairInForce | undefined {
  return c.outClientCertPath && c.outClientKeyPath ? pairInForce(c.outClientCertPath, c.outClientKeyPath, Date.now()) : undefined;
}

/**
 * The outbound mTLS client's TLS material, read from the files at each call: OUT_CA_CERT_PATH trust,
 * OUT_CLIENT_CERT_PATH/OUT_CLIENT_KEY_PATH presented, or their staged pair from its activation time
 * (`ca` overrides the trust, e.g. MCM_CA_CERT_PATH). The peer pools use it, and so do the remote key sources
 * (src/jws/sources/fetch.ts).
 */
export function outboundTlsMaterial(
  c: Pick<PoolConfig, 'outCaCertPath' | 'outClientCertPath' | 'outClientKeyPath'> & Partial<Pick<PoolConfig, 'tlsGroups'>>,
  caPath: string | undefined = c.outCaCertPath,
): () => { ecdhCurve?: string; ca?: Buffer; cert?: Buffer; key?: Buffer } {
  const file = (path: string | undefined) => (path === undefined ? undefined : readFileSync(path));
  const ecdhCurve = c.tlsGroups?.ecdhCurve; // TLS_GROUPS, the same on every TLS endpoint (peers and key sources alike)
  return () => {
    const ca = file(caPath);
    const pair = clientPairOf(c);
    return { ...(ecdhCurve ? { ecdhCurve } : {}), ...(ca ? { ca } : {}), ...(pair ? { cert: pair.cert, key: pair.key } : {}) };
  };
}

const POOL_SAMPLE_MS = 1000;

export function openPools(c: PoolConfig, telemetry: Telemetry, onStagedError: (err: Error) => void = () => {}): Pools {
  const common = {
    connections: c.upstreamConnections,
    connectTimeoutMs: c.upstreamConnectTimeoutMs,
    headersTimeoutMs: c.upstreamHeadersTimeoutMs,
    bodyTimeoutMs: c.upstreamBodyTimeoutMs,
    maxResponseBytes: c.maxBodyBytes,
  };
  const ecdhCurve = c.tlsGroups.ecdhCurve; // TLS_GROUPS, the same on every TLS endpoint
  const inbound = new Upstreams(
    { ...common, endpoint: 'upstream', tls: () => ({ ecdhCurve, ...(c.upstreamCaCertPath ? { ca: readFileSync(c.upstreamCaCertPath) } : {}) }) },
    telemetry,
  );
  const certPath = c.outClientCertPath;
  const keyPath = c.outClientKeyPath;
  const clientPair = () => clientPairOf(c);
  const outbound = new Upstreams({ ...common, endpoint: 'outbound', tls: outboundTlsMaterial(c) }, telemetry);
  // The client certificate in force and a staged one waiting: metrics, and the switch at its time.
  let cancelSwitch = () => {};
  let reported: string | undefined;
  const follow = () => {
    cancelSwitch();
    let pair: PairInForce | undefined;
    try {
      pair = clientPair();
    } catch {
      return; // unreadable files: the pools keep their connections; the next change calls again
    }
    if (pair === undefined || certPath === undefined) return;
    if (pair.stagedError) onStagedError(pair.stagedError);
    telemetry.expiry({ kind: 'tls_client', file: certPath, notAfter: Date.parse(new X509Certificate(pair.cert).validTo) / 1000 });
    if (reported !== undefined && reported !== pair.pending?.certPath) {
      telemetry.expiry({ kind: 'tls_client', file: reported, notAfter: undefined });
      telemetry.certificateActivation({ kind: 'tls_client', file: reported, activateAt: undefined });
    }
    reported = pair.pending?.certPath;
    if (pair.pending) {
      telemetry.expiry({ kind: 'tls_client', file: pair.pending.certPath, notAfter: Date.parse(pair.pending.certificate.validTo) / 1000 });
      telemetry.certificateActivation({ kind: 'tls_client', file: pair.pending.certPath, activateAt: pair.pending.activateAt / 1000 });
    }
    cancelSwitch = at(pair.pending?.activateAt, () => {
      void outbound.reset();
      follow();
    });
  };
  follow();
  // Pool load for metrics (switchguard_upstream_pool_*), once a second: a sample, nothing on the request path.
  const sampler = setInterval(() => {
    for (const u of [inbound, outbound]) for (const l of u.sample()) telemetry.upstreamPool(l);
  }, POOL_SAMPLE_MS);
  sampler.unref();
  const staged = certPath && keyPath ? stagedPaths(certPath, keyPath) : undefined;
  const clientFiles = [certPath, keyPath, c.outCaCertPath, staged?.cert, staged?.key, staged?.activateAt].filter((p): p is string => p !== undefined);
  const watch = clientFiles.length
    ? watchFiles(
        clientFiles,
        () => {
          void outbound.reset();
          follow();
        },
        { intervalMs: c.tlsReloadIntervalMs },
      )
    : undefined;
  return {
    inbound,
    outbound,
    async close() {
      clearInterval(sampler);
      watch?.close();
      cancelSwitch();
      await inbound.close();
      await outbound.close();
    },
  };
}
