// The inbound listener's TLS material (server key/cert, client CA bundle, optional CRL), loaded from
// files and swapped into the running server with setSecureContext() when the files change. A new set
// is validated by building a SecureContext first; if that fails the old context stays in force.
// Connections keep the context they were accepted with, except that a reload closes at once every open
// connection whose client certificate the new CRL revokes (docs/operations.md "Revoking a DFSP"): a
// keep-alive connection would otherwise go on serving a revoked certificate. The CA bundle and the CRLs are read
// strictly first (crl.ts). setSecureContext() builds the whole context from the options it is given, so each set
// carries the settings too (TLS version floor, groups).
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:https';
import { createSecureContext, type DetailedPeerCertificate, type SecureContextOptions, type TLSSocket } from 'node:tls';
import { type FileWatch, watchFiles } from '../util/file-watch.js';
import { type CrlInfo, CrlNotYetValid, certificateSerial, readCaBundle, readCrlFile } from './crl.js';
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
  /** The CRLs of IN_CRL_PATH (none without it). */
  readonly crls: readonly CrlInfo[];
  /** Hash of the CRL file alone: open connections are checked again only when it changes. */
  readonly crlDigest: string;
  /** Hash of all file contents, to skip no-op reloads. */
  readonly digest: string;
  /** The server certificate's file in force (IN_SERVER_CERT_PATH, or its staged pair once active: src/tls/staged.ts). */
  readonly certPath: string;
  /** A staged pair waiting for its activation time, or why a staged pair is ignored. */
  readonly pending: PairInForce['pending'];
  readonly stagedError: Error | undefined;
}

export type ReloadEvent =
  | {
      readonly outcome: 'ok';
      readonly loaded: LoadedTls;
      /** Fingerprints of the client certificates whose open connections the new CRL closed. */
      readonly revokedClosed: readonly string[];
    }
  | { readonly outcome: 'failed'; readonly error: unknown }
  | { readonly outcome: 'unchanged' }
  /** A connection accepted before a CRL change finished its handshake after it with a certificate the new CRLs revoke: closed. */
  | { readonly outcome: 'closed'; readonly fingerprint: string };
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
  // Node accepts a CA file without a certificate and reads one CRL per buffer: both are read strictly first.
  const bundle = ca ? readCaBundle(ca.toString('utf8')) : undefined;
  const caCerts = bundle?.certs ?? [];
  const crls = crl ? readCrlFile(crl.toString('utf8'), caCerts, now) : [];
  // OpenSSL gets what was read and checked here, block by block, not the raw files.
  const options: SecureContextOptions = { cert, key, ...settings, ...(bundle ? { ca: bundle.pems } : {}), ...(crl ? { crl: crls.map((c) => c.pem) } : {}) };
  createSecureContext(options); // throws on garbage, key/cert mismatch, bad CRL
  const serverCert = new X509Certificate(cert);
  const h = createHash('sha256');
  for (const b of [cert, key, ca, crl]) h.update(b ?? '-');
  // A staged pair appearing, changing or refused is news too (metrics, log), though the context is the same.
  h.update(`${pair.pending?.activateAt}|${pair.pending?.certificate.fingerprint256}|${pair.stagedError?.message}`);
  const crlDigest = createHash('sha256')
    .update(crl ?? '-')
    .digest('hex');
  return {
    options,
    serverCert,
    caCerts,
    crls,
    crlDigest,
    digest: h.digest('hex'),
    certPath: pair.certPath,
    pending: pair.pending,
    stagedError: pair.stagedError,
  };
}

/**
 * Whether one of `crls` revokes a certificate of the chain `socket` presented (the leaf, or an intermediate
 * CA): its serial is listed by a CRL whose CA issued it (OpenSSL's name matching and the CA's signature).
 */
function revokedChain(socket: TLSSocket, crls: readonly CrlInfo[]): boolean {
  const seen = new Set<string>();
  for (
    let c = socket.getPeerCertificate(true) as DetailedPeerCertificate | undefined;
    c?.raw && c.raw.length > 0 && !seen.has(c.fingerprint256);
    c = c.issuerCertificate
  ) {
    seen.add(c.fingerprint256);
    let serial: string;
    try {
      serial = certificateSerial(c.raw);
    } catch {
      continue; // OpenSSL accepted it at the handshake; nothing here to match a CRL with
    }
    const listing = crls.filter((crl) => crl.revoked.has(serial));
    if (listing.length === 0) continue;
    const cert = new X509Certificate(c.raw);
    if (listing.some((crl) => crl.cas.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey)))) return true;
  }
  return false;
}

/** A connection accepted before a CRL change may finish its handshake after it, against the old CRL. */
const CRL_CHANGE_WINDOW_MS = 125_000; // TLS_HANDSHAKE_TIMEOUT_MS's largest value (120 s) and a margin

/** Holds the current TLS material of a server and reloads it when its files change. */
export class TlsReloader {
  #current: LoadedTls;
  #servers: Server[] = [];
  /** The open TLS connections of the attached servers, to close those a new CRL revokes. */
  readonly #sockets = new Set<TLSSocket>();
  /** When the CRLs last changed (performance.now()); -Infinity: not since start. */
  #crlChangedAt = Number.NEGATIVE_INFINITY;
  #watch: FileWatch | undefined;
  #cancelSwitch: () => void = () => {};
  #cancelRetry: () => void = () => {};

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
    server.on('secureConnection', (socket: TLSSocket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
      // Accepted before the last CRL change, its handshake met the old CRLs: check it against the new ones. In a
      // microtask: the server's other 'secureConnection' listeners still see a live socket, and it is closed before
      // the event loop reads anything more from it.
      if (performance.now() - this.#crlChangedAt < CRL_CHANGE_WINDOW_MS)
        queueMicrotask(() => {
          if (socket.destroyed || !revokedChain(socket, this.#current.crls)) return;
          const fingerprint = socket.getPeerCertificate()?.fingerprint256 ?? 'unknown';
          socket.destroy();
          this.listener({ outcome: 'closed', fingerprint });
        });
    });
  }

  /** Re-reads the files now. Returns the outcome; on failure the running context is untouched. */
  reload(): 'ok' | 'failed' | 'unchanged' {
    let next: LoadedTls;
    try {
      next = loadTlsFiles(this.files, this.settings, Date.now());
    } catch (error) {
      // A CRL not valid yet is tried again when it is (the files need not change again).
      if (error instanceof CrlNotYetValid) {
        this.#cancelRetry();
        this.#cancelRetry = at(error.validFrom, () => this.reload());
      }
      this.listener({ outcome: 'failed', error });
      return 'failed';
    }
    if (next.digest === this.#current.digest) return 'unchanged';
    for (const s of this.#servers) s.setSecureContext(next.options);
    const previous = this.#current;
    this.#current = next;
    this.#schedule();
    // New handshakes meet the new CRL; connections already open would keep serving a certificate it revokes.
    const closed: string[] = [];
    if (next.crlDigest !== previous.crlDigest) {
      this.#crlChangedAt = performance.now();
      // Each socket's own chain: one leaf may come with different intermediates on different connections. The
      // walk is cheap (a DER read of each serial); certificates are parsed only when a CRL lists their serial.
      if (next.crls.length > 0)
        for (const socket of this.#sockets) {
          const fingerprint = socket.getPeerCertificate()?.fingerprint256;
          if (fingerprint && revokedChain(socket, next.crls)) {
            socket.destroy();
            closed.push(fingerprint);
          }
        }
    }
    this.listener({ outcome: 'ok', loaded: next, revokedClosed: closed });
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
    this.#cancelRetry();
  }
}
