// OCSP (RFC 6960) requests and responses for one certificate: the request is built and the response is
// parsed with the @peculiar/asn1-ocsp and @peculiar/asn1-x509 schemas (RFC 6960 §4, RFC 5280 §4.1); every
// signature is checked with node:crypto. Nothing here does I/O. A response is accepted only when all of
// RFC 6960 §3.2 holds:
//   1. the answer is about this certificate: its CertID (hash algorithm, issuer name hash, issuer key hash,
//      serial) equals the one computed here from the certificate and its issuer;
//   2. the signature over tbsResponseData verifies with the issuer's key, or with a delegated responder
//      certificate carried in the response that the issuer signed, that lists id-kp-OCSPSigning and that
//      is valid now (§4.2.2.2);
//   3. it is fresh: thisUpdate not in the future (beyond CLOCK_SKEW_MS), nextUpdate (when present) not in
//      the past, and an answer without nextUpdate not older than `maxAgeSeconds`;
//   4. when a nonce was sent, a nonce in the answer equals it (RFC 8954 §2.1; responders that pre-sign
//      their answers leave it out, which is accepted: freshness then rests on 3).
// Anything else throws OcspError with a bounded reason; callers treat it as "status unknown".
import { createHash, randomBytes, verify, X509Certificate } from 'node:crypto';
import {
  BasicOCSPResponse,
  CertID,
  id_kp_OCSPSigning,
  id_pkix_ocsp_basic,
  id_pkix_ocsp_nonce,
  OCSPRequest,
  OCSPResponse,
  OCSPResponseStatus,
  Request,
  ResponseData,
  TBSRequest,
} from '@peculiar/asn1-ocsp';
import { AsnConvert, AsnProp, AsnPropTypes, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AuthorityInfoAccessSyntax,
  Certificate,
  Extension,
  id_ad_ocsp,
  id_pe_authorityInfoAccess,
  Name,
  TBSCertificate,
} from '@peculiar/asn1-x509';

export type OcspStatus = 'good' | 'revoked' | 'unknown';

/** Why a response was not usable (bounded: metric label). */
export type OcspFailure =
  | 'no_responder'
  | 'no_issuer'
  | 'forged_issuer'
  | 'unreachable'
  | 'timeout'
  | 'http_status'
  | 'too_large'
  | 'malformed'
  | 'response_status'
  | 'signature'
  | 'responder_untrusted'
  | 'cert_id'
  | 'stale'
  | 'not_yet_valid'
  | 'nonce';

export class OcspError extends Error {
  constructor(
    readonly reason: OcspFailure,
    message: string,
  ) {
    super(message);
    this.name = 'OcspError';
  }
}

/** A verified answer about one certificate. */
export interface OcspAnswer {
  readonly status: OcspStatus;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date | undefined;
  readonly revokedAt: Date | undefined;
}

/** An encoded request and what its answer must match. */
export interface OcspQuery {
  readonly der: Uint8Array;
  readonly nonce: Uint8Array | undefined;
}

/** How far thisUpdate (and a responder certificate's notBefore) may be ahead of our clock. */
const CLOCK_SKEW_MS = 5 * 60_000;

const SHA1 = '1.3.14.3.2.26';
/** CertID hash algorithms accepted in answers (RFC 6960 §4.1.1; SHA-1 is what RFC 5019 §2.1.1 has clients send). */
const CERT_ID_HASHES: Readonly<Record<string, string>> = {
  [SHA1]: 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
/**
 * Response signature algorithms (RFC 5754 §3.2, RFC 5758 §3.2, RFC 8410 §6). SHA-1 signatures are refused
 * (CA/Browser Forum Baseline Requirements §7.1.3.2 no longer allow them); RSASSA-PSS is not supported.
 */
const SIGNATURE_ALGORITHMS: Readonly<Record<string, string | null>> = {
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.3.101.112': null, // Ed25519
};

// The issuer name as it is encoded in the certificate: a TBSCertificate whose issuer keeps its raw DER
// (the CertID hashes exactly those bytes, RFC 6960 §4.1.1), applied without decorator syntax.
class RawIssuerTbs extends TBSCertificate {
  declare issuerRaw?: ArrayBuffer;
}
AsnProp({ type: Name, raw: true })(RawIssuerTbs.prototype, 'issuer');
class RawIssuerCertificate extends Certificate {
  declare tbsCertificate: RawIssuerTbs;
}
AsnProp({ type: RawIssuerTbs, raw: true })(RawIssuerCertificate.prototype, 'tbsCertificate');

// BasicOCSPResponse with its certificates kept as the DER they came in (their signatures cover those bytes).
class RawBasicResponse {
  tbsResponseData = new ResponseData();
  declare tbsResponseDataRaw?: ArrayBuffer;
  signatureAlgorithm = new AlgorithmIdentifier();
  signature = new ArrayBuffer(0);
  declare certs?: ArrayBuffer[];
}
AsnProp({ type: ResponseData, raw: true })(RawBasicResponse.prototype, 'tbsResponseData');
AsnProp({ type: AlgorithmIdentifier })(RawBasicResponse.prototype, 'signatureAlgorithm');
AsnProp({ type: AsnPropTypes.BitString })(RawBasicResponse.prototype, 'signature');
AsnProp({ type: AsnPropTypes.Any, repeated: 'sequence', optional: true, context: 0 })(RawBasicResponse.prototype, 'certs');
void BasicOCSPResponse; // the schema RawBasicResponse mirrors (RFC 6960 §4.2.1)

interface Subject {
  readonly leaf: X509Certificate;
  readonly issuer: X509Certificate;
}

interface CertIdSource {
  /** DER of the issuer Name field of the certificate. */
  readonly issuerName: Uint8Array;
  /** Contents of the issuer's subjectPublicKey BIT STRING. */
  readonly issuerKey: Uint8Array;
  /** The certificate's serial number as encoded (INTEGER contents). */
  readonly serial: Uint8Array;
}

function certIdSource({ leaf, issuer }: Subject): CertIdSource {
  try {
    const l = AsnConvert.parse(leaf.raw, RawIssuerCertificate);
    const i = AsnConvert.parse(issuer.raw, Certificate);
    const issuerName = l.tbsCertificate.issuerRaw;
    if (!issuerName) throw new Error('no issuer name');
    return {
      issuerName: new Uint8Array(issuerName),
      issuerKey: new Uint8Array(i.tbsCertificate.subjectPublicKeyInfo.subjectPublicKey),
      serial: new Uint8Array(l.tbsCertificate.serialNumber),
    };
  } catch (e) {
    throw new OcspError('malformed', `certificate does not parse: ${(e as Error).message}`);
  }
}

const digest = (alg: string, data: Uint8Array) => new Uint8Array(createHash(alg).update(data).digest());
const same = (a: ArrayBuffer | Uint8Array, b: ArrayBuffer | Uint8Array) => Buffer.from(a as ArrayBuffer).equals(Buffer.from(b as ArrayBuffer));

/** The OCSP responder URLs of a certificate's Authority Information Access extension (RFC 5280 §4.2.2.1), http(s) only. */
export function ocspUrlsOf(cert: X509Certificate): string[] {
  let parsed: Certificate;
  try {
    parsed = AsnConvert.parse(cert.raw, Certificate);
  } catch {
    return [];
  }
  const ext = parsed.tbsCertificate.extensions?.find((e) => e.extnID === id_pe_authorityInfoAccess);
  if (!ext) return [];
  try {
    const aia = AsnConvert.parse(ext.extnValue, AuthorityInfoAccessSyntax);
    return [...aia]
      .filter((d) => d.accessMethod === id_ad_ocsp)
      .map((d) => d.accessLocation.uniformResourceIdentifier)
      .filter((u): u is string => u !== undefined && /^https?:\/\//i.test(u));
  } catch {
    return [];
  }
}

/** An OCSPRequest for `leaf` (SHA-1 CertID, RFC 5019 §2.1.1), with a 32-byte nonce extension when asked (RFC 8954). */
export function buildRequest(subject: Subject, o: { nonce: boolean }): OcspQuery {
  const src = certIdSource(subject);
  const reqCert = new CertID({
    hashAlgorithm: new AlgorithmIdentifier({ algorithm: SHA1, parameters: null }),
    issuerNameHash: new OctetString(digest('sha1', src.issuerName)),
    issuerKeyHash: new OctetString(digest('sha1', src.issuerKey)),
    serialNumber: src.serial.slice().buffer,
  });
  const nonce = o.nonce ? new Uint8Array(AsnConvert.serialize(new OctetString(randomBytes(32)))) : undefined;
  const tbsRequest = new TBSRequest({
    requestList: [new Request({ reqCert })],
    ...(nonce ? { requestExtensions: [new Extension({ extnID: id_pkix_ocsp_nonce, critical: false, extnValue: new OctetString(nonce) })] } : {}),
  });
  return { der: new Uint8Array(AsnConvert.serialize(new OCSPRequest({ tbsRequest }))), nonce };
}

/** Parses and checks an OCSPResponse (the rules in the header comment). Throws OcspError. */
export function verifyResponse(der: Uint8Array, o: Subject & { nonce: Uint8Array | undefined; now: number; maxAgeSeconds: number }): OcspAnswer {
  const basic = parseBasic(der);
  const data = basic.tbsResponseData;
  const tbs = basic.tbsResponseDataRaw;
  if (!tbs) throw new OcspError('malformed', 'response data not kept');
  // 1. the answer about this certificate
  const src = certIdSource(o);
  const single = data.responses.find((r) => matches(r.certID, src));
  if (!single) throw new OcspError('cert_id', 'the response is not about this certificate (serial or issuer differ)');
  // 2. the signature and the signer
  const signer = signerOf(basic, tbs, o);
  if (!signer) throw new OcspError('responder_untrusted', 'the response is not signed by the issuer or a responder it authorised');
  // 3. freshness
  const thisUpdate = single.thisUpdate;
  const nextUpdate = single.nextUpdate;
  if (!(thisUpdate instanceof Date) || Number.isNaN(thisUpdate.getTime())) throw new OcspError('malformed', 'thisUpdate unreadable');
  if (thisUpdate.getTime() > o.now + CLOCK_SKEW_MS) throw new OcspError('not_yet_valid', `thisUpdate ${thisUpdate.toISOString()} is in the future`);
  if (nextUpdate !== undefined && nextUpdate.getTime() < o.now) throw new OcspError('stale', `nextUpdate ${nextUpdate.toISOString()} has passed`);
  if (nextUpdate === undefined && thisUpdate.getTime() < o.now - o.maxAgeSeconds * 1000)
    throw new OcspError('stale', `thisUpdate ${thisUpdate.toISOString()} is older than ${o.maxAgeSeconds} s and no nextUpdate is given`);
  // 4. the nonce
  if (o.nonce) {
    const echoed = data.responseExtensions?.find((e) => e.extnID === id_pkix_ocsp_nonce);
    if (echoed && !same(echoed.extnValue.buffer, o.nonce)) throw new OcspError('nonce', 'the response answers another request (nonce differs)');
  }
  const st = single.certStatus;
  const status: OcspStatus = st.good !== undefined ? 'good' : st.revoked !== undefined ? 'revoked' : 'unknown';
  return { status, thisUpdate, nextUpdate, revokedAt: st.revoked?.revocationTime };
}

function parseBasic(der: Uint8Array): RawBasicResponse {
  let outer: OCSPResponse;
  try {
    outer = AsnConvert.parse(der, OCSPResponse);
  } catch (e) {
    throw new OcspError('malformed', `not an OCSPResponse: ${(e as Error).message}`);
  }
  if (outer.responseStatus !== OCSPResponseStatus.successful)
    throw new OcspError('response_status', `responder answered ${OCSPResponseStatus[outer.responseStatus] ?? outer.responseStatus}`);
  const bytes = outer.responseBytes;
  if (!bytes || bytes.responseType !== id_pkix_ocsp_basic) throw new OcspError('malformed', 'not a basic OCSP response');
  try {
    return AsnConvert.parse(bytes.response.buffer, RawBasicResponse);
  } catch (e) {
    throw new OcspError('malformed', `BasicOCSPResponse does not parse: ${(e as Error).message}`);
  }
}

function matches(id: CertID, src: CertIdSource): boolean {
  const alg = CERT_ID_HASHES[id.hashAlgorithm.algorithm];
  if (!alg) return false;
  return (
    same(id.serialNumber, src.serial) &&
    same(id.issuerNameHash.buffer, digest(alg, src.issuerName)) &&
    same(id.issuerKeyHash.buffer, digest(alg, src.issuerKey))
  );
}

/** The certificate whose key signed tbs: the issuer itself, or an authorised responder from the response's certs. */
function signerOf(basic: RawBasicResponse, tbs: ArrayBuffer, o: Subject & { now: number }): X509Certificate | undefined {
  const alg = basic.signatureAlgorithm.algorithm;
  if (!(alg in SIGNATURE_ALGORITHMS)) throw new OcspError('signature', `signature algorithm ${alg} is not accepted`);
  const hash = SIGNATURE_ALGORITHMS[alg] ?? null;
  const signs = (c: X509Certificate) => {
    try {
      return verify(hash, new Uint8Array(tbs), c.publicKey, new Uint8Array(basic.signature));
    } catch {
      return false;
    }
  };
  if (signs(o.issuer)) return o.issuer;
  for (const raw of basic.certs ?? []) {
    let c: X509Certificate;
    try {
      c = new X509Certificate(new Uint8Array(raw));
    } catch {
      continue;
    }
    if (isAuthorisedResponder(c, o) && signs(c)) return c;
  }
  return undefined;
}

/** RFC 6960 §4.2.2.2: issued (and signed) by the certificate's issuer, id-kp-OCSPSigning, valid now. */
function isAuthorisedResponder(c: X509Certificate, o: Subject & { now: number }): boolean {
  if (!c.checkIssued(o.issuer) || !c.verify(o.issuer.publicKey)) return false;
  const eku = c.keyUsage as string[] | undefined; // node reports the extended key usage OIDs here
  if (!eku?.includes(id_kp_OCSPSigning)) return false;
  return Date.parse(c.validFrom) <= o.now + CLOCK_SKEW_MS && Date.parse(c.validTo) >= o.now;
}
