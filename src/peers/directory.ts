// The outbound peer directory: PEERS_PATH is a JSON or YAML object mapping an FSP id to an
// endpoint URL, or to { endpoint, ilpVersion, jwksUrl }. It is hot-reloaded; a file that does not parse keeps
// the previous directory. PEER_ENDPOINT is the default for ids absent from the file (and for entries that
// only give a jwksUrl: the https URL of the peer's JWK Set, a source of its verification keys, src/jws/sources/).
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { GatewayError } from '../errors.js';
import { isValidFspId } from '../fspiop/headers.js';
import { type FileWatch, watchFiles } from '../util/file-watch.js';

export interface PeerEntry {
  readonly fspId: string;
  /** Base URL; the FSPIOP path is appended to its path. Undefined for an entry that only names keys. */
  readonly endpoint: URL | undefined;
  readonly ilpVersion: '1' | '4' | undefined;
  /** The peer's JWK Set (https), a source of its verification keys. */
  readonly jwksUrl?: URL | undefined;
}

/** A peer entry that routes: its endpoint is known. */
export type PeerRoute = PeerEntry & { readonly endpoint: URL };

/**
 * Parses a peer directory text (JSON is YAML, so one parser serves both).
 * @throws Error (plain, message starting "peer directory") for any text that is not a valid directory.
 */
export function parsePeerDirectory(text: string): Map<string, PeerEntry> {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (cause) {
    throw new Error(`peer directory is not JSON or YAML: ${(cause as Error).message.split('\n')[0]}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error('peer directory must be an object of fspId → endpoint');
  const out = new Map<string, PeerEntry>();
  for (const [fspId, v] of Object.entries(raw as Record<string, unknown>)) {
    if (!isValidFspId(fspId)) throw new Error(`peer directory: invalid FSP id ${JSON.stringify(fspId)}`);
    const spec = typeof v === 'string' ? { endpoint: v } : (v as { endpoint?: unknown; ilpVersion?: unknown; jwksUrl?: unknown });
    if (!spec || typeof spec !== 'object') throw new Error(`peer directory: ${fspId} needs an http(s) endpoint`);
    const keysOnly = spec.endpoint === undefined && spec.jwksUrl !== undefined;
    if (!keysOnly && (typeof spec.endpoint !== 'string' || !/^https?:\/\//.test(spec.endpoint)))
      throw new Error(`peer directory: ${fspId} needs an http(s) endpoint`);
    const ilp = spec.ilpVersion === undefined ? undefined : String(spec.ilpVersion);
    if (ilp !== undefined && ilp !== '1' && ilp !== '4') throw new Error(`peer directory: ${fspId} ilpVersion must be 1 or 4`);
    // Keys are trusted only over TLS: a JWK Set fetched in the clear could be replaced on the way.
    if (spec.jwksUrl !== undefined && (typeof spec.jwksUrl !== 'string' || !/^https:\/\/[^\s/]/.test(spec.jwksUrl)))
      throw new Error(`peer directory: ${fspId} jwksUrl must be an https URL`);
    out.set(fspId, {
      fspId,
      endpoint: keysOnly ? undefined : endpointUrl(fspId, spec.endpoint as string),
      ilpVersion: ilp,
      ...(spec.jwksUrl !== undefined ? { jwksUrl: endpointUrl(fspId, spec.jwksUrl as string) } : {}),
    });
  }
  return out;
}

function endpointUrl(fspId: string, endpoint: string): URL {
  let u: URL;
  try {
    u = new URL(endpoint);
  } catch {
    throw new Error(`peer directory: ${fspId} has an invalid URL`);
  }
  // As for URL settings (src/config/schema.ts url()): credentials are never sent, but a URL is shown in
  // /admin/peers, logs and metrics' help; refused without echoing them.
  if (u.username !== '' || u.password !== '')
    throw new Error(`peer directory: ${fspId} URL carries credentials (user:password@); they are not taken from a URL`);
  return u;
}

export type DirectoryListener = (e: { outcome: 'ok' | 'failed'; error?: unknown; size?: number }) => void;

export class PeerDirectory {
  #peers = new Map<string, PeerEntry>();
  #watch: FileWatch | undefined;
  readonly #fallback: URL | undefined;
  readonly #subscribers: (() => void)[] = [];

  constructor(
    private readonly path: string | undefined,
    fallback: string | undefined,
    private readonly listener: DirectoryListener = () => {},
  ) {
    this.#fallback = fallback ? new URL(fallback) : undefined;
    if (path) this.#peers = parsePeerDirectory(readFileSync(path, 'utf8')); // start-up: a broken file stops the gateway
  }

  reload(): void {
    if (!this.path) return;
    try {
      this.#peers = parsePeerDirectory(readFileSync(this.path, 'utf8'));
      this.listener({ outcome: 'ok', size: this.#peers.size });
    } catch (error) {
      this.listener({ outcome: 'failed', error });
      return;
    }
    for (const fn of this.#subscribers) fn();
  }

  /** Calls `fn` after every successful reload (the key sources follow the jwksUrls). */
  subscribe(fn: () => void): void {
    this.#subscribers.push(fn);
  }

  /** The peers' JWK Set URLs (entries with a jwksUrl). */
  jwksUrls(): Map<string, URL> {
    const out = new Map<string, URL>();
    for (const p of this.#peers.values()) if (p.jwksUrl) out.set(p.fspId, p.jwksUrl);
    return out;
  }

  /** Reloads when the file changes (src/util/file-watch.ts); `onError`: the watch is degraded. */
  watch(intervalMs: number, onError?: (err: unknown) => void): void {
    if (this.path) this.#watch = watchFiles([this.path], () => this.reload(), { intervalMs, ...(onError ? { onError } : {}) });
  }

  /** The endpoint for a destination, or GW_DESTINATION_UNKNOWN (3201). */
  resolve(fspId: string): PeerRoute {
    const p = this.#peers.get(fspId);
    if (p?.endpoint) return p as PeerRoute;
    if (this.#fallback) return { fspId, endpoint: this.#fallback, ilpVersion: p?.ilpVersion };
    throw new GatewayError('GW_DESTINATION_UNKNOWN', { detail: 'No route to FSPIOP-Destination' });
  }

  has(fspId: string): boolean {
    return this.#peers.has(fspId);
  }

  list(): { fspId: string; endpoint: string | null; ilpVersion?: string; jwksUrl?: string }[] {
    return [...this.#peers.values()].map((p) => ({
      fspId: p.fspId,
      endpoint: p.endpoint?.href ?? null,
      ...(p.ilpVersion ? { ilpVersion: p.ilpVersion } : {}),
      ...(p.jwksUrl ? { jwksUrl: p.jwksUrl.href } : {}),
    }));
  }

  ids(): string[] {
    return [...this.#peers.keys()];
  }

  close(): void {
    this.#watch?.close();
  }
}
