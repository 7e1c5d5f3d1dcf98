// The outbound peer directory: PEERS_PATH is a JSON or YAML object mapping an FSP id to an
// endpoint URL, or to { endpoint, ilpVersion }. It is hot-reloaded; a file that does not parse keeps
// the previous directory. PEER_ENDPOINT is the default for ids absent from the file.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { GatewayError } from '../errors.js';
import { isValidFspId } from '../fspiop/headers.js';
import { type FileWatch, watchFiles } from '../util/file-watch.js';

export interface PeerEntry {
  readonly fspId: string;
  /** Base URL; the FSPIOP path is appended to its path. */
  readonly endpoint: URL;
  readonly ilpVersion: '1' | '4' | undefined;
}

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
    const spec = typeof v === 'string' ? { endpoint: v } : (v as { endpoint?: unknown; ilpVersion?: unknown });
    if (!spec || typeof spec.endpoint !== 'string' || !/^https?:\/\//.test(spec.endpoint))
      throw new Error(`peer directory: ${fspId} needs an http(s) endpoint`);
    const ilp = spec.ilpVersion === undefined ? undefined : String(spec.ilpVersion);
    if (ilp !== undefined && ilp !== '1' && ilp !== '4') throw new Error(`peer directory: ${fspId} ilpVersion must be 1 or 4`);
    out.set(fspId, { fspId, endpoint: endpointUrl(fspId, spec.endpoint), ilpVersion: ilp });
  }
  return out;
}

function endpointUrl(fspId: string, endpoint: string): URL {
  try {
    return new URL(endpoint);
  } catch {
    throw new Error(`peer directory: ${fspId} has an invalid endpoint URL`);
  }
}

export type DirectoryListener = (e: { outcome: 'ok' | 'failed'; error?: unknown; size?: number }) => void;

export class PeerDirectory {
  #peers = new Map<string, PeerEntry>();
  #watch: FileWatch | undefined;
  readonly #fallback: URL | undefined;

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
    }
  }

  /** Reloads when the file changes (src/util/file-watch.ts); `onError`: the watch is degraded. */
  watch(intervalMs: number, onError?: (err: unknown) => void): void {
    if (this.path) this.#watch = watchFiles([this.path], () => this.reload(), { intervalMs, ...(onError ? { onError } : {}) });
  }

  /** The endpoint for a destination, or GW_DESTINATION_UNKNOWN (3201). */
  resolve(fspId: string): PeerEntry {
    const p = this.#peers.get(fspId);
    if (p) return p;
    if (this.#fallback) return { fspId, endpoint: this.#fallback, ilpVersion: undefined };
    throw new GatewayError('GW_DESTINATION_UNKNOWN', { detail: 'No route to FSPIOP-Destination' });
  }

  has(fspId: string): boolean {
    return this.#peers.has(fspId);
  }

  list(): { fspId: string; endpoint: string; ilpVersion?: string }[] {
    return [...this.#peers.values()].map((p) => ({ fspId: p.fspId, endpoint: p.endpoint.href, ...(p.ilpVersion ? { ilpVersion: p.ilpVersion } : {}) }));
  }

  ids(): string[] {
    return [...this.#peers.keys()];
  }

  close(): void {
    this.#watch?.close();
  }
}
