// OCSP for inbound client certificates (docs/security.md, "Client certificate revocation"). Node's TLS
// server knows the peer certificate only once the handshake is done, so the check runs per connection:
//   - it starts on 'secureConnection' (src/http/listeners.ts calls begin()), so the responder is asked while
//     the client sends its first request;
//   - the peer-binding stage awaits the verdict (admit()) before anything else looks at the request: no
//     request is served on a connection whose status is not settled (fail closed). The wait is bounded by
//     OCSP_TIMEOUT_MS; after it the status is "error" (timeout) and the policy decides;
//   - a refused connection is closed at once, whether a request is waiting or not (as a handshake refusal
//     would have), audited as peer_rejected with reason ocsp_<outcome>, and counted.
// Policy (OCSP_POLICY): revoked is refused under soft and hard; unknown and error (no responder, unreachable,
// timeout, an answer that is stale, for another certificate, or not signed by the issuer or its authorised
// responder) are admitted under soft, refused under hard. off: this module is not wired at all.
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { GatewayError } from '../../errors.js';
import type { AuditLog } from '../../logging/audit.js';
import type { Telemetry } from '../../telemetry/types.js';
import type { OcspChecker, OcspResult } from './checker.js';
import { ocspUrlsOf } from './protocol.js';

export type OcspPolicy = 'soft' | 'hard';

export interface ClientRevocationGate {
  /** Starts the status check of the socket's client certificate (once per socket). */
  begin(socket: TLSSocket): void;
  /** Resolves when the connection may be served; throws GW_PEER_CERT_REVOKED / GW_PEER_CERT_STATUS_UNKNOWN when it is refused (the socket is closed). */
  admit(socket: TLSSocket): Promise<void>;
}

export interface ClientGateOptions {
  readonly policy: OcspPolicy;
  /** OCSP_RESPONDER_URL: asked instead of the certificate's AIA responders. */
  readonly responderUrl: string | undefined;
}

export interface ClientGateDeps {
  readonly checker: OcspChecker;
  /** The trusted client CA certificates in force (the issuer is looked up here when the peer did not send it). */
  readonly caCerts: () => readonly X509Certificate[];
  readonly telemetry: Pick<Telemetry, 'ocspCheck'>;
  readonly logger: { warn(o: object, msg: string): void; debug(o: object, msg: string): void };
  readonly audit: AuditLog;
}

interface Verdict {
  readonly admit: boolean;
  readonly result: OcspResult;
}

interface DetailedCert {
  raw?: Buffer;
  issuerCertificate?: DetailedCert;
}

export function createClientGate(o: ClientGateOptions, deps: ClientGateDeps): ClientRevocationGate {
  const verdicts = new WeakMap<TLSSocket, Promise<Verdict>>();

  const decide = async (socket: TLSSocket): Promise<Verdict> => {
    const result = await statusOf(socket);
    const admit = result.outcome === 'good' || (result.outcome !== 'revoked' && o.policy === 'soft');
    deps.telemetry.ocspCheck({ outcome: result.outcome, decision: admit ? 'allow' : 'refuse' });
    const fingerprint = fingerprintOf(socket);
    const log = {
      event: 'ocsp_check',
      outcome: result.outcome,
      reason: result.reason,
      cached: result.cached,
      policy: o.policy,
      peer: fingerprint,
      detail: result.detail,
    };
    if (!admit) {
      deps.logger.warn({ ...log, decision: 'refuse', remote: socket.remoteAddress }, 'client certificate refused by its OCSP status; connection closed');
      deps.audit.record({ event: 'peer_rejected', actor: 'peer', peer: fingerprint ?? socket.remoteAddress ?? 'unknown', reason: `ocsp_${result.outcome}` });
      socket.destroy();
    } else if (result.outcome !== 'good' && !result.cached) {
      deps.logger.warn({ ...log, decision: 'allow' }, 'client certificate status unknown; admitted under OCSP_POLICY=soft');
    } else deps.logger.debug({ ...log, decision: 'allow' }, 'client certificate OCSP status');
    return { admit, result };
  };

  const statusOf = async (socket: TLSSocket): Promise<OcspResult> => {
    let leaf: X509Certificate;
    let issuer: X509Certificate | undefined;
    try {
      const cert = socket.getPeerCertificate(true) as DetailedCert;
      if (!cert?.raw) return local('malformed', 'no client certificate');
      leaf = new X509Certificate(cert.raw);
      issuer = issuerOf(leaf, cert.issuerCertificate, deps.caCerts());
    } catch (e) {
      return local('malformed', `client certificate unreadable: ${(e as Error).message}`);
    }
    if (!issuer) return local('no_issuer', 'the issuer of the client certificate is not among the trusted CA certificates');
    const urls = o.responderUrl !== undefined ? [o.responderUrl] : ocspUrlsOf(leaf);
    return deps.checker.status({ leaf, issuer }, urls, 'client');
  };

  const begin = (socket: TLSSocket): Promise<Verdict> => {
    let v = verdicts.get(socket);
    if (!v) {
      v = decide(socket);
      verdicts.set(socket, v);
    }
    return v;
  };

  return {
    begin(socket) {
      void begin(socket);
    },
    async admit(socket) {
      const v = await begin(socket);
      if (v.admit) return;
      throw v.result.outcome === 'revoked'
        ? new GatewayError('GW_PEER_CERT_REVOKED', { detail: 'Client certificate is revoked' })
        : new GatewayError('GW_PEER_CERT_STATUS_UNKNOWN', {
            detail: 'Client certificate status could not be established',
            context: { reason: v.result.reason },
          });
    },
  };
}

/** The certificate that issued `leaf`: the next one of the peer's chain, else a trusted CA; checked by name and signature. */
function issuerOf(leaf: X509Certificate, sent: DetailedCert | undefined, cas: readonly X509Certificate[]): X509Certificate | undefined {
  const issued = (c: X509Certificate) => leaf.checkIssued(c) && leaf.verify(c.publicKey);
  if (sent?.raw && !sent.raw.equals(leaf.raw)) {
    const c = new X509Certificate(sent.raw);
    if (issued(c)) return c;
  }
  return cas.find(issued);
}

function fingerprintOf(socket: TLSSocket): string | undefined {
  try {
    return (socket.getPeerCertificate() as { fingerprint256?: string }).fingerprint256;
  } catch {
    return undefined;
  }
}

/** A lookup that ended before any responder was asked. */
const local = (reason: 'malformed' | 'no_issuer', detail: string): OcspResult => ({
  outcome: 'error',
  reason,
  answer: undefined,
  der: undefined,
  cached: false,
  detail,
});
