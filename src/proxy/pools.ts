// The two upstream pool sets: inbound traffic goes to the switch services or DFSP backend (one pool per
// distinct origin: INBOUND_UPSTREAM_URL and each INBOUND_UPSTREAM_ROUTES upstream, every https one trusting
// INBOUND_UPSTREAM_CA_CERT_PATH), outbound traffic to peers over mTLS with the gateway's client certificate. A new client
// certificate takes effect on new connections: the outbound pools are dropped when its files change. Both offer the
// TLS_GROUPS key-exchange groups and count each handshake's group (endpoint upstream and outbound).
import { readFileSync } from 'node:fs';
import type { Config } from '../config/schema.js';
import type { Telemetry } from '../telemetry/types.js';
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

/**
 * The outbound mTLS client's TLS material, read from the files at each call: OUT_CA_CERT_PATH trust,
 * OUT_CLIENT_CERT_PATH/OUT_CLIENT_KEY_PATH presented (`ca` overrides the trust, e.g. MCM_CA_CERT_PATH).
 * The peer pools use it, and so do the remote key sources (src/jws/sources/fetch.ts).
 */
export function outboundTlsMaterial(
  c: Pick<PoolConfig, 'outCaCertPath' | 'outClientCertPath' | 'outClientKeyPath'>,
  caPath: string | undefined = c.outCaCertPath,
): () => { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  const file = (path: string | undefined) => (path === undefined ? undefined : readFileSync(path));
  return () => {
    const ca = file(caPath),
      cert = file(c.outClientCertPath),
      key = file(c.outClientKeyPath);
    return { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
  };
}

export function openPools(c: PoolConfig, telemetry: Telemetry): Pools {
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
  const material = outboundTlsMaterial(c);
  const outbound = new Upstreams({ ...common, endpoint: 'outbound', tls: () => ({ ecdhCurve, ...material() }) }, telemetry);
  const clientFiles = [c.outClientCertPath, c.outClientKeyPath, c.outCaCertPath].filter((p): p is string => p !== undefined);
  const watch = clientFiles.length
    ? watchFiles(
        clientFiles,
        () => {
          void outbound.reset();
        },
        { intervalMs: c.tlsReloadIntervalMs },
      )
    : undefined;
  return {
    inbound,
    outbound,
    async close() {
      watch?.close();
      await inbound.close();
      await outbound.close();
    },
  };
}
