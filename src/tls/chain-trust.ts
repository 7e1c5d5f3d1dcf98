// An open connection's client chain judged again after a change of trust (material.ts): a reload whose CRLs
// revoke a certificate of it, or whose CA bundle no longer holds its CA, closes it.
//
// The chain is the one node reports (getPeerCertificate(true)): the certificates the client presented, linked by
// name and key identifier only, then completed with CAs of the context the connection was accepted with. node
// checks no signature when it links them, and OpenSSL, which looks in its trust store first, may have verified
// another chain. So a client could append a certificate with a CA's name and key but a forged signature, which
// OpenSSL ignores and node links. Every link is therefore verified here before the chain is judged, and a chain
// with a link that does not verify counts as broken (hostile review of 2026-12-01).
import { X509Certificate } from 'node:crypto';
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';
import { type CrlInfo, certificateSerial } from './crl.js';

/**
 * Certificates of a client's chain (the leaf, presented CAs and those node completed it with) at most. Real
 * chains hold 2 to 4; node links a padded chain certificate by certificate, which costs about 0.25 ms each.
 */
export const MAX_CHAIN = 10;

/** Why an open connection is closed on a change of trust. */
export type ClosedReason = 'crl_revoked' | 'ca_removed' | 'chain_unverifiable' | 'chain_too_long';

/** A client chain as captured at the handshake (leaf first); checked on first use, then kept. */
export interface PeerChain {
  /** The leaf's SHA-256 fingerprint, as node reports it. */
  readonly leaf: string;
  readonly raws: readonly Buffer[];
  /** More than MAX_CHAIN certificates: captured no further. */
  readonly tooLong: boolean;
  /** chainNotAfter's answer, once asked. */
  notAfter?: number | undefined;
  /** The raws parsed, once (parsed()); chainNotAfter and brokenChain both read them. */
  parsed?: readonly X509Certificate[] | undefined;
  checked?: CheckedChain | undefined;
}

type CheckedChain =
  | { readonly ok: true; readonly certs: readonly X509Certificate[]; readonly serials: readonly string[]; readonly keys: readonly string[] }
  | { readonly ok: false };

/** The client chain of `socket`, or undefined when the client presented no certificate (no mTLS). */
export function capturePeerChain(socket: TLSSocket): PeerChain | undefined {
  const raws: Buffer[] = [];
  const seen = new Set<string>();
  const first = socket.getPeerCertificate(true) as DetailedPeerCertificate | undefined;
  for (let c = first; c?.raw && c.raw.length > 0 && !seen.has(c.fingerprint256); c = c.issuerCertificate) {
    if (raws.length === MAX_CHAIN) return { leaf: first?.fingerprint256 ?? '', raws, tooLong: true };
    seen.add(c.fingerprint256);
    raws.push(c.raw);
  }
  return raws.length === 0 ? undefined : { leaf: first?.fingerprint256 ?? '', raws, tooLong: false };
}

/**
 * When the first certificate of a client chain expires (epoch ms), following node's links only while each one issued
 * the one below it: node links the first certificate matching a name and key identifier, which need not be the one
 * OpenSSL verified through (an expired older intermediate of the same name, a look-alike), and such a link and what
 * lies above it say nothing of the chain the handshake accepted. Computed once per chain. An unreadable certificate
 * or date counts as expired (fail closed).
 */
export function chainNotAfter(chain: PeerChain, cas: readonly X509Certificate[]): number {
  if (chain.notAfter !== undefined) return chain.notAfter;
  let notAfter = chain.tooLong ? 0 : Number.POSITIVE_INFINITY;
  try {
    const certs = parsed(chain);
    let top: X509Certificate | undefined;
    for (const [k, cert] of certs.entries()) {
      if (k > 0 && !issuedBy(certs[k - 1]!, cert)) break;
      notAfter = Math.min(notAfter, Date.parse(cert.validTo) || 0);
      top = cert;
    }
    // Above what node linked, the trusted CAs that issued it. Node 24 links nothing above the client's leaf (it shows
    // the leaf alone), so there the bundle's CAs are the only chain the gateway sees.
    for (let k = 0; top !== undefined && k < MAX_CHAIN && !issuedBy(top, top); k++) {
      const below: X509Certificate = top;
      top = cas.find((ca) => !ca.raw.equals(below.raw) && issuedBy(below, ca));
      if (top !== undefined) notAfter = Math.min(notAfter, Date.parse(top.validTo) || 0);
    }
  } catch {
    notAfter = 0;
  }
  chain.notAfter = notAfter;
  return notAfter;
}

/** A CA's identity for "is it still in the bundle": its subject and public key (a re-issued CA keeps both). */
export function caIdentity(cert: X509Certificate): string {
  return `${cert.subject}\n${cert.publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`;
}

/** The identities of `before` (caIdentity of each CA) that `after` does not hold. */
export function removedCaIdentities(before: readonly string[], after: readonly string[]): string[] {
  const kept = new Set(after);
  return [...new Set(before)].filter((id) => !kept.has(id));
}

/**
 * Whether `ca` issued `cert`: its issuer names `ca` and `ca`'s key verifies its signature. node's checkIssued
 * (X509_check_issued) also compares an authority key identifier that names the issuer's own issuer and serial
 * (`keyid,issuer:always`), which a CA re-issued under the same name and key no longer matches although OpenSSL
 * builds and judges the chain with it: the name is compared directly too (hostile review of 2026-12-01).
 */
const namesIssuer = (cert: X509Certificate, ca: X509Certificate): boolean => cert.issuer === ca.subject || cert.checkIssued(ca);
export const issuedBy = (cert: X509Certificate, ca: X509Certificate): boolean => namesIssuer(cert, ca) && cert.verify(ca.publicKey);

/** The chain's certificates, parsed on first use (throws when one does not parse: callers fail closed). */
function parsed(chain: PeerChain): readonly X509Certificate[] {
  chain.parsed ??= chain.raws.map((raw) => new X509Certificate(raw));
  return chain.parsed;
}

/** Parses the chain and verifies each link (and a self-issued top's own signature); anything else is refused. */
function check(chain: PeerChain): CheckedChain {
  if (chain.tooLong) return { ok: false };
  try {
    const certs = parsed(chain);
    for (let i = 0; i + 1 < certs.length; i++) if (!issuedBy(certs[i] as X509Certificate, certs[i + 1] as X509Certificate)) return { ok: false };
    const top = certs.at(-1) as X509Certificate;
    if (namesIssuer(top, top) && !top.verify(top.publicKey)) return { ok: false };
    return { ok: true, certs, serials: chain.raws.map(certificateSerial), keys: certs.map(caIdentity) };
  } catch {
    return { ok: false }; // OpenSSL accepted the handshake, but what node reports cannot be read: not judged sound
  }
}

/** What a chain is held to after a change of trust. */
export interface Trust {
  readonly crls: readonly CrlInfo[];
  /** The self-signed CAs of the bundle when its CAs must be checked; undefined: the CRLs only. */
  readonly anchors: readonly X509Certificate[] | undefined;
  /** Identities (caIdentity) of CAs removed from the bundle. */
  readonly removed: ReadonlySet<string>;
}

/**
 * Why `chain` no longer holds under `trust`, or undefined when it does:
 *   - chain_too_long, chain_unverifiable: more than MAX_CHAIN certificates, or a link whose signature does not
 *     verify, or a certificate that does not parse: not judged sound (fail closed);
 *   - crl_revoked: a CRL lists the serial of one of its certificates (the DER INTEGER bytes) and the CRL's CA
 *     issued it (name matching and the CA's signature);
 *   - ca_removed: it holds a CA removed from the bundle (by subject and key, so a CA re-issued with both kept
 *     is not removed; node completes a chain with the CAs of the context the connection was accepted with, so
 *     an intermediate taken from the old bundle shows here as well as a removed root), or none of its
 *     certificates is, or was issued and signed by, a self-signed CA of the bundle. OpenSSL as node configures
 *     it accepts only self-signed anchors (no partial chains), so an intermediate left in the bundle after its
 *     root was removed anchors nothing, for new handshakes and here.
 * A client closed although a new handshake would pass (it sent a removed intermediate itself, say) is served
 * again after one: the handshake decides.
 */
export function brokenChain(chain: PeerChain, trust: Trust): ClosedReason | undefined {
  chain.checked ??= check(chain);
  const c = chain.checked;
  if (!c.ok) return chain.tooLong ? 'chain_too_long' : 'chain_unverifiable';
  for (const [i, serial] of c.serials.entries()) {
    const cert = c.certs[i] as X509Certificate;
    if (trust.crls.some((crl) => crl.revoked.has(serial) && crl.cas.some((ca) => issuedBy(cert, ca)))) return 'crl_revoked';
  }
  const anchors = trust.anchors;
  if (anchors === undefined) return undefined;
  if (c.keys.some((k) => trust.removed.has(k))) return 'ca_removed';
  const anchored = c.certs.some((cert) => anchors.some((ca) => cert.fingerprint256 === ca.fingerprint256 || issuedBy(cert, ca)));
  return anchored ? undefined : 'ca_removed';
}
