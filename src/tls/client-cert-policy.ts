// Is this certificate fit to authenticate a client? OpenSSL's chain check (purpose "ssl_client") already
// refuses an extended key usage without clientAuth, but it accepts a leaf that says basicConstraints
// CA:TRUE as long as keyCertSign is absent, and a keyUsage of keyAgreement alone. The gateway binds an
// FSP identity only to an end-entity certificate made for TLS client authentication (RFC 5280 §4.2.1.3,
// §4.2.1.9, §4.2.1.12), so the rule is checked here again over the certificate's DER bytes:
//   - basicConstraints, when present, must not say cA = TRUE;
//   - keyUsage, when present, must include digitalSignature (the client signs CertificateVerify);
//   - extendedKeyUsage, when present, must list id-kp-clientAuth (anyExtendedKeyUsage is not enough);
//   - each of these extensions at most once, and the bytes must parse; anything else is refused.
import { X509Certificate } from 'node:crypto';

export type ClientCertProblem = 'ca_certificate' | 'key_usage' | 'extended_key_usage' | 'malformed';

const OID_BASIC_CONSTRAINTS = '2.5.29.19';
const OID_KEY_USAGE = '2.5.29.15';
const OID_EXT_KEY_USAGE = '2.5.29.37';
const OID_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

/** Returns why `raw` (DER) may not be used as a client certificate, or undefined when it may. */
export function clientCertificateProblem(raw: Uint8Array | undefined): ClientCertProblem | undefined {
  if (!raw || raw.length === 0) return 'malformed';
  let ext: Extensions;
  try {
    ext = extensionsOf(raw);
  } catch {
    return 'malformed';
  }
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(raw);
  } catch {
    return 'malformed';
  }
  if (ext.caFlag || x509.ca) return 'ca_certificate';
  if (ext.keyUsage !== undefined && (ext.keyUsage[0]! & 0x80) === 0) return 'key_usage';
  if (ext.extKeyUsage !== undefined && !ext.extKeyUsage.includes(OID_CLIENT_AUTH)) return 'extended_key_usage';
  // node's own reading of the EKU must agree (it is what getPeerCertificate reports as ext_key_usage).
  const nodeEku = x509.keyUsage as string[] | undefined;
  if ((nodeEku === undefined) !== (ext.extKeyUsage === undefined)) return 'malformed';
  if (nodeEku && !nodeEku.includes(OID_CLIENT_AUTH)) return 'extended_key_usage';
  return undefined;
}

interface Extensions {
  /** basicConstraints cA. */
  readonly caFlag: boolean;
  /** keyUsage bit string bytes (after the unused-bits byte); [0] holds digitalSignature as 0x80. */
  readonly keyUsage: Uint8Array | undefined;
  readonly extKeyUsage: readonly string[] | undefined;
}

function extensionsOf(der: Uint8Array): Extensions {
  const cert = only(der, 0x30);
  const tbs = children(first(cert.content, 0x30).content);
  const wrapped = tbs.find((t) => t.tag === 0xa3); // [3] EXPLICIT Extensions
  let caFlag = false;
  let keyUsage: Uint8Array | undefined;
  let extKeyUsage: string[] | undefined;
  if (!wrapped) return { caFlag, keyUsage, extKeyUsage };
  const seen = new Set<string>();
  for (const e of children(only(wrapped.content, 0x30).content)) {
    if (e.tag !== 0x30) throw new Error('extension');
    const parts = children(e.content);
    const oid = oidOf(parts[0]);
    const value = parts[parts.length - 1];
    if (value?.tag !== 0x04 || parts.length > 3) throw new Error('extension');
    if (seen.has(oid)) throw new Error('duplicate extension');
    seen.add(oid);
    if (oid === OID_BASIC_CONSTRAINTS) {
      const bc = children(only(value.content, 0x30).content);
      const flag = bc[0];
      caFlag = flag !== undefined && flag.tag === 0x01 && flag.content.length === 1 && flag.content[0] !== 0;
    } else if (oid === OID_KEY_USAGE) {
      const bits = only(value.content, 0x03).content;
      if (bits.length < 2) throw new Error('keyUsage');
      keyUsage = bits.subarray(1);
    } else if (oid === OID_EXT_KEY_USAGE) {
      extKeyUsage = children(only(value.content, 0x30).content).map(oidOf);
    }
  }
  return { caFlag, keyUsage, extKeyUsage };
}

// --- a minimal DER reader: tag, definite length, content; throws on anything malformed ---
interface Tlv {
  readonly tag: number;
  readonly content: Uint8Array;
  readonly end: number;
}

function readTlv(buf: Uint8Array, at: number): Tlv {
  if (at + 2 > buf.length) throw new Error('truncated');
  const tag = buf[at]!;
  if ((tag & 0x1f) === 0x1f) throw new Error('high tag number');
  let len = buf[at + 1]!;
  let pos = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || pos + n > buf.length) throw new Error('length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[pos + i]!;
    pos += n;
  }
  if (pos + len > buf.length) throw new Error('truncated');
  return { tag, content: buf.subarray(pos, pos + len), end: pos + len };
}

function children(buf: Uint8Array): Tlv[] {
  const out: Tlv[] = [];
  for (let at = 0; at < buf.length; ) {
    const t = readTlv(buf, at);
    out.push(t);
    at = t.end;
  }
  return out;
}

function first(buf: Uint8Array, tag: number): Tlv {
  const t = readTlv(buf, 0);
  if (t.tag !== tag) throw new Error('unexpected tag');
  return t;
}

function only(buf: Uint8Array, tag: number): Tlv {
  const t = first(buf, tag);
  if (t.end !== buf.length) throw new Error('trailing bytes');
  return t;
}

function oidOf(t: Tlv | undefined): string {
  if (t?.tag !== 0x06 || t.content.length === 0) throw new Error('oid');
  const arcs: number[] = [];
  let v = 0;
  for (const b of t.content) {
    v = v * 128 + (b & 0x7f);
    if (v > Number.MAX_SAFE_INTEGER / 256) throw new Error('oid');
    if (!(b & 0x80)) {
      arcs.push(v);
      v = 0;
    }
  }
  if (t.content[t.content.length - 1]! & 0x80) throw new Error('oid');
  const head = arcs[0]!;
  const [a, b] = head < 40 ? [0, head] : head < 80 ? [1, head - 40] : [2, head - 80];
  return [a, b, ...arcs.slice(1)].join('.');
}
