// Which key-exchange group a finished handshake used: the `group` label of switchguard_tls_handshakes_total
// (docs/runtime.md, "TLS groups"), so operators see how much traffic is quantum-safe.
// - Client side (the peer and upstream pools): tlsSocket.getEphemeralKeyInfo(), Node's documented API: on Node 24
//   { type: 'TLSGroup', name: 'X25519MLKEM768' } for the hybrid, { type: 'ECDH', name: 'X25519' | 'prime256v1' … }
//   for a classic group, { type: 'DH', size } for finite-field, {} when the exchange was not ephemeral.
// - Server side (the inbound listener): getEphemeralKeyInfo() returns null on a server socket (Node's docs say it is
//   client-only), and Node has no other call for it. The session does carry it: tlsSocket.getSession() returns
//   OpenSSL's DER encoding of the SSL_SESSION, whose SEQUENCE has the negotiated group's IANA code point as the
//   optional field [19] kex_group (OpenSSL ssl/ssl_asn1.c, SSL_SESSION_ASN1; set on every full or resumed
//   handshake, TLS 1.2 and 1.3). test/unit/tls/groups.test.ts checks both sides agree for every group the runtime has.
// Labels: a group of src/tls/groups.ts (its table name), `other` (a group outside that table), `none` (no ephemeral
// exchange, e.g. TLS 1.2 RSA key transport), `unknown` (the runtime gave no answer).
import type { TLSSocket } from 'node:tls';
import { groupNamed, groupOfId } from './groups.js';

/** The group a client socket negotiated (call after 'secureConnect'). */
export function clientNegotiatedGroup(socket: TLSSocket): string {
  const info = socket.getEphemeralKeyInfo() as { type?: unknown; name?: unknown; size?: unknown } | null;
  if (info === null || typeof info !== 'object') return 'unknown';
  if (info.type === undefined) return 'none';
  if ((info.type === 'ECDH' || info.type === 'TLSGroup') && typeof info.name === 'string') {
    // A brainpool curve reports its curve name; in TLS 1.3 it was the group of RFC 8734 (code points 31-33).
    const tls13 = info.type === 'ECDH' && /^brainpoolP\d+r1$/.test(info.name) && socket.getProtocol() === 'TLSv1.3';
    return groupNamed(tls13 ? `${info.name}tls13` : info.name)?.name ?? 'other';
  }
  // Finite-field: TLS 1.3 allows only the named ffdhe groups (RFC 8446 4.2.7), so the size names one; a TLS 1.2 DHE
  // prime is the server's choice and names none.
  if (info.type === 'DH' && socket.getProtocol() === 'TLSv1.3') return groupNamed(`ffdhe${String(info.size)}`)?.name ?? 'other';
  return 'other';
}

/** The group a server socket negotiated (call on 'secureConnection'), read from its session's kex_group. */
export function serverNegotiatedGroup(socket: TLSSocket): string {
  const session = socket.getSession();
  const id = session ? sessionKexGroup(session) : undefined; // a closed socket has none (null)
  if (id === undefined) return 'unknown';
  if (id === 0) return 'none';
  return groupOfId(id)?.name ?? 'other';
}

/**
 * The kex_group field ([19] EXPLICIT INTEGER) of a DER-encoded SSL_SESSION, or undefined when the encoding is
 * not a SEQUENCE with that field. Reads only what it needs and never past the buffer.
 */
export function sessionKexGroup(der: Uint8Array): number | undefined {
  const seq = tlv(der, 0);
  if (seq?.tag !== 0x30) return undefined;
  for (let at = seq.start; at < seq.end; ) {
    const item = tlv(der, at, seq.end);
    if (!item) return undefined;
    if (item.tag === 0xb3) {
      // context-specific, constructed, number 19
      const int = tlv(der, item.start, item.end);
      if (int?.tag !== 0x02 || int.end - int.start < 1 || int.end - int.start > 5) return undefined;
      let v = 0;
      for (let i = int.start; i < int.end; i++) v = v * 256 + der[i]!;
      return v;
    }
    at = item.end;
  }
  return undefined;
}

/** One DER tag-length-value at `at` (single-byte tags, definite lengths up to 4 bytes), inside `limit`. */
function tlv(der: Uint8Array, at: number, limit = der.length): { tag: number; start: number; end: number } | undefined {
  if (at + 2 > limit) return undefined;
  const tag = der[at]!;
  let len = der[at + 1]!;
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > limit) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[start + i]!;
    start += n;
  }
  const end = start + len;
  return end > limit ? undefined : { tag, start, end };
}
