// Traffic control assembled from its options (docs/operations.md): the limits file, the run-time overrides, the
// shared limiter and the two pipeline stages. gateway.ts calls createTrafficControl() once and mounts
// `inbound` / `outbound`; the admin API uses `list` / `change`.
import { isValidFspId } from '../fspiop/headers.js';
import type { GatewayMiddleware } from '../http/context.js';
import { header } from '../http/context.js';
import type { AuditLog } from '../logging/audit.js';
import { connect } from '../store/redis.js';
import type { StateLoss } from '../store/security-state.js';
import type { Store } from '../store/types.js';
import type { Telemetry } from '../telemetry/types.js';
import { LimitsFile } from './file.js';
import { type Backend, Limiter } from './limiter.js';
import { limitTraffic } from './middleware.js';
import { LimitOverrides } from './overrides.js';
import { type LimitsTable, RESOURCES_OF } from './rules.js';

const plain = (t: LimitsTable) => ({ default: t.default ?? null, fsps: Object.fromEntries(t.fsps) });

export interface TrafficControlOptions {
  /** RATE_LIMITS_PATH; undefined: no file limits (run-time overrides still apply). */
  readonly path: string | undefined;
  readonly reloadIntervalMs: number;
  /** 1/(RATE_LIMITS_REPLICAS × WORKERS). */
  readonly share: number;
  /** RATE_LIMIT_HOLD_MS (inbound only; middleware.ts). */
  readonly holdMs?: number;
  readonly leaseMs: number;
  /** Where the shared counters live: the Redis of the store, or this process (memory store). */
  readonly redis: { readonly url?: string; readonly clusterNodes: readonly string[]; readonly keyPrefix: string; readonly timeoutMs: number } | undefined;
  /** The store, for the run-time overrides. */
  readonly store: Store;
  readonly isKnown?: (fspId: string) => boolean;
  readonly telemetry: Telemetry;
  readonly audit?: AuditLog;
  readonly onReloadFailed?: (err: unknown) => void;
  /** A run-time override refresh failed (store down, or a value no replica sealed); the overrides in force stay. */
  readonly onOverridesError?: (err: unknown) => void;
  /** STATE_HMAC_KEY (store/sealed.ts). */
  readonly hmacKey?: string | undefined;
  /** LIMIT_OVERRIDES_PATH: the overrides' durable copy (limits/overrides.ts). */
  readonly overridesPath?: string | undefined;
  /** The shared overrides were lost (absent, older or tampered) while some were in force; they are written back. */
  readonly onOverridesLost?: (e: StateLoss & { readonly fsps: readonly string[] }) => void;
}

export interface TrafficControl {
  readonly inbound: GatewayMiddleware;
  readonly outbound: GatewayMiddleware;
  readonly overrides: LimitOverrides;
  /** The file table, the overrides and the resource classes, for GET /admin/limits. */
  list(): { file: { default: unknown; fsps: Record<string, unknown> }; overrides: Record<string, unknown>; classes: typeof RESOURCES_OF };
  /** Sets (entry) or releases (undefined) one FSP's run-time override, on every replica within a second. */
  change(fspId: string, entry: unknown | undefined): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function createTrafficControl(o: TrafficControlOptions): Promise<TrafficControl> {
  // First, before anything is opened: a corrupt durable copy stops start-up (throws), as QUARANTINE_PATH's does.
  const overrides = new LimitOverrides(o.store, {
    hmacKey: o.hmacKey,
    path: o.overridesPath,
    ...(o.onOverridesError ? { onError: o.onOverridesError } : {}),
    ...(o.onOverridesLost ? { onLoss: o.onOverridesLost } : {}),
  });
  overrides.loadDurable();
  await overrides.start(); // a store that does not answer is reported (onError), never thrown
  const file = new LimitsFile(o.path, o.isKnown, (e) => {
    o.telemetry.reload({ what: 'rate_limits', outcome: e.outcome });
    if (e.outcome === 'failed') {
      o.onReloadFailed?.(e.error);
      o.audit?.record({ event: 'limits_reload_failed', actor: 'gateway', reason: 'invalid_limits_file' });
    }
  });
  file.watch(o.reloadIntervalMs);
  const client = o.redis ? connect({ ...o.redis, telemetry: o.telemetry }) : undefined;
  client?.on('error', () => {}); // reconnects in the background; failures surface as fallback decisions
  const backend: Backend = client ? { kind: 'redis', client, keyPrefix: o.redis!.keyPrefix } : { kind: 'memory' };
  const limiter = new Limiter({ backend, share: o.share, leaseMs: o.leaseMs, onFallback: (what) => o.telemetry.rateLimitFallback({ what }) });
  const limits = () => ({ table: file.current, overrides: overrides.current });
  const common = { limits, limiter, telemetry: o.telemetry, ...(o.audit ? { audit: o.audit } : {}) };
  return {
    inbound: limitTraffic({ ...common, listener: 'inbound', holdMs: o.holdMs ?? 0, keyOf: (c) => c.get('peer')?.fspId }),
    outbound: limitTraffic({
      ...common,
      listener: 'outbound',
      keyOf: (c) => {
        const d = header(c, 'fspiop-destination');
        return d !== undefined && isValidFspId(d) ? d : undefined;
      },
    }),
    overrides,
    list: () => ({ file: plain(file.current), overrides: overrides.list(), classes: RESOURCES_OF }),
    change: (fspId, entry) => overrides.change(fspId, entry),
    async close() {
      file.close();
      overrides.close();
      if (client) await client.quit().catch(() => client.disconnect()); // no polite QUIT possible: drop the socket
    },
  };
}
