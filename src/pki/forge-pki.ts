// Certificate authority helpers on node-forge for the development PKI and the tests: a CA, server and
// client certificates, and CRLs (node-forge has no CRL writer, so the CRL is assembled in ASN.1 here,
// RFC 5280 §5.1). Keys come from node:crypto (fast native key generation) and are converted for forge.
// node-forge is an optional dependency (package.json): it is loaded on first use, so a production install
// without it starts normally and only `pki init` / the development profile's PKI reports it missing.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type forge from 'node-forge';

let loaded: typeof forge | undefined;

/** node-forge, required on first use; a clear error when the optional dependency is not installed. */
function forgeLib(): typeof forge {
  if (loaded === undefined) {
    try {
      loaded = createRequire(import.meta.url)('node-forge') as typeof forge;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err;
      throw new Error(
        'the development PKI needs the optional dependency node-forge, which is not installed (`npm install` includes it; ' +
          '`--omit=optional` leaves it out). Production deployments bring their own certificates and keys.',
        { cause: err },
      );
    }
  }
  return loaded;
}

export interface Issued {
  readonly certPem: string;
  readonly keyPem: string;
  readonly serialHex: string;
}

export interface CaMaterial extends Issued {
  readonly cert: forge.pki.Certificate;
  readonly key: forge.pki.rsa.PrivateKey;
}

function rsaKeyPair(bits = 2048): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

// Positive serial: first byte 0x01..0x7f.
const newSerial = () => `${(1 + (randomBytes(1)[0]! % 0x7e)).toString(16).padStart(2, '0')}${randomBytes(15).toString('hex')}`;

function base(cn: string | readonly string[], publicPem: string, notBefore: Date, notAfter: Date): forge.pki.Certificate {
  const { pki } = forgeLib();
  const cert = pki.createCertificate();
  cert.publicKey = pki.publicKeyFromPem(publicPem);
  cert.serialNumber = newSerial();
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  const cns = typeof cn === 'string' ? [cn] : cn;
  cert.setSubject([...cns.map((value) => ({ name: 'commonName', value })), { name: 'organizationName', value: 'switchguard' }]);
  return cert;
}

const days = (n: number) => new Date(Date.now() + n * 86400_000);

export function createCa(options: { cn: string; days?: number; notBefore?: Date; notAfter?: Date }): CaMaterial {
  const { pki, md } = forgeLib();
  const kp = rsaKeyPair(2048);
  const cert = base(options.cn, kp.publicPem, options.notBefore ?? days(-1), options.notAfter ?? days(options.days ?? 3650));
  cert.setIssuer(cert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  const key = pki.privateKeyFromPem(kp.privatePem) as forge.pki.rsa.PrivateKey;
  cert.sign(key, md.sha256.create());
  return { cert, key, certPem: pki.certificateToPem(cert), keyPem: kp.privatePem, serialHex: cert.serialNumber };
}

export interface IssueOptions {
  /** Subject CN; several values give a subject with several CN attributes, none gives no CN (tests). */
  readonly cn: string | readonly string[];
  readonly usage: 'server' | 'client';
  /** DNS names, URIs and IP addresses for the subjectAltName. */
  readonly dns?: readonly string[];
  readonly uris?: readonly string[];
  readonly ips?: readonly string[];
  /** basicConstraints CA:TRUE on a leaf (tests of misissued certificates). */
  readonly ca?: boolean;
  /** Extended key usages instead of the one `usage` implies; an empty list leaves the extension out. */
  readonly eku?: readonly ('serverAuth' | 'clientAuth' | 'codeSigning' | 'emailProtection')[];
  /** keyUsage bits instead of digitalSignature + keyEncipherment; an empty list leaves the extension out. */
  readonly keyUsage?: readonly ('digitalSignature' | 'keyEncipherment' | 'keyAgreement' | 'dataEncipherment' | 'nonRepudiation' | 'keyCertSign')[];
  readonly days?: number;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  readonly bits?: number;
}

export function issueCert(ca: CaMaterial, o: IssueOptions): Issued {
  const { pki, md } = forgeLib();
  const kp = rsaKeyPair(o.bits ?? 2048);
  const cert = base(o.cn, kp.publicPem, o.notBefore ?? days(-1), o.notAfter ?? days(o.days ?? 825));
  cert.setIssuer(ca.cert.subject.attributes);
  const altNames = [
    ...(o.dns ?? []).map((value) => ({ type: 2, value })),
    ...(o.uris ?? []).map((value) => ({ type: 6, value })),
    ...(o.ips ?? []).map((ip) => ({ type: 7, ip })),
  ];
  const flags = (names: readonly string[]) => Object.fromEntries(names.map((n) => [n, true]));
  const keyUsage = o.keyUsage ?? ['digitalSignature', 'keyEncipherment'];
  const eku = o.eku ?? [o.usage === 'server' ? 'serverAuth' : 'clientAuth'];
  cert.setExtensions([
    { name: 'basicConstraints', cA: o.ca ?? false, ...(o.ca ? { critical: true } : {}) },
    ...(keyUsage.length ? [{ name: 'keyUsage', ...flags(keyUsage), critical: true }] : []),
    ...(eku.length ? [{ name: 'extKeyUsage', ...flags(eku) }] : []),
    ...(altNames.length ? [{ name: 'subjectAltName', altNames }] : []),
    { name: 'authorityKeyIdentifier', keyIdentifier: ca.cert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(ca.key, md.sha256.create());
  return { certPem: pki.certificateToPem(cert), keyPem: kp.privatePem, serialHex: cert.serialNumber };
}

/** A v2 CRL signed by the CA, revoking the given certificate serials (hex). */
export function createCrl(ca: CaMaterial, revokedSerialsHex: readonly string[], options: { nextUpdateDays?: number; thisUpdate?: Date } = {}): string {
  const { pki, asn1, md, util } = forgeLib();
  const sha256WithRsa = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(pki.oids.sha256WithRSAEncryption!).getBytes()),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, ''),
  ]);
  const time = (d: Date) => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.UTCTIME, false, asn1.dateToUtcTime(d));
  const now = options.thisUpdate ?? new Date(Date.now() - 60_000);
  const revoked = revokedSerialsHex.map((s) =>
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, util.hexToBytes(s)), time(now)]),
  );
  const tbs = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, String.fromCharCode(1)), // v2
    sha256WithRsa,
    pki.distinguishedNameToAsn1(ca.cert.subject),
    time(now),
    time(days(options.nextUpdateDays ?? 30)),
    ...(revoked.length ? [asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, revoked)] : []),
  ]);
  const digest = md.sha256.create();
  digest.update(asn1.toDer(tbs).getBytes());
  const signature = ca.key.sign(digest);
  const crl = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    tbs,
    sha256WithRsa,
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, String.fromCharCode(0) + signature),
  ]);
  const b64 = util.encode64(asn1.toDer(crl).getBytes(), 64);
  return `-----BEGIN X509 CRL-----\n${b64}\n-----END X509 CRL-----\n`;
}

/** Re-loads a CA from PEM files (for `pki init` on an existing CA). */
export function caFromPem(certPem: string, keyPem: string): CaMaterial {
  const { pki } = forgeLib();
  const cert = pki.certificateFromPem(certPem);
  const key = pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
  return { cert, key, certPem, keyPem, serialHex: cert.serialNumber };
}
