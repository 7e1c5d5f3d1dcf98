// The CA bundle and CRL files of the inbound listener, read strictly before they reach OpenSSL. Node's
// createSecureContext() accepts a CA file with no certificate in it, and reads only the FIRST CRL of a buffer,
// so a truncated CA bundle was a silent outage and a second CRL in IN_CRL_PATH was silently ignored. Here:
//   - every PEM block must be complete and of the expected type, and at least one must be there;
//   - every CRL is passed to OpenSSL (an array), each read (RFC 5280 §5.1, the @peculiar/asn1-x509 schema, as
//     src/tls/ocsp/protocol.ts reads OCSP) for its issuer, its validity and the serial numbers it revokes;
//   - a CRL past its nextUpdate is refused (OpenSSL would refuse every certificate of its issuer), and two CRLs
//     of one issuer are refused (OpenSSL would use one of them and ignore the other's revocations).
// The revoked serials let a reload close the connections of certificates it revokes (material.ts).
import { X509Certificate } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate, CertificateList, type Name } from '@peculiar/asn1-x509';

/** One CRL of IN_CRL_PATH, as far as the gateway reads it. */
export interface CrlInfo {
  readonly pem: string;
  /** The issuer Name, DER, hex: equal to the subject DER of the CA that issued it. */
  readonly issuer: string;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date | undefined;
  /** Revoked serial numbers, upper-case hex without leading zeros (as node's X509Certificate.serialNumber, trimmed). */
  readonly revoked: ReadonlySet<string>;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/** The complete PEM blocks of `text` with the given label; throws when a block is incomplete or of another type. */
function pemBlocks(text: string, label: string, what: string): string[] {
  const begins = text.match(/-----BEGIN [^-]*-----/g)?.length ?? 0;
  const out: string[] = [];
  for (const m of text.matchAll(BLOCK)) {
    if (m[1] !== label) throw new Error(`${what}: holds a ${m[1]} block, not only ${label}`);
    out.push(m[0]);
  }
  if (out.length !== begins) throw new Error(`${what}: ${begins - out.length} incomplete PEM block(s) (truncated file?)`);
  if (out.length === 0) throw new Error(`${what}: no ${label} in it`);
  return out;
}

/** The CA certificates of a CA bundle file: at least one, every block complete. */
export function readCaBundle(text: string): X509Certificate[] {
  return pemBlocks(text, 'CERTIFICATE', 'CA file').map((p, i) => {
    try {
      return new X509Certificate(p);
    } catch (e) {
      throw new Error(`CA file: certificate ${i + 1} does not parse: ${(e as Error).message}`);
    }
  });
}

const hex = (b: ArrayBuffer): string => Buffer.from(b).toString('hex').toUpperCase();
const nameHex = (n: Name): string => hex(AsnConvert.serialize(n));

/** Reads one PEM CRL (RFC 5280 §5.1) with the @peculiar/asn1-x509 schema. Throws on anything it cannot read. */
export function readCrl(pem: string): CrlInfo {
  const der = Buffer.from(pem.replace(/-----(BEGIN|END) X509 CRL-----/g, '').replace(/\s+/g, ''), 'base64');
  const tbs = AsnConvert.parse(der, CertificateList).tbsCertList;
  return {
    pem,
    issuer: nameHex(tbs.issuer),
    thisUpdate: tbs.thisUpdate.getTime(),
    nextUpdate: tbs.nextUpdate?.getTime(),
    revoked: new Set((tbs.revokedCertificates ?? []).map((r) => serialText(hex(r.userCertificate)))),
  };
}

/** A serial number as upper-case hex without leading zeros ("0" for zero). */
export function serialText(h: string): string {
  return h.toUpperCase().replace(/^0+(?=.)/, '');
}

/** The issuer and subject Names of a DER certificate (RFC 5280 §4.1), encoded as readCrl encodes a CRL's issuer. */
export function certificateNames(raw: Uint8Array): { issuer: string; subject: string } {
  const tbs = AsnConvert.parse(raw, Certificate).tbsCertificate;
  return { issuer: nameHex(tbs.issuer), subject: nameHex(tbs.subject) };
}

/**
 * The CRLs of an IN_CRL_PATH file: at least one, every block complete and readable, none past its nextUpdate at
 * `now`, at most one per issuer.
 */
export function readCrlFile(text: string, now: number): CrlInfo[] {
  const crls = pemBlocks(text, 'X509 CRL', 'CRL file').map((p, i) => {
    try {
      return readCrl(p);
    } catch (e) {
      throw new Error(`CRL file: CRL ${i + 1} does not parse: ${(e as Error).message}`);
    }
  });
  const issuers = new Set<string>();
  crls.forEach((c, i) => {
    if (c.nextUpdate !== undefined && c.nextUpdate.getTime() <= now)
      throw new Error(`CRL file: CRL ${i + 1} expired at ${c.nextUpdate.toISOString()} (nextUpdate): every certificate of its CA would be refused`);
    if (issuers.has(c.issuer)) throw new Error(`CRL file: CRL ${i + 1} has the same issuer as an earlier one: keep one CRL per CA`);
    issuers.add(c.issuer);
  });
  return crls;
}
