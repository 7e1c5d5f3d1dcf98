// The CA bundle and CRL files of the inbound listener, read strictly before they reach OpenSSL. Node's
// createSecureContext() accepts a CA file with no certificate in it and reads only the FIRST CRL of a buffer;
// node turns on CRL checking for the whole chain (X509_V_FLAG_CRL_CHECK_ALL) as soon as a CRL is given, so a
// CA without a CRL, or with an expired, future or foreign-signed one, refuses every certificate it issued. Here:
//   - every PEM block must be complete and of the expected type, and at least one must be there; OpenSSL gets
//     the blocks read here, not the raw file;
//   - every CRL (RFC 5280 §5.1) must be signed by a CA of the bundle, within its thisUpdate and nextUpdate; each
//     CA of the bundle has exactly one (certificates of one CA key, re-issued or cross-signed, share it);
//   - the revoked serial numbers are kept, as the DER INTEGER bytes, to close the open connections of the
//     certificates a reload revokes (material.ts).
// A small DER walker reads only what these checks need: no node limit, so CRLs of any size load (a schema
// parser with a 10 000-node limit refused a CRL of 3 400 entries).
import { constants, type KeyObject, verify, X509Certificate } from 'node:crypto';

/** One CRL of IN_CRL_PATH, as far as the gateway reads it. */
export interface CrlInfo {
  readonly pem: string;
  /** The CAs of IN_CA_CERT_PATH whose key verified the CRL's signature (one CA; several certificates of it when
   * the bundle holds it re-issued, cross-signed or twice: OpenSSL finds a CRL by its issuer, so one covers them all). */
  readonly cas: readonly X509Certificate[];
  readonly thisUpdate: Date;
  readonly nextUpdate: Date | undefined;
  /** Revoked serial numbers: the DER INTEGER content, upper-case hex (as {@link certificateSerial}). */
  readonly revoked: ReadonlySet<string>;
}

/**
 * A CRL whose thisUpdate is still ahead: OpenSSL would refuse every certificate of its CA until then ("CRL is
 * not yet valid"), so the reload is refused and tried again at `validFrom` (material.ts).
 */
export class CrlNotYetValid extends Error {
  constructor(
    message: string,
    readonly validFrom: number,
  ) {
    super(message);
  }
}

/** A BEGIN line, as OpenSSL reads one: at the start of a line, and the line ends with it. */
const BEGIN = /^-----BEGIN ([^\r\n]*)-----[ \t]*\r?$/gm;

/**
 * The complete PEM blocks of `text` with the given label; throws when a block is incomplete or of another type.
 * A block ends before the next BEGIN line or it is incomplete: one pass over the text, however many BEGIN lines
 * lack their END (a lazy block regex would rescan the rest of the text from each of them).
 */
function pemBlocks(text: string, label: string, what: string): string[] {
  const out: string[] = [];
  const starts = [...text.matchAll(BEGIN)];
  for (const [i, m] of starts.entries()) {
    if (m[1] !== label) throw new Error(`${what}: holds a ${m[1]} block, not only ${label}`);
    const from = m.index + m[0].length;
    const upTo = starts[i + 1]?.index ?? text.length;
    const end = `-----END ${label}-----`;
    const at = text.slice(from, upTo).indexOf(end);
    if (at < 0) throw new Error(`${what}: incomplete PEM block ${i + 1} of ${starts.length} (truncated file?)`);
    // The END line ends there: a BEGIN after it on the same line would hide the next block from this reader.
    const after = from + at + end.length;
    const lineEnd = text.indexOf('\n', after);
    if (text.slice(after, lineEnd < 0 ? text.length : lineEnd).trim() !== '') throw new Error(`${what}: text after the END line of PEM block ${i + 1}`);
    out.push(`${text.slice(m.index, after)}\n`);
  }
  if (out.length === 0) throw new Error(`${what}: no ${label} in it`);
  return out;
}

/** The CA certificates of a CA bundle file (at least one, every block complete), and their PEM blocks for OpenSSL. */
export function readCaBundle(text: string): { certs: X509Certificate[]; pems: string[] } {
  const pems = pemBlocks(text, 'CERTIFICATE', 'CA file');
  const certs = pems.map((p, i) => {
    try {
      return new X509Certificate(p);
    } catch (e) {
      throw new Error(`CA file: certificate ${i + 1} does not parse: ${(e as Error).message}`);
    }
  });
  return { certs, pems };
}

interface Tlv {
  readonly tag: number;
  /** Offset of the tag byte. */
  readonly at: number;
  /** Offset of the content. */
  readonly start: number;
  /** Offset just past the content. */
  readonly end: number;
}

/** One DER element at `at` (definite lengths only, as DER requires). */
function tlv(buf: Uint8Array, at: number, limit: number): Tlv {
  if (at + 2 > limit) throw new Error('truncated DER');
  const tag = buf[at] as number;
  let len = buf[at + 1] as number;
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > limit) throw new Error('bad DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (buf[start + i] as number);
    start += n;
  }
  const end = start + len;
  if (end > limit) throw new Error('truncated DER');
  return { tag, at, start, end };
}

const hex = (buf: Uint8Array, from: number, to: number): string =>
  Buffer.from(buf.buffer, buf.byteOffset + from, to - from)
    .toString('hex')
    .toUpperCase();

/** UTCTime (0x17, YYMMDDHHMMSSZ; 50–99 → 19xx, RFC 5280 §4.1.2.5.1) or GeneralizedTime (0x18, YYYYMMDDHHMMSSZ). */
function time(buf: Uint8Array, t: Tlv): Date {
  const s = Buffer.from(buf.buffer, buf.byteOffset + t.start, t.end - t.start).toString('latin1');
  const m =
    t.tag === 0x17 ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s) : t.tag === 0x18 ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s) : null;
  if (!m) throw new Error('bad time');
  let year = Number(m[1]);
  if (t.tag === 0x17) year += year >= 50 ? 1900 : 2000;
  return new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}

const isTime = (tag: number) => tag === 0x17 || tag === 0x18;

/** Signature algorithm OIDs (DER content, hex) → node's digest name; null: the key decides (Ed25519). */
const ALGORITHMS: Readonly<Record<string, string | null>> = {
  '2A864886F70D010105': 'sha1', // sha1WithRSAEncryption
  '2A864886F70D01010B': 'sha256', // sha256WithRSAEncryption
  '2A864886F70D01010C': 'sha384',
  '2A864886F70D01010D': 'sha512',
  '2A864886F70D01010E': 'sha224',
  '2A8648CE3D040301': 'sha224', // ecdsa-with-SHA224
  '2A8648CE3D040302': 'sha256', // ecdsa-with-SHA256
  '2A8648CE3D040303': 'sha384',
  '2A8648CE3D040304': 'sha512',
  '2B6570': null, // Ed25519
  '2B6571': null, // Ed448
};

/** RSASSA-PSS (RFC 4055 §3.1): the digest of its parameters' hashAlgorithm [0] (SHA-1 when absent). */
const RSASSA_PSS = '2A864886F70D01010A';
const PSS_DIGESTS: Readonly<Record<string, string>> = {
  '2B0E03021A': 'sha1',
  '608648016503040204': 'sha224',
  '608648016503040201': 'sha256',
  '608648016503040202': 'sha384',
  '608648016503040203': 'sha512',
};

interface ParsedCrl {
  readonly tbs: Uint8Array;
  readonly algorithm: string;
  /** RSASSA-PSS: the digest its parameters name. */
  readonly pssDigest: string | undefined;
  readonly signature: Uint8Array;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date | undefined;
  readonly revoked: Set<string>;
}

function parseCrl(der: Uint8Array): ParsedCrl {
  const list = tlv(der, 0, der.length);
  if (list.tag !== 0x30 || list.end !== der.length) throw new Error('not a CertificateList');
  const tbs = tlv(der, list.start, list.end);
  if (tbs.tag !== 0x30) throw new Error('not a TBSCertList');
  const sigAlg = tlv(der, tbs.end, list.end);
  const sig = tlv(der, sigAlg.end, list.end);
  if (sigAlg.tag !== 0x30 || sig.tag !== 0x03 || der[sig.start] !== 0) throw new Error('bad signature');
  const oid = tlv(der, sigAlg.start, sigAlg.end);
  if (oid.tag !== 0x06) throw new Error('bad signature algorithm');
  let pssDigest: string | undefined;
  if (hex(der, oid.start, oid.end) === RSASSA_PSS) {
    pssDigest = 'sha1';
    const params = oid.end < sigAlg.end ? tlv(der, oid.end, sigAlg.end) : undefined;
    if (params?.tag === 0x30 && params.start < params.end) {
      const first = tlv(der, params.start, params.end);
      if (first.tag === 0xa0) {
        const hashAlg = tlv(der, first.start, first.end);
        const hashOid = tlv(der, hashAlg.start, hashAlg.end);
        pssDigest = PSS_DIGESTS[hex(der, hashOid.start, hashOid.end)];
        if (pssDigest === undefined) throw new Error('RSASSA-PSS with an unsupported hash');
      }
    }
  }
  let e = tlv(der, tbs.start, tbs.end);
  if (e.tag === 0x02) e = tlv(der, e.end, tbs.end); // version
  if (e.tag !== 0x30) throw new Error('no signature algorithm');
  const issuer = tlv(der, e.end, tbs.end);
  if (issuer.tag !== 0x30) throw new Error('no issuer');
  const thisTlv = tlv(der, issuer.end, tbs.end);
  if (!isTime(thisTlv.tag)) throw new Error('no thisUpdate');
  let at = thisTlv.end;
  let nextUpdate: Date | undefined;
  const revoked = new Set<string>();
  if (at < tbs.end) {
    const n = tlv(der, at, tbs.end);
    if (isTime(n.tag)) {
      nextUpdate = time(der, n);
      at = n.end;
    }
  }
  if (at < tbs.end) {
    const r = tlv(der, at, tbs.end);
    if (r.tag === 0x30) {
      for (let p = r.start; p < r.end; ) {
        const entry = tlv(der, p, r.end);
        const serial = tlv(der, entry.start, entry.end);
        if (entry.tag !== 0x30 || serial.tag !== 0x02) throw new Error('bad revoked entry');
        revoked.add(hex(der, serial.start, serial.end));
        p = entry.end;
      }
    }
  }
  return {
    tbs: der.subarray(tbs.at, tbs.end),
    algorithm: hex(der, oid.start, oid.end),
    pssDigest,
    signature: der.subarray(sig.start + 1, sig.end),
    thisUpdate: time(der, thisTlv),
    nextUpdate,
    revoked,
  };
}

function signedBy(crl: ParsedCrl, key: KeyObject): boolean {
  try {
    if (crl.pssDigest !== undefined)
      return verify(crl.pssDigest, crl.tbs, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO }, crl.signature);
    const digest = ALGORITHMS[crl.algorithm];
    if (digest === undefined) throw new Error(`signature algorithm ${crl.algorithm} (OID, hex) not supported`);
    return verify(digest, crl.tbs, key, crl.signature);
  } catch (e) {
    if ((e as Error).message.startsWith('signature algorithm')) throw e;
    return false; // a key of another type
  }
}

/** The serial number of a DER certificate (RFC 5280 §4.1): its INTEGER content, upper-case hex, as a CRL lists it. */
export function certificateSerial(raw: Uint8Array): string {
  const cert = tlv(raw, 0, raw.length);
  const tbs = tlv(raw, cert.start, cert.end);
  let e = tlv(raw, tbs.start, tbs.end);
  if (e.tag === 0xa0) e = tlv(raw, e.end, tbs.end); // [0] version
  if (e.tag !== 0x02) throw new Error('no serial number');
  return hex(raw, e.start, e.end);
}

/**
 * The CRLs of an IN_CRL_PATH file, checked against the CAs of IN_CA_CERT_PATH at `now`: every block complete and
 * readable, each CRL signed by one of the CAs, within thisUpdate and nextUpdate, exactly one CRL per CA.
 */
export function readCrlFile(text: string, cas: readonly X509Certificate[], now: number): CrlInfo[] {
  const out: CrlInfo[] = [];
  pemBlocks(text, 'X509 CRL', 'CRL file').forEach((pem, i) => {
    let crl: ParsedCrl;
    try {
      crl = parseCrl(new Uint8Array(Buffer.from(pem.replace(/-----(BEGIN|END) X509 CRL-----/g, '').replace(/\s+/g, ''), 'base64')));
    } catch (e) {
      throw new Error(`CRL file: CRL ${i + 1} does not parse: ${(e as Error).message}`);
    }
    const group = cas.filter((c) => signedBy(crl, c.publicKey));
    if (group.length === 0) throw new Error(`CRL file: CRL ${i + 1} is not signed by any CA of IN_CA_CERT_PATH`);
    const name = (group[0] as X509Certificate).subject.replace(/\n/g, ', ');
    if (out.some((o) => o.cas.some((c) => group.includes(c)))) throw new Error(`CRL file: CRL ${i + 1} is a second CRL of ${name}: keep one CRL per CA`);
    if (crl.thisUpdate.getTime() > now)
      throw new CrlNotYetValid(`CRL file: CRL ${i + 1} of ${name} is not valid before ${crl.thisUpdate.toISOString()} (thisUpdate)`, crl.thisUpdate.getTime());
    if (crl.nextUpdate !== undefined && crl.nextUpdate.getTime() <= now)
      throw new Error(`CRL file: CRL ${i + 1} expired at ${crl.nextUpdate.toISOString()} (nextUpdate): every certificate of its CA would be refused`);
    out.push({ pem, cas: group, thisUpdate: crl.thisUpdate, nextUpdate: crl.nextUpdate, revoked: crl.revoked });
  });
  const bare = cas.filter((c) => !out.some((o) => o.cas.includes(c)));
  if (bare.length > 0)
    throw new Error(
      `CRL file: no CRL of ${bare.map((c) => c.subject.replace(/\n/g, ', ')).join('; ')}: with IN_CRL_PATH, OpenSSL refuses every certificate of a CA without one`,
    );
  return out;
}
