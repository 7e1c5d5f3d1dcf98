// OCSP stapling for the inbound server certificate (RFC 6066 §8, status_request): node's TLS server emits
// 'OCSPRequest' when a client asks, with the server certificate and its issuer (found in the certificate
// chain or the CA bundle of the secure context); the answer passed to the callback goes into the handshake.
// The server certificate's status comes from the responder of its AIA extension through the shared
// checker (cached until nextUpdate, refreshed in the background past half its life, each fetch bounded by
// OCSP_TIMEOUT_MS, so a handshake waits at most that long, and only when no answer is cached). Only a
// verified answer (good, or revoked: clients must see that too) is stapled; otherwise the handshake goes
// on without one. https://nodejs.org/api/tls.html#event-ocsprequest
import { X509Certificate } from 'node:crypto';
import type { Telemetry } from '../../telemetry/types.js';
import type { OcspChecker } from './checker.js';
import { ocspUrlsOf } from './protocol.js';

/** node's 'OCSPRequest' listener signature. */
export type OcspRequestListener = (certificate: Buffer, issuer: Buffer | null | undefined, callback: (err: Error | null, response?: Buffer) => void) => void;

export interface StaplerDeps {
  readonly checker: OcspChecker;
  readonly telemetry: Pick<Telemetry, 'ocspStaple'>;
  readonly logger: { warn(o: object, msg: string): void; error(o: object, msg: string): void };
}

export function createStapler(deps: StaplerDeps): OcspRequestListener {
  // A missing issuer or responder is a property of the certificate: said once per certificate, not per handshake.
  const told = new Set<string>();
  const once = (key: string, f: () => void) => {
    if (told.has(key)) return;
    if (told.size > 100) told.clear();
    told.add(key);
    f();
  };
  return (certificate, issuerDer, callback) => {
    const none = () => {
      deps.telemetry.ocspStaple({ stapled: false });
      callback(null);
    };
    let leaf: X509Certificate;
    let issuer: X509Certificate;
    try {
      leaf = new X509Certificate(certificate);
      if (!issuerDer || issuerDer.length === 0) {
        once(`${leaf.fingerprint256}/issuer`, () =>
          deps.logger.warn(
            { event: 'ocsp_staple', outcome: 'none', reason: 'no_issuer', fingerprint: leaf.fingerprint256 },
            'no OCSP staple: the server certificate chain does not include its issuer (add it to IN_SERVER_CERT_PATH)',
          ),
        );
        return none();
      }
      issuer = new X509Certificate(issuerDer);
    } catch {
      return none();
    }
    const urls = ocspUrlsOf(leaf);
    if (urls.length === 0) {
      once(`${leaf.fingerprint256}/aia`, () =>
        deps.logger.warn(
          { event: 'ocsp_staple', outcome: 'none', reason: 'no_responder', fingerprint: leaf.fingerprint256 },
          'no OCSP staple: the server certificate names no OCSP responder (AIA)',
        ),
      );
      return none();
    }
    deps.checker.status({ leaf, issuer }, urls, 'staple').then(
      (r) => {
        if (!r.der || r.outcome === 'error' || r.outcome === 'unknown') {
          if (!r.cached) deps.logger.warn({ event: 'ocsp_staple', outcome: r.outcome, reason: r.reason, detail: r.detail }, 'no OCSP staple this time');
          return none();
        }
        if (r.outcome === 'revoked' && !r.cached)
          deps.logger.error({ event: 'ocsp_staple', outcome: 'revoked', fingerprint: leaf.fingerprint256 }, 'the server certificate is revoked by its CA');
        deps.telemetry.ocspStaple({ stapled: true });
        callback(null, Buffer.from(r.der));
      },
      () => none(),
    );
  };
}
