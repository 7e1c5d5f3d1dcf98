// Binds the client certificate of an inbound TLS connection to an FSP id (docs/security.md class 4). The certificate
// must first be an end-entity certificate for client authentication (client-cert-policy.ts). Then the
// identity is taken from exactly one place, and any ambiguity is refused (GW_PEER_IDENTITY_AMBIGUOUS),
// never resolved by taking the first value:
//   - the subject has at most one CN, whatever the source;
//   - map (consulted first when PEER_IDENTITY_MAP is set): the fingerprint among the map's fingerprint keys,
//     else the one CN among its subject keys. The two are kept apart: a CN that spells another certificate's
//     fingerprint is a CN, never that certificate (fingerprints are public). With PEER_IDENTITY_FROM=san, a hit
//     on the CN must agree with the SANs, when there are any;
//   - cn: the one CN;
//   - san: every DNS and URI SAN must carry the same value (exactly one distinct value), and a CN, when
//     present, must equal it;
//   - the result must be a valid FSP id.
// The result (or the refusal) is cached per socket, so keep-alive requests pay for it once; a reloaded
// PEER_IDENTITY_MAP binds open connections again on their next request.
import { readFileSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import { GatewayError } from '../errors.js';
import { isValidFspId } from '../fspiop/headers.js';
import { clientCertificateProblem } from './client-cert-policy.js';

/** The FSP on the other end of the inbound TLS connection, bound from its client certificate. */
export interface Peer {
  readonly fspId: string;
  readonly subjectCn: string | undefined;
  /** SHA-256 fingerprint, upper-case hex with colons, as node reports it. */
  readonly fingerprint256: string;
  readonly validTo: Date;
}

export type IdentitySource = 'cn' | 'san' | 'map';

/** PEER_IDENTITY_MAP read: fingerprint keys (64 upper-case hex digits) and subject CN keys, each to an FSP id. */
export interface IdentityMap {
  readonly fingerprints: ReadonlyMap<string, string>;
  readonly subjects: ReadonlyMap<string, string>;
}

/**
 * Reads PEER_IDENTITY_MAP: a JSON object whose keys are SHA-256 fingerprints (any case, with or without colons) or subject CNs.
 * @throws Error (plain, message starting "identity map") when the file is not such an object; fs errors as they are.
 */
export function loadIdentityMap(path: string): IdentityMap {
  const text = readFileSync(path, 'utf8');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new Error(`identity map is not JSON: ${(cause as Error).message}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error('identity map must be a JSON object');
  const fingerprints = new Map<string, string>();
  const subjects = new Map<string, string>();
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string' || !isValidFspId(v)) throw new Error(`identity map entry for ${k} is not a valid FSP id`);
    // A fingerprint-shaped key is a fingerprint: no subject key can spell one, so no CN can reach it. A fingerprint
    // written another way (a "sha256:" prefix, spaces, openssl's "SHA256 Fingerprint=" line) would otherwise
    // become a CN key that a certificate with that CN could claim: refused, as are two keys for one fingerprint.
    if (FINGERPRINT_KEY.test(k)) {
      const fp = fingerprintKey(k);
      if (fingerprints.has(fp)) throw new Error(`identity map has two keys for the fingerprint ${fp}`);
      fingerprints.set(fp, v);
    } else if (looksLikeFingerprint(k)) {
      throw new Error(
        `identity map key ${JSON.stringify(k)} holds a fingerprint in another form: write a SHA-256 fingerprint as 64 hex digits, colons allowed`,
      );
    } else if (k.length > 64) {
      throw new Error(`identity map key ${JSON.stringify(k)} is longer than a subject CN can be (64 characters)`);
    } else subjects.set(k, v);
  }
  return { fingerprints, subjects };
}

const FINGERPRINT_KEY = /^([0-9a-f]{2}:?){32}$/i;

/**
 * A key that holds a SHA-1 or SHA-256 fingerprint in a form other than {@link FINGERPRINT_KEY}: hex with other
 * separators or a prefix ("sha256:", openssl's "SHA256 Fingerprint=", "0x"), or base64 (ssh's "SHA256:…").
 * A subject CN spelling one would otherwise be a CN key that a certificate with that CN could claim.
 */
function looksLikeFingerprint(k: string): boolean {
  const bare = k.trim().replace(/^sha-?(1|256)(\s*fingerprint)?\s*[:=]?\s*/i, '');
  const body = bare.replace(/^0x/i, '');
  const hexDigits = body.replace(/[^0-9a-f]/gi, '');
  if ((hexDigits.length === 40 || hexDigits.length === 64) && !/[g-z]/i.test(body)) return true;
  // base64 (standard alphabet; base64url only after a "sha256:" prefix, as CNs often hold dashes).
  const alphabet = bare === k.trim() ? /^[A-Za-z0-9+/]{27,44}={0,2}$/ : /^[A-Za-z0-9+/_-]{27,44}={0,2}$/;
  if (alphabet.test(bare)) {
    const bytes = Buffer.from(bare.replace(/-/g, '+').replace(/_/g, '/'), 'base64').length;
    return bytes === 20 || bytes === 32;
  }
  return false;
}
const fingerprintKey = (k: string) => k.replace(/:/g, '').toUpperCase();

export interface PeerResolverOptions {
  readonly from: IdentitySource;
  readonly map: () => IdentityMap | undefined;
}

interface CertLike {
  subject?: Record<string, string | string[] | undefined>;
  subjectaltname?: string;
  fingerprint256?: string;
  valid_to?: string;
  raw?: Uint8Array;
}

/** Per socket: the binding, and the identity map it was made with (an edited map binds the socket again). */
const cache = new WeakMap<TLSSocket, { readonly map: IdentityMap | undefined; readonly hit: Peer | GatewayError }>();

/**
 * Resolves (and caches per socket) the Peer of an authorised TLS socket. Throws GW_PEER_CERT_NOT_CLIENT,
 * GW_PEER_IDENTITY_AMBIGUOUS or GW_PEER_IDENTITY_UNKNOWN (all 3100).
 */
export function peerOf(socket: TLSSocket, options: PeerResolverOptions): Peer {
  const map = options.map();
  const cached = cache.get(socket);
  let hit = cached !== undefined && cached.map === map ? cached.hit : undefined;
  if (!hit) {
    try {
      const cert = socket.getPeerCertificate() as CertLike;
      const problem = clientCertificateProblem(cert?.raw);
      if (problem)
        throw new GatewayError('GW_PEER_CERT_NOT_CLIENT', {
          detail: 'Client certificate is not an end-entity client authentication certificate',
          context: { problem },
        });
      hit = peerFromCertificate(cert, options);
    } catch (e) {
      hit = e instanceof GatewayError ? e : new GatewayError('GW_PEER_IDENTITY_UNKNOWN', { detail: 'Client certificate does not name an FSP', cause: e });
    }
    cache.set(socket, { map, hit });
  }
  if (hit instanceof GatewayError) throw hit;
  return hit;
}

/** Pure mapping from node's certificate object to a Peer (the identity rule in the header comment). */
export function peerFromCertificate(cert: CertLike, options: PeerResolverOptions): Peer {
  if (!cert?.fingerprint256) throw new GatewayError('GW_PEER_IDENTITY_UNKNOWN', { detail: 'No client certificate' });
  const cnRaw = cert.subject?.CN;
  const cns = cnRaw === undefined ? [] : Array.isArray(cnRaw) ? cnRaw : [cnRaw];
  if (cns.length > 1) throw ambiguous('Client certificate subject has more than one CN');
  const subjectCn = cns[0];
  const map = options.map();
  let fspId: string | undefined;
  if (map) {
    fspId = map.fingerprints.get(fingerprintKey(cert.fingerprint256));
    if (fspId === undefined && subjectCn !== undefined) {
      fspId = map.subjects.get(subjectCn);
      // The operator named SANs as the identity: a CN entry cannot outvote them.
      if (fspId !== undefined && options.from === 'san') {
        const ids = new Set(identitySans(cert.subjectaltname));
        if (ids.size > 1 || (ids.size === 1 && !ids.has(fspId))) throw ambiguous('Client certificate SANs disagree with the identity its CN is mapped to');
      }
    }
  }
  if (fspId === undefined && options.from === 'cn') fspId = subjectCn;
  if (fspId === undefined && options.from === 'san') {
    const ids = new Set(identitySans(cert.subjectaltname));
    if (ids.size > 1) throw ambiguous('Client certificate SANs name more than one identity');
    fspId = ids.values().next().value;
    if (fspId !== undefined && subjectCn !== undefined && subjectCn !== fspId) throw ambiguous('Client certificate CN disagrees with its SAN');
  }
  if (fspId === undefined || !isValidFspId(fspId)) throw new GatewayError('GW_PEER_IDENTITY_UNKNOWN', { detail: 'Client certificate does not name an FSP' });
  return { fspId, subjectCn, fingerprint256: cert.fingerprint256, validTo: new Date(cert.valid_to ?? 0) };
}

const ambiguous = (detail: string) => new GatewayError('GW_PEER_IDENTITY_AMBIGUOUS', { detail });

/**
 * The DNS and URI values of node's subjectaltname string ("DNS:a, URI:b, IP Address:c"; values with
 * special characters are JSON string literals, node ≥ 17.3.1). Anything it cannot read is ambiguous.
 */
export function identitySans(san: string | undefined): string[] {
  const out: string[] = [];
  if (!san) return out;
  let at = 0;
  while (at < san.length) {
    const colon = san.indexOf(':', at);
    if (colon < 0) throw ambiguous('Client certificate SANs are unreadable');
    const type = san.slice(at, colon);
    let value: string;
    let end: number;
    if (san[colon + 1] === '"') {
      end = colon + 2;
      while (end < san.length && san[end] !== '"') end += san[end] === '\\' ? 2 : 1;
      if (end >= san.length) throw ambiguous('Client certificate SANs are unreadable');
      end += 1;
      try {
        value = JSON.parse(san.slice(colon + 1, end)) as string;
      } catch {
        throw ambiguous('Client certificate SANs are unreadable');
      }
    } else {
      const comma = san.indexOf(', ', colon + 1);
      end = comma < 0 ? san.length : comma;
      value = san.slice(colon + 1, end);
    }
    if (type === 'DNS' || type === 'URI') out.push(value);
    if (end === san.length) break;
    if (!san.startsWith(', ', end)) throw ambiguous('Client certificate SANs are unreadable');
    at = end + 2;
  }
  return out;
}
