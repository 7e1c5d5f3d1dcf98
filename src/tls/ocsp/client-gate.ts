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
// The issuer, which the OCSP request names (RFC 6960 §4.1.1 CertID), is the certificate among those the client sent
// (on a resumed session: sent in the leaf's last full handshake, src/tls/material.ts) or the trusted CAs whose key
// verifies the leaf's signature. Hostile review of 2026-12-02: with the issuer taken from node's first link only,
// a resumed session (it carries the leaf alone) or a chain with a look-alike issuer (the real one's subject and key
// identifier, the client's own key; node links it, OpenSSL verifies through the real one) had no issuer, and soft
// admitted a revoked certificate. A sent certificate that names the leaf's issuer but does not verify it is
// refused under both policies (forged_issuer): no honest client sends one.
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { GatewayError } from '../../errors.js';
import type { AuditLog } from '../../logging/audit.js';
import type { Telemetry } from '../../telemetry/types.js';
import { capturePeerChain, issuedBy } from '../chain-trust.js';
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
  /** The certificates (DER, leaf first) the client sent; on a resumed session, in its leaf's last full handshake. */
  readonly presentedChain?: (socket: TLSSocket) => readonly Buffer[] | undefined;
  readonly telemetry: Pick<Telemetry, 'ocspCheck'>;
  readonly logger: { warn(o: object, msg: string): void; debug(o: object, msg: string): void };
  readonly audit: AuditLog;
}

interface Verdict {
  readonly admit: boolean;
  readonly result: OcspResult;
}

export function createClientGate(o: ClientGateOptions, deps: ClientGateDeps): ClientRevocationGate {
  const verdicts = new WeakMap<TLSSocket, Promise<Verdict>>();

  const decide = async (socket: TLSSocket): Promise<Verdict> => {
    const result = await statusOf(socket);
    const admit = result.outcome === 'good' || (result.outcome !== 'revoked' && result.reason !== 'forged_issuer' && o.policy === 'soft');
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
      // The chain the client sent, as src/tls/material.ts captured it at the handshake; else what node links
      // (chain-trust.ts capturePeerChain: bounded, loop-safe), walked only then.
      const raw = socket.getPeerCertificate()?.raw;
      if (!raw) return local('malformed', 'no client certificate');
      leaf = new X509Certificate(raw);
      const presented = deps.presentedChain?.(socket);
      const sent = (presented?.[0]?.equals(raw) ? presented : (capturePeerChain(socket)?.raws ?? [])).slice(1);
      const found = issuerOf(leaf, sent, deps.caCerts());
      if (found === 'forged') return local('forged_issuer', 'the certificate linked as the issuer of the client certificate did not sign it');
      issuer = found;
    } catch (e) {
      return local('malformed', `client certificate unreadable: ${(e as Error).message}`);
    }
    if (!issuer) return local('no_issuer', 'the issuer of the client certificate is neither among the certificates it sent nor the trusted CA certificates');
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

/**
 * The certificate that issued `leaf`: one the client sent, else a trusted CA, whose key verifies the leaf's signature
 * (chain-trust.ts issuedBy). 'forged' when none does but node linked a certificate above the leaf: node links the
 * first one whose name (compared without case) and key identifier match the leaf's issuer, and keeps no other, so a
 * look-alike sent before the real issuer hides it whatever the spelling of its name (re-review of 2026-12-02). An
 * honest client whose chain file lists an old certificate of its issuer's name before the current one, for a leaf
 * without an authority key identifier, is refused too (docs/security.md class 12): it sends its current chain only.
 */
function issuerOf(leaf: X509Certificate, sent: readonly Buffer[], cas: readonly X509Certificate[]): X509Certificate | 'forged' | undefined {
  const certs = sent.filter((raw) => !raw.equals(leaf.raw)).map((raw) => new X509Certificate(raw));
  const found = certs.find((c) => issuedBy(leaf, c)) ?? cas.find((c) => issuedBy(leaf, c));
  if (found !== undefined) return found;
  return certs.length > 0 ? 'forged' : undefined;
}

function fingerprintOf(socket: TLSSocket): string | undefined {
  try {
    return (socket.getPeerCertificate() as { fingerprint256?: string }).fingerprint256;
  } catch {
    return undefined;
  }
}

/** A lookup that ended before any responder was asked. */
const local = (reason: 'malformed' | 'no_issuer' | 'forged_issuer', detail: string): OcspResult => ({
  outcome: 'error',
  reason,
  answer: undefined,
  der: undefined,
  cached: false,
  detail,
});
