// Opens traffic control for a gateway (docs/operations.md, traffic control): the limits file, the shared counters in the store's Redis
// (or this process), the run-time overrides sealed with STATE_HMAC_KEY, and the two stages.
import type { Config } from '../config/schema.js';
import type { AuditLog } from '../logging/audit.js';
import type { Store } from '../store/types.js';
import type { Telemetry } from '../telemetry/types.js';
import type { Closers } from '../util/closers.js';
import { createTrafficControl, type TrafficControl } from './index.js';

export type TrafficConfig = Pick<
  Config,
  | 'rateLimitsPath'
  | 'tlsReloadIntervalMs'
  | 'rateLimitsReplicas'
  | 'rateLimitHoldMs'
  | 'workers'
  | 'httpRequestTimeoutMs'
  | 'upstreamConnectTimeoutMs'
  | 'upstreamHeadersTimeoutMs'
  | 'upstreamBodyTimeoutMs'
  | 'storeKind'
  | 'redisUrl'
  | 'redisClusterNodes'
  | 'redisKeyPrefix'
  | 'storeTimeoutMs'
  | 'stateHmacKey'
  | 'limitOverridesPath'
>;

export async function openTrafficControl(
  config: TrafficConfig,
  d: {
    store: Store;
    telemetry: Telemetry;
    audit: AuditLog;
    isKnown: (fspId: string) => boolean;
    closers: Closers;
    logger: { error(o: object, msg: string): void };
    onError: (what: string) => (err: unknown) => void;
  },
): Promise<TrafficControl> {
  const traffic = await createTrafficControl({
    path: config.rateLimitsPath,
    reloadIntervalMs: config.tlsReloadIntervalMs,
    share: 1 / (config.rateLimitsReplicas * config.workers),
    // A held refusal's unread body must not outlast the request timeout (review of 2026-11-30).
    holdMs: Math.min(config.rateLimitHoldMs, Math.floor(config.httpRequestTimeoutMs / 2)),
    // A slot is held at most as long as a request can last: the request timeout plus the upstream's.
    leaseMs: config.httpRequestTimeoutMs + config.upstreamConnectTimeoutMs + config.upstreamHeadersTimeoutMs + config.upstreamBodyTimeoutMs,
    redis:
      config.storeKind === 'redis'
        ? {
            ...(config.redisUrl !== undefined ? { url: config.redisUrl } : {}),
            clusterNodes: config.redisClusterNodes,
            keyPrefix: config.redisKeyPrefix,
            timeoutMs: config.storeTimeoutMs,
          }
        : undefined,
    store: d.store,
    telemetry: d.telemetry,
    audit: d.audit,
    isKnown: d.isKnown,
    onReloadFailed: (err) =>
      d.logger.error(
        { event: 'limits_reload_failed', err, reason: err instanceof Error ? err.message : String(err) },
        'limits file reload refused; keeping the previous limits',
      ),
    onOverridesError: d.onError('limit overrides refresh failed; keeping the overrides in force'),
    hmacKey: config.stateHmacKey,
    overridesPath: config.limitOverridesPath,
    onOverridesLost: (e) =>
      d.logger.error(
        { event: 'limit_overrides_lost', ...e },
        'shared limit overrides lost (store flush, restart or eviction); still enforced, restored into the store',
      ),
  });
  return d.closers.add(traffic, (t) => t.close());
}
