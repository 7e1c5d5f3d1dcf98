// The inbound listener's TLS material (server key/cert, client CA bundle, optional CRL), loaded from
// files and swapped into the running server with setSecureContext() when the files change. A new set
// is validated by building a SecureContext first; if that fails the old context stays in force.
// In-flight connections keep the context they were accepted with. setSecureContext() builds the whole context
// from the options it is given, so each set carries the settings too (TLS version floor, groups).
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:https';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { type FileWatch, watchFiles } from '../util/file-watch.js';
import { at, type PairInForce, pairInForce, stagedPaths } from './staged.js';

export interface TlsFiles {
  readonly certPath: string;
  readonly keyPath: string;
  readonly caPath: string | undefined;
  readonly crlPath: string | undefined;
}

export interface LoadedTls {
  readonly options: SecureContextOptions;
  readonly serverCert: X509Certificate;
  readonly caCerts: readonly X509Certificate[];
  /** Hash of all file contents, to skip no-op reloads. */
  readonly digest: string;
  /** The server certificate's file in force (IN_SERVER_CERT_PATH, or its staged pair once active: src/tls/staged.ts). */
  readonly certPath: string;
  /** A staged pair waiting for its activation time, or why a staged pair is ignored. */
  readonly pending: PairInForce['pending'];
  readonly stagedError: Error | undefined;
}

export type ReloadEvent =
  | { readonly outcome: 'ok'; readonly loaded: LoadedTls }
  | { readonly outcome: 'failed'; readonly error: unknown }
  | { readonly outcome: 'unchanged' };
export type ReloadListener = (e: ReloadEvent) => void;

/** What every context of the server gets besides the files: kept across reloads (setSecureContext replaces it all). */
export interface TlsContextSettings {
  readonly minVersion: 'TLSv1.2' | 'TLSv1.3';
  /** TLS_GROUPS as resolved (src/tls/groups.ts), Node's `ecdhCurve`. */
  readonly ecdhCurve: string;
}

/** Reads and validates the TLS files. Throws when any file is missing or the set does not form a usable context. */
function loadTlsFiles(files: TlsFiles, settings: TlsContextSettings, now: number): LoadedTls {
  const pair = pairInForce(files.certPath, files.keyPath, now);
  const { cert, key } = pair;
  const ca = files.caPath ? readFileSync(files.caPath) : undefined;
  const crl = files.crlPath ? readFileSync(files.crlPath) : undefined;
  const options: SecureContextOptions = { cert, key, ...settings, ...(ca ? { ca } : {}), ...(crl ? { crl } : {}) };
  createSecureContext(options); // throws on garbage, key/cert mismatch, bad CRL
  const serverCert = new X509Certificate(cert);
  const caCerts = ca ? splitPem(ca.toString('utf8')).map((p) => new X509Certificate(p)) : [];
  const h = createHash('sha256');
  for (const b of [cert, key, ca, crl]) h.update(b ?? '-');
  // A staged pair appearing, changing or refused is news too (metrics, log), though the context is the same.
  h.update(`${pair.pending?.activateAt}|${pair.pending?.certificate.fingerprint256}|${pair.stagedError?.message}`);
  return { options, serverCert, caCerts, digest: h.digest('hex'), certPath: pair.certPath, pending: pair.pending, stagedError: pair.stagedError };
}

function splitPem(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

/** Holds the current TLS material of a server and reloads it when its files change. */
export class TlsReloader {
  #current: LoadedTls;
  #servers: Server[] = [];
  #watch: FileWatch | undefined;
  #cancelSwitch: () => void = () => {};

  constructor(
    private readonly files: TlsFiles,
    private readonly settings: TlsContextSettings,
    private readonly listener: ReloadListener = () => {},
  ) {
    this.#current = loadTlsFiles(files, settings, Date.now());
    this.#schedule();
  }

  /** A staged certificate takes over at its activation time on every replica, without waiting for a file event. */
  #schedule(): void {
    this.#cancelSwitch();
    this.#cancelSwitch = at(this.#current.pending?.activateAt, () => this.reload());
  }

  get current(): LoadedTls {
    return this.#current;
  }

  attach(server: Server): void {
    this.#servers.push(server);
  }

  /** Re-reads the files now. Returns the outcome; on failure the running context is untouched. */
  reload(): 'ok' | 'failed' | 'unchanged' {
    let next: LoadedTls;
    try {
      next = loadTlsFiles(this.files, this.settings, Date.now());
    } catch (error) {
      this.listener({ outcome: 'failed', error });
      return 'failed';
    }
    if (next.digest === this.#current.digest) return 'unchanged';
    for (const s of this.#servers) s.setSecureContext(next.options);
    this.#current = next;
    this.#schedule();
    this.listener({ outcome: 'ok', loaded: next });
    return 'ok';
  }

  /** Reloads when a file changes (src/util/file-watch.ts); `onError`: the watch is degraded. */
  watch(intervalMs: number, onError?: (err: unknown) => void): void {
    const staged = stagedPaths(this.files.certPath, this.files.keyPath);
    const paths = [this.files.certPath, this.files.keyPath, this.files.caPath, this.files.crlPath, staged.cert, staged.key, staged.activateAt].filter(
      (p): p is string => p !== undefined,
    );
    this.#watch = watchFiles(paths, () => this.reload(), { intervalMs, debounceMs: 100, ...(onError ? { onError } : {}) });
  }

  close(): void {
    this.#watch?.close();
    this.#cancelSwitch();
  }
}
