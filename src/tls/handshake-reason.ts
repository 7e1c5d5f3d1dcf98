// Folds a failed inbound TLS handshake into a bounded reason label (metrics, audit). Two outcomes are
// not handshake failures: 'probe' (the TCP connection closed before the client sent a byte: a load
// balancer's health check or a port scan) and 'handshake_timeout' (counted by listener-limits.ts).
import type { TLSSocket } from 'node:tls';

export type HandshakeReason =
  | 'probe'
  | 'handshake_timeout'
  | 'no_certificate'
  | 'unknown_ca'
  | 'expired'
  | 'not_yet_valid'
  | 'revoked'
  | 'bad_purpose'
  | 'protocol_version'
  | 'reset'
  | 'other';

export function handshakeReason(err: { code?: string } | undefined, socket: TLSSocket | undefined): HandshakeReason {
  if (err?.code === 'ERR_TLS_HANDSHAKE_TIMEOUT') return 'handshake_timeout';
  const auth = socket?.authorizationError as unknown as string | null | undefined;
  // Bytes the client sent on the underlying TCP socket (node keeps it as the TLS socket's _parent).
  const received = (socket as { _parent?: { bytesRead?: number } } | undefined)?._parent?.bytesRead;
  if (!auth && received === 0) return 'probe';
  switch (auth) {
    case 'CERT_REVOKED':
      return 'revoked';
    case 'CERT_HAS_EXPIRED':
      return 'expired';
    case 'CERT_NOT_YET_VALID':
      return 'not_yet_valid';
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'CERT_SIGNATURE_FAILURE':
      return 'unknown_ca';
    case 'INVALID_PURPOSE':
      return 'bad_purpose';
    default:
      break;
  }
  const code = err?.code ?? '';
  if (code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE') return 'no_certificate';
  if (/VERSION|PROTOCOL/.test(code)) return 'protocol_version';
  if (code === 'ECONNRESET') return 'reset';
  return 'other';
}
