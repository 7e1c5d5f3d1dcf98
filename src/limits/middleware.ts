// The traffic-control stage (docs/operations.md): per-FSP request rate and in-flight bound, mounted after peer
// binding and quarantine and before any body read or crypto, so a flood costs no signature checks. Inbound, a request
// whose target the router refused is charged too (class `other`) and refused afterwards (src/http/stages.ts
// requireRoute).
// Inbound it keys on the verified peer (client certificate), outbound on FSPIOP-Destination (protecting
// peers). A refusal is 2005/503 with Retry-After, counted per DFSP and reason, and never reaches the upstream.
// Audit: once per window of a DFSP and reason (src/logging/audit-window.ts).
// Hold (inbound, `holdMs` > 0): a request refused by the DFSP's overall rate is answered when the DFSP's
// bucket admits its next request (limiter.ts, GCRA), at most holdMs later, not at once. HTTP/1.1 answers in
// order, so the refused peer's connection carries nothing more meanwhile: a flooding DFSP's excess waits in its
// own client instead of costing the gateway a read, a parse, a limiter look-up and a reply each. Held refusals
// of one DFSP are answered one rule interval (1/rps) apart, so its held connections come back one at a time,
// each to an admission (docs/performance/2026-11-29-traffic-control.md, 2026-11-30).
// The reply's Retry-After is what is left of the wait after the hold (0 when it has passed). Bounds (review
// of 2026-11-30): a connection holds one refusal at a time, and a request pipelined behind a held one that is
// refused too is answered at once with Connection: close (RFC 9112 §9.6), so pipelining cannot pile up held
// requests (one admitted meanwhile is forwarded, its reply queued behind the held one); a refusal whose turn in
// the release queue would come later than holdMs is answered at once (one whose own wait is longer is held
// holdMs); at most
// HOLDS_PER_FSP refusals of one DFSP are held per process, beyond that they are answered at once, so a client that
// opens more connections instead of waiting cannot turn the hold into a connection flood against the listener
// caps other DFSPs share; a hold ends early when its connection closes. Class refusals are answered at once
// (holding them would stall the DFSP's other classes queued on that connection), and so is the outbound
// listener (keyed by the destination: one adapter connection carries requests to many destinations).
import type { HttpBindings } from '@hono/node-server';
import { GatewayError } from '../errors.js';
import type { GatewayContext, GatewayMiddleware } from '../http/context.js';
import type { AuditLog } from '../logging/audit.js';
import { windowedAudit } from '../logging/audit-window.js';
import type { Telemetry } from '../telemetry/types.js';
import { pruneDeadlines } from '../util/deadlines.js';
import type { Lease, Limiter } from './limiter.js';
import { CLASS_OF, type FspLimits, type LimitsTable, limitsFor } from './rules.js';

/** Most refusals of one DFSP held at once in this process (see the header). */
const HOLDS_PER_FSP = 64;
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
  /** RATE_LIMIT_HOLD_MS: a rate refusal is answered when the DFSP may send again, at most this late (0: at once). */
  readonly holdMs?: number;
  /** Tests: refusals of one DFSP held at once per process (default HOLDS_PER_FSP). */
  readonly holdsPerFsp?: number;
  /** Tests: the audit window (default AUDIT_WINDOW_MS, src/logging/audit-window.ts). */
  readonly auditWindowMs?: number;
}

/** Adds `delta` to a per-DFSP count, dropping the entry at zero; returns the new count. */
function adjust(counts: Map<string, number>, fspId: string, delta: number): number {
  const n = (counts.get(fspId) ?? 0) + delta;
  if (n <= 0) counts.delete(fspId);
  else counts.set(fspId, n);
  return n;
}

/**
 * @example
 * app.use('*', bindPeer(...), quarantineGuard(...), limitTraffic({ listener: 'inbound', keyOf: (c) => c.get('peer')?.fspId, limits, limiter, telemetry, audit }));
 */
export function limitTraffic(o: TrafficLimitOptions): GatewayMiddleware {
  const inFlight = new Map<string, number>();
  // Audit windows by DFSP and reason (src/logging/audit-window.ts).
  const audited = windowedAudit(o.auditWindowMs);
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
    const requestId = c.get('requestId');
    audited(`${fspId}\n${reason}`, (count, first) => auditRecord(fspId, reason, count, first ? requestId : undefined));
    const retryAfter = String(Math.max(0, Math.ceil(retryAfterMs / 1000)));
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
  // Connections answering a held refusal now, and held refusals per DFSP (see the header).
  const holding = new WeakSet<object>();
  const heldOf = new Map<string, number>();
  const holdMs = o.holdMs ?? 0;
  const holdsPerFsp = o.holdsPerFsp ?? HOLDS_PER_FSP;
  // Held refusals are answered one rule interval apart per DFSP (nextRelease), each as its DFSP's bucket admits
  // the next request: a flood's held connections come back one at a time, each to an admission, instead of all
  // at once to one admission and as many new refusals.
  const nextRelease = new Map<string, number>();
  const refuseRate = async (c: GatewayContext, fspId: string, retryAfterMs: number, intervalMs: number): Promise<never> => {
    const socket = holdMs > 0 ? (c.env as Partial<HttpBindings> | undefined)?.incoming?.socket : undefined;
    if (socket === undefined || socket.destroyed || !Number.isFinite(retryAfterMs)) throw refusal(c, fspId, 'rate', retryAfterMs);
    if (holding.has(socket)) throw refusal(c, fspId, 'rate', retryAfterMs, true);
    const held = heldOf.get(fspId) ?? 0;
    if (held >= holdsPerFsp) throw refusal(c, fspId, 'rate', retryAfterMs);
    const t0 = performance.now();
    const queued = nextRelease.get(fspId) ?? 0;
    // +1 ms: the store's clock and this one differ by the round trip; released a little late, the request conforms.
    const slot = Math.max(t0 + retryAfterMs + 1, queued);
    if (queued > t0 + retryAfterMs && slot - t0 > holdMs) throw refusal(c, fspId, 'rate', retryAfterMs); // the queue is full
    const waitMs = Math.min(holdMs, slot - t0);
    // Swept like the Limiter's blocks, but always recorded: one entry per DFSP holding refusals.
    pruneDeadlines(nextRelease, 10_000, t0);
    nextRelease.set(fspId, t0 + waitMs + intervalMs);
    holding.add(socket);
    adjust(heldOf, fspId, 1);
    try {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          socket.off('close', done);
          resolve();
        };
        const timer = setTimeout(done, waitMs);
        socket.once('close', done);
      });
    } finally {
      holding.delete(socket);
      adjust(heldOf, fspId, -1);
    }
    // Node's timers run on a millisecond loop clock and may fire up to 1 ms before performance.now() says the
    // wait is over; the slot already waits 1 ms more than the store asked, so that millisecond is not a wait left
    // (CI of 2026-11-30 saw Retry-After 1 after a full hold).
    throw refusal(c, fspId, 'rate', Math.max(0, retryAfterMs - (performance.now() - t0) - 1));
  };

  const gauge = (fspId: string, delta: number) => {
    const n = adjust(inFlight, fspId, delta);
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
    // "/" before the class: FSP ids may hold ":" but never "/" (fspiop/headers.ts), so no id can name another's
    // class scope (review of 2026-11-30).
    const base = `${o.listener}:${fspId}`;

    const classScope = `${base}/${cls}`;

    const r1 = await o.limiter.consume(base, lim);
    if (!r1.ok) return refuseRate(c, fspId, r1.retryAfterMs, 1000 / lim.rps);
    if (classRule) {
      const r2 = await o.limiter.consume(classScope, classRule);
      if (!r2.ok) refuse(c, fspId, 'rate', r2.retryAfterMs);
    }

    const leases: Lease[] = [];
    try {
      for (const [scope, limit] of [
        [base, lim.concurrency],
        [classScope, classRule?.concurrency],
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
