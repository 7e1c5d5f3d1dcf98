// Wires OCSP from its config group (OCSP_*): one checker (one cache) shared by the client certificate gate
// and the stapler. Nothing is created when OCSP is off.
import type { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { ConfigGroups } from '../../config/schema.js';
import type { AuditLog } from '../../logging/audit.js';
import type { Telemetry } from '../../telemetry/types.js';
import { OcspChecker } from './checker.js';
import { type ClientRevocationGate, createClientGate } from './client-gate.js';
import { createStapler, type OcspRequestListener } from './stapling.js';

export interface OcspWiring {
  /** Present when OCSP_POLICY is soft or hard. */
  readonly gate: ClientRevocationGate | undefined;
  /** Present when OCSP_STAPLING is on: the inbound server's 'OCSPRequest' listener. */
  readonly stapler: OcspRequestListener | undefined;
}

export interface OcspDeps {
  readonly telemetry: Telemetry;
  readonly logger: { warn(o: object, msg: string): void; debug(o: object, msg: string): void; error(o: object, msg: string): void };
  readonly audit: AuditLog;
  /** The client CA certificates in force (they change on reload). */
  readonly caCerts: () => readonly X509Certificate[];
  /** TlsMaterial.presentedChain: what the client sent, also for a resumed session. */
  readonly presentedChain?: (socket: TLSSocket) => readonly Buffer[] | undefined;
}

export function openOcsp(o: ConfigGroups['ocsp'], deps: OcspDeps): OcspWiring {
  if (!o) return { gate: undefined, stapler: undefined };
  const checker = new OcspChecker(
    { timeoutMs: o.timeoutMs, cacheMaxSeconds: o.cacheMaxSeconds, errorCacheSeconds: o.errorCacheSeconds, nonce: o.nonce },
    { responder: (e) => deps.telemetry.ocspResponder(e) },
  );
  return {
    gate: o.client
      ? createClientGate(o.client, {
          checker,
          caCerts: deps.caCerts,
          ...(deps.presentedChain ? { presentedChain: deps.presentedChain } : {}),
          telemetry: deps.telemetry,
          logger: deps.logger,
          audit: deps.audit,
        })
      : undefined,
    stapler: o.stapling ? createStapler({ checker, telemetry: deps.telemetry, logger: deps.logger }) : undefined,
  };
}
