// The traffic-control stage (docs/operations.md): per-FSP request rate and in-flight bound, mounted after peer
// binding and quarantine and before any body read or crypto, so a flood costs no signature checks.
// Inbound it keys on the verified peer (client certificate), outbound on FSPIOP-Destination (protecting
// peers). A refusal is 2005/503 with Retry-After, counted per DFSP and reason, and never reaches the upstream.
// Audit: the first refusal of a DFSP and reason opens a window of AUDIT_WINDOW_MS and is recorded at once
// (count 1); at the window's end one more record gives the number refused after it, if any (so the last
// window of a flood is recorded too, not only on a later refusal).
// Hold (inbound, `holdMs` > 0): a request refused for rate is answered when the DFSP's window reopens (at most
// holdMs later), not at once. HTTP/1.1 answers in order, so the refused peer's connection carries nothing more
// meanwhile: a flooding DFSP's excess waits in its own client and socket buffers instead of costing the gateway
// a parse, a limiter look-up and a reply each (measured in docs/performance/2026-11-29-traffic-control.md). Its
// other connections are held the same way on their first refusal. A connection holds one refusal at a time: a
// request pipelined behind a held one is refused at once and the connection is closed after it (RFC 9112
// §9.6), so pipelining cannot pile up held requests. Not outbound: there the key is the destination, and one
// connection of a DFSP adapter carries requests to many destinations.
import type { HttpBindings } from '@hono/node-server';
import { GatewayError } from '../errors.js';
import type { GatewayContext, GatewayMiddleware } from '../http/context.js';
import type { AuditLog } from '../logging/audit.js';
import type { Telemetry } from '../telemetry/types.js';
import type { Lease, Limiter } from './limiter.js';
import { CLASS_OF, type FspLimits, type LimitsTable, limitsFor } from './rules.js';

const AUDIT_WINDOW_MS = 60_000;
/** Most audit windows open at once (one per DFSP and reason); refusals beyond are counted in metrics only. */
const AUDIT_WINDOWS_MAX = 10_000;
type Listener = 'inbound' | 'outbound';
type Reason = 'rate' | 'concurrency';

export interface TrafficLimitOptions {
  readonly listener: Listener;
  /** The FSP id the limits apply to, or undefined (not limited: the request fails later on its own). */
  readonly keyOf: (c: GatewayContext) => string | undefined;
  /** The limits file and the run-time overrides in force. */
  readonly limits: () => { readonly table: LimitsTable; readonly overrides: ReadonlyMap<string, FspLimits> };
  readonly limiter: Limiter;
  readonly telemetry: Pick<Telemetry, 'rateLimited' | 'inFlight'>;
  readonly audit?: AuditLog;
  /** RATE_LIMIT_HOLD_MS: a rate refusal is answered when the window reopens, at most this late (0: at once). */
  readonly holdMs?: number;
  /** Tests: the audit window (default AUDIT_WINDOW_MS). */
  readonly auditWindowMs?: number;
}

/**
 * @example
 * app.use('*', bindPeer(...), quarantineGuard(...), limitTraffic({ listener: 'inbound', keyOf: (c) => c.get('peer')?.fspId, limits, limiter, telemetry, audit }));
 */
export function limitTraffic(o: TrafficLimitOptions): GatewayMiddleware {
  const inFlight = new Map<string, number>();
  const windowMs = o.auditWindowMs ?? AUDIT_WINDOW_MS;
  // Open audit windows by DFSP and reason: refusals after the first, recorded when the window ends.
  const audited = new Map<string, { count: number }>();
  const auditRecord = (fspId: string, reason: Reason, count: number, requestId?: string) =>
    o.audit?.record({
      event: 'rate_limited',
      actor: 'peer',
      fspId,
      listener: o.listener,
      reason: reason === 'rate' ? 'GW_RATE_LIMITED' : 'GW_CONCURRENCY_LIMITED',
      count,
      ...(requestId === undefined ? {} : { requestId }),
    });

  const refusal = (c: GatewayContext, fspId: string, reason: Reason, retryAfterMs: number, close = false): GatewayError => {
    o.telemetry.rateLimited({ listener: o.listener, fspId, reason });
    const key = `${fspId}\n${reason}`;
    const a = audited.get(key);
    if (a !== undefined) a.count++;
    else if (audited.size < AUDIT_WINDOWS_MAX) {
      auditRecord(fspId, reason, 1, c.get('requestId'));
      const w = { count: 0 };
      audited.set(key, w);
      setTimeout(() => {
        audited.delete(key);
        if (w.count > 0) auditRecord(fspId, reason, w.count);
      }, windowMs).unref();
    }
    const retryAfter = String(Math.max(1, Math.ceil(retryAfterMs / 1000)));
    return new GatewayError(reason === 'rate' ? 'GW_RATE_LIMITED' : 'GW_CONCURRENCY_LIMITED', {
      detail: reason === 'rate' ? 'request rate limit of the FSP reached' : 'in-flight limit of the FSP reached',
      headers: close ? { 'retry-after': retryAfter, connection: 'close' } : { 'retry-after': retryAfter },
      context: { fspId, listener: o.listener },
      noStack: true,
    });
  };
  const refuse = (c: GatewayContext, fspId: string, reason: Reason, retryAfterMs: number): never => {
    throw refusal(c, fspId, reason, retryAfterMs);
  };
  // Connections answering a held refusal now (see the header).
  const holding = new WeakSet<object>();
  const holdMs = o.holdMs ?? 0;
  const refuseRate = async (c: GatewayContext, fspId: string, retryAfterMs: number): Promise<never> => {
    const socket = holdMs > 0 ? (c.env as Partial<HttpBindings> | undefined)?.incoming?.socket : undefined;
    if (socket === undefined) throw refusal(c, fspId, 'rate', retryAfterMs);
    if (holding.has(socket)) throw refusal(c, fspId, 'rate', retryAfterMs, true);
    const err = refusal(c, fspId, 'rate', retryAfterMs);
    holding.add(socket);
    try {
      await new Promise((r) => setTimeout(r, Math.min(holdMs, retryAfterMs)));
    } finally {
      holding.delete(socket);
    }
    throw err;
  };

  const gauge = (fspId: string, delta: number) => {
    const n = (inFlight.get(fspId) ?? 0) + delta;
    if (n <= 0) inFlight.delete(fspId);
    else inFlight.set(fspId, n);
    o.telemetry.inFlight({ listener: o.listener, fspId, count: Math.max(0, n) });
  };

  return async function limitTraffic(c, next) {
    const fspId = o.keyOf(c);
    const { table, overrides } = o.limits();
    const lim = fspId === undefined ? undefined : limitsFor(table, overrides, fspId);
    if (fspId === undefined || lim === undefined) return next();
    const resource = c.get('route')?.resource;
    const cls = resource === undefined ? 'other' : CLASS_OF[resource];
    const classRule = lim.classes[cls];
    const base = `${o.listener}:${fspId}`;

    const r1 = await o.limiter.consume(base, lim);
    if (!r1.ok) return refuseRate(c, fspId, r1.retryAfterMs);
    if (classRule) {
      const r2 = await o.limiter.consume(`${base}:${cls}`, classRule);
      if (!r2.ok) return refuseRate(c, fspId, r2.retryAfterMs);
    }

    const leases: Lease[] = [];
    try {
      for (const [scope, limit] of [
        [base, lim.concurrency],
        [`${base}:${cls}`, classRule?.concurrency],
      ] as const) {
        if (limit === undefined) continue;
        const lease = await o.limiter.acquire(scope, limit);
        if (lease === undefined) refuse(c, fspId, 'concurrency', 1000);
        leases.push(lease!);
      }
    } catch (e) {
      for (const l of leases) l.release();
      throw e;
    }
    gauge(fspId, 1);
    try {
      await next();
    } finally {
      for (const l of leases) l.release();
      gauge(fspId, -1);
    }
  };
}
