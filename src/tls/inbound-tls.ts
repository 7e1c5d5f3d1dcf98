// The inbound listener's TLS material, watched and reloaded without a restart (docs/architecture.md): every reload
// is counted, logged and audited, and the certificates' expiry is exported so alerts fire before they lapse.
import type { ConfigGroups } from '../config/schema.js';
import type { AuditLog } from '../logging/audit.js';
import type { Telemetry } from '../telemetry/types.js';
import { type ClosedReason, MAX_CHAIN } from './chain-trust.js';
import { type ClosedConnection, TlsReloader } from './material.js';

export interface InboundTlsDeps {
  readonly telemetry: Telemetry;
  readonly onError: (what: string) => (err: unknown) => void;
  readonly logger: { info(o: object, msg: string): void; error(o: object, msg: string): void };
  readonly audit: AuditLog;
}

/** The log event and message of a connection closed by a change of trust (src/tls/chain-trust.ts). */
const CLOSED_LOG: Readonly<Record<ClosedReason, readonly [string, string]>> = {
  crl_revoked: ['revoked_connection_closed', 'connection of a certificate the current CRLs revoke closed'],
  ca_removed: ['untrusted_connection_closed', 'connection of a certificate whose CA was removed closed'],
  chain_unverifiable: ['untrusted_connection_closed', 'connection whose client chain does not verify link by link closed'],
  chain_too_long: ['untrusted_connection_closed', `connection whose client chain holds more than ${MAX_CHAIN} certificates closed`],
};

/** Loads the inbound TLS files (throws when they do not parse) and starts watching them. Close the result. */
export function openInboundTls(o: ConfigGroups['inboundTls'], deps: InboundTlsDeps): TlsReloader {
  const { telemetry, logger, audit } = deps;
  let stagedFile: string | undefined;
  const reportExpiry = (t: TlsReloader) => {
    telemetry.expiry({ kind: 'tls_server', file: o.certPath, notAfter: Date.parse(t.current.serverCert.validTo) / 1000 });
    // A staged server certificate (src/tls/staged.ts): its notAfter and activation while it waits.
    const pending = t.current.pending;
    if (stagedFile !== undefined && stagedFile !== pending?.certPath) {
      telemetry.expiry({ kind: 'tls_server', file: stagedFile, notAfter: undefined });
      telemetry.certificateActivation({ kind: 'tls_server', file: stagedFile, activateAt: undefined });
    }
    stagedFile = pending?.certPath;
    if (pending) {
      telemetry.expiry({ kind: 'tls_server', file: pending.certPath, notAfter: Date.parse(pending.certificate.validTo) / 1000 });
      telemetry.certificateActivation({ kind: 'tls_server', file: pending.certPath, activateAt: pending.activateAt / 1000 });
    }
    if (t.current.stagedError) {
      logger.error({ event: 'certificate_reload_failed', err: t.current.stagedError }, 'staged server certificate refused; keeping the configured one');
      audit.record({ event: 'certificate_reload_failed', actor: 'gateway', file: o.certPath, reason: 'staged_certificate_refused' });
    }
    if (o.clientCa) {
      const caPath = o.clientCa.caPath;
      for (const [i, ca] of t.current.caCerts.entries()) telemetry.expiry({ kind: 'tls_ca', file: `${caPath}#${i}`, notAfter: Date.parse(ca.validTo) / 1000 });
    }
  };
  const tls: TlsReloader = new TlsReloader(
    { certPath: o.certPath, keyPath: o.keyPath, caPath: o.clientCa?.caPath, crlPath: o.clientCa?.crlPath },
    { minVersion: o.minVersion, ecdhCurve: o.ecdhCurve },
    (e) => {
      if (e.outcome === 'unchanged') return;
      const closed = (c: ClosedConnection): void => {
        const [event, msg] = CLOSED_LOG[c.reason];
        logger.error({ event, peer: c.fingerprint, reason: c.reason }, msg);
        audit.record({ event: 'peer_rejected', actor: 'peer', peer: c.fingerprint, reason: c.reason });
      };
      if (e.outcome === 'closed') {
        closed(e.closed);
        return;
      }
      telemetry.reload({ what: 'tls', outcome: e.outcome });
      if (e.outcome === 'ok') {
        logger.info({ event: 'certificate_reloaded', file: e.loaded.certPath }, 'TLS material reloaded');
        audit.record({
          event: 'certificate_reloaded',
          actor: 'gateway',
          file: e.loaded.certPath,
          fingerprint: e.loaded.serverCert.fingerprint256,
          notAfter: new Date(e.loaded.serverCert.validTo).toISOString(),
        });
        reportExpiry(tls);
        for (const c of e.closed) closed(c);
      } else {
        logger.error({ event: 'certificate_reload_failed', err: e.error }, 'TLS reload refused; keeping the previous certificates');
        audit.record({ event: 'certificate_reload_failed', actor: 'gateway', file: o.certPath, reason: 'unparsable_or_mismatched' });
      }
    },
  );
  reportExpiry(tls);
  tls.watch(o.reloadIntervalMs, deps.onError('watching the TLS files failed; the periodic rescan still covers them'));
  return tls;
}
