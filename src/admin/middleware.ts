// Request-path glue of the admin capability: the quarantine guard the lead mounts right after peer
// binding on the inbound listener (docs/security.md class 5: a quarantined peer gets 2003/503, nothing else).

import { GatewayError } from '../errors.js';
import type { GatewayMiddleware } from '../http/context.js';
import { header } from '../http/context.js';
import type { AuditLog } from '../logging/audit.js';
import { windowedAudit } from '../logging/audit-window.js';
import type { Quarantine } from './quarantine.js';

/**
 * Rejects requests from a quarantined peer (the FSP id bound to the client certificate) or carrying a
 * quarantined FSPIOP-Source (so a relay such as the hub cannot carry a quarantined DFSP's messages).
 * Expects `peer` in the context when it exists; throws GatewayError('GW_PEER_QUARANTINED').
 * @example
 * app.use('*', bindPeer(...), quarantineGuard(quarantine, { audit }));
 */
export function quarantineGuard(q: Quarantine, options: QuarantineGuardOptions = {}): GatewayMiddleware {
  const refused = auditRefusals(options);
  return async function quarantineGuard(c, next) {
    const fspId = c.get('peer')?.fspId;
    const source = header(c, 'fspiop-source');
    const hit = fspId !== undefined && q.isQuarantined(fspId) ? fspId : source !== undefined && q.isQuarantined(source) ? source : undefined;
    if (hit !== undefined) {
      refused(c.get('requestId'), hit, c.get('peer')?.fingerprint256);
      throw new GatewayError('GW_PEER_QUARANTINED');
    }
    await next();
  };
}

/**
 * Records a quarantine refusal once per window of the FSP and the certificate (src/logging/audit-window.ts): a
 * quarantined peer is refused before its limits apply, so one record per request would let it write the audit trail at
 * its own rate.
 */
function auditRefusals(options: QuarantineGuardOptions): (requestId: string, fspId: string, peer?: string) => void {
  const audited = windowedAudit(options.auditWindowMs);
  const audit = options.audit;
  return (requestId, fspId, peer) =>
    audit &&
    audited(`${fspId}\n${peer ?? ''}`, (count, first) =>
      audit.record({
        event: 'peer_rejected',
        actor: 'peer',
        fspId,
        ...(peer === undefined ? {} : { peer }),
        reason: 'GW_PEER_QUARANTINED',
        count,
        ...(first ? { requestId } : {}),
      }),
    );
}

export interface QuarantineGuardOptions {
  readonly audit?: AuditLog;
  /** Tests: the audit window (default AUDIT_WINDOW_MS, src/logging/audit-window.ts). */
  readonly auditWindowMs?: number;
}

/**
 * Outbound listener: no delivery to a quarantined FSPIOP-Destination and none on behalf of a quarantined
 * FSPIOP-Source (the local side relaying for it). Header-only, so it runs first; GW_PEER_QUARANTINED (2003/503).
 */
export function quarantineOutboundGuard(q: Quarantine, options: QuarantineGuardOptions = {}): GatewayMiddleware {
  const refused = auditRefusals(options);
  return async function quarantineOutboundGuard(c, next) {
    const destination = header(c, 'fspiop-destination');
    const source = header(c, 'fspiop-source');
    const hit = destination !== undefined && q.isQuarantined(destination) ? destination : source !== undefined && q.isQuarantined(source) ? source : undefined;
    if (hit !== undefined) {
      refused(c.get('requestId'), hit);
      throw new GatewayError('GW_PEER_QUARANTINED', { detail: 'peer quarantined' });
    }
    await next();
  };
}
