// Binds the client certificate of an inbound TLS connection to an FSP id (SPEC §3.2): subject CN by
// default, the first DNS/URI SAN, or an explicit identity map (fingerprint or CN → fspId) consulted
// first when configured. The result is cached per socket, so keep-alive requests pay for it once.
import { readFileSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import { GatewayError } from '../errors.js';
import type { Peer } from '../http/context.js';
import { isValidFspId } from '../fspiop/headers.js';

export type IdentitySource = 'cn' | 'san' | 'map';
export type IdentityMap = ReadonlyMap<string, string>;

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
  const m = new Map<string, string>();
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string' || !isValidFspId(v)) throw new Error(`identity map entry for ${k} is not a valid FSP id`);
    m.set(normaliseKey(k), v);
  }
  return m;
}

const normaliseKey = (k: string) => (/^([0-9a-f]{2}:?){32}$/i.test(k) ? k.replace(/:/g, '').toUpperCase() : k);

export interface PeerResolverOptions {
  readonly from: IdentitySource;
  readonly map: () => IdentityMap | undefined;
}

interface CertLike {
  subject?: Record<string, string | string[] | undefined>;
  subjectaltname?: string;
  fingerprint256?: string;
  valid_to?: string;
}

const cache = new WeakMap<TLSSocket, Peer>();

/** Resolves (and caches per socket) the Peer of an authorised TLS socket; throws GW_PEER_IDENTITY_UNKNOWN. */
export function peerOf(socket: TLSSocket, options: PeerResolverOptions): Peer {
  const hit = cache.get(socket);
  if (hit) return hit;
  const peer = peerFromCertificate(socket.getPeerCertificate() as CertLike, options);
  cache.set(socket, peer);
  return peer;
}

/** Pure mapping from node's certificate object to a Peer. */
export function peerFromCertificate(cert: CertLike, options: PeerResolverOptions): Peer {
  if (!cert || !cert.fingerprint256) throw new GatewayError('GW_PEER_IDENTITY_UNKNOWN', { detail: 'No client certificate' });
  const cnRaw = cert.subject?.CN;
  const subjectCn = Array.isArray(cnRaw) ? cnRaw[0] : cnRaw;
  const map = options.map();
  let fspId: string | undefined;
  if (map) fspId = map.get(cert.fingerprint256.replace(/:/g, '').toUpperCase()) ?? (subjectCn ? map.get(subjectCn) : undefined);
  if (fspId === undefined && options.from === 'cn') fspId = subjectCn;
  if (fspId === undefined && options.from === 'san') fspId = firstSan(cert.subjectaltname);
  if (fspId === undefined || !isValidFspId(fspId)) throw new GatewayError('GW_PEER_IDENTITY_UNKNOWN', { detail: 'Client certificate does not name an FSP' });
  return { fspId, subjectCn, fingerprint256: cert.fingerprint256, validTo: new Date(cert.valid_to ?? 0) };
}

function firstSan(san: string | undefined): string | undefined {
  if (!san) return undefined;
  for (const part of san.split(', ')) {
    const m = /^(DNS|URI):(.+)$/.exec(part);
    if (m) return m[2];
  }
  return undefined;
}
