// Folds a failed inbound TLS handshake into a bounded reason label (metrics, audit).
import type { TLSSocket } from 'node:tls';

export type HandshakeReason = 'no_certificate' | 'unknown_ca' | 'expired' | 'not_yet_valid' | 'revoked' | 'protocol_version' | 'reset' | 'other';

export function handshakeReason(err: { code?: string } | undefined, socket: TLSSocket | undefined): HandshakeReason {
  const auth = socket?.authorizationError as unknown as string | null | undefined;
  switch (auth) {
    case 'CERT_REVOKED': return 'revoked';
    case 'CERT_HAS_EXPIRED': return 'expired';
    case 'CERT_NOT_YET_VALID': return 'not_yet_valid';
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE': case 'UNABLE_TO_GET_ISSUER_CERT': case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'SELF_SIGNED_CERT_IN_CHAIN': case 'DEPTH_ZERO_SELF_SIGNED_CERT': case 'CERT_SIGNATURE_FAILURE':
      return 'unknown_ca';
    default: break;
  }
  const code = err?.code ?? '';
  if (code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE') return 'no_certificate';
  if (/VERSION|PROTOCOL/.test(code)) return 'protocol_version';
  if (code === 'ECONNRESET') return 'reset';
  return 'other';
}
