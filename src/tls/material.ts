// The inbound listener's TLS material (server key/cert, client CA bundle, optional CRL), loaded from
// files and swapped into the running server with setSecureContext() when the files change. A new set
// is validated by building a SecureContext first; if that fails the old context stays in force.
// Connections keep the context they were accepted with, except that a reload closes at once every open
// connection whose presented chain the new CRLs revoke, or whose CA the new bundle no longer holds
// (docs/operations.md "Revoking a DFSP"): a keep-alive connection would otherwise go on serving a revoked or
// distrusted certificate. The CA bundle and the CRLs are read
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
  /** The self-signed CAs of caCerts: the trust anchors OpenSSL accepts (node sets no partial-chain flag). */
  readonly anchors: readonly X509Certificate[];
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
      /** The open connections the reload closed: their chain revoked by the new CRLs, or its CA removed. */
      readonly closed: readonly ClosedConnection[];
    }
  | { readonly outcome: 'failed'; readonly error: unknown }
  | { readonly outcome: 'unchanged' }
  /** A connection accepted before a change of trust finished its handshake after it with a chain the new CAs or CRLs refuse: closed. */
  | { readonly outcome: 'closed'; readonly closed: ClosedConnection };

/** Why an open connection is closed on a change of trust: its chain is revoked, or no longer anchored. */
export type ClosedReason = 'crl_revoked' | 'ca_removed';

/** An open connection closed by a reload: its client certificate's fingerprint (SHA-256), and why. */
export interface ClosedConnection {
  readonly fingerprint: string;
  readonly reason: ClosedReason;
}
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
    anchors: caCerts.filter((ca) => ca.checkIssued(ca) && ca.verify(ca.publicKey)),
    crls,
    crlDigest,
    digest: h.digest('hex'),
    certPath: pair.certPath,
    pending: pair.pending,
    stagedError: pair.stagedError,
  };
}

/** What open connections are held to after a change of trust. */
interface Trust {
  readonly crls: readonly CrlInfo[];
  /** The trust anchors of the bundle, when a CA was removed; undefined: only the CRLs are checked. */
  readonly anchors: readonly X509Certificate[] | undefined;
  /** SHA-256 fingerprints of the CA certificates removed from the bundle (and not listed again). */
  readonly removed: ReadonlySet<string>;
}

/** The certificates `socket`'s peer presented, leaf first, with the issuers node completed them with. */
function peerChain(socket: TLSSocket): DetailedPeerCertificate[] {
  const chain: DetailedPeerCertificate[] = [];
  const seen = new Set<string>();
  for (
    let c = socket.getPeerCertificate(true) as DetailedPeerCertificate | undefined;
    c?.raw && c.raw.length > 0 && !seen.has(c.fingerprint256);
    c = c.issuerCertificate
  ) {
    seen.add(c.fingerprint256);
    chain.push(c);
  }
  return chain;
}

/**
 * Why the chain `socket` presented (the leaf, its intermediates, and the CAs node completed it with) no longer
 * holds under `trust`, or undefined when it does:
 *   - crl_revoked: a CRL lists the serial of one of its certificates and the CRL's CA issued it (OpenSSL's
 *     name matching and the CA's signature);
 *   - ca_removed: it holds a CA certificate removed from the bundle (node completes the presented chain with
 *     the CAs of the context the connection was accepted with, so an intermediate taken from the old bundle
 *     shows here as well as a removed root), or none of its certificates is, or was issued and signed by, a
 *     trust anchor of the current bundle. OpenSSL as node configures it accepts only self-signed anchors (no
 *     partial chains), so an intermediate left in the bundle after its root was removed anchors nothing, for
 *     new handshakes and here. A client whose chain the new bundle still accepts (it sent a removed
 *     intermediate itself, say) is closed too, and is served again after a new handshake: the handshake decides.
 * A chain that cannot be parsed when it must be counts as broken (fail closed).
 */
function brokenChain(socket: TLSSocket, trust: Trust): ClosedReason | undefined {
  const chain = peerChain(socket);
  if (chain.length === 0) return undefined; // no client certificate: the listener asks for none (no mTLS)
  let parsed: X509Certificate[] | undefined;
  const certs = () => {
    parsed ??= chain.map((c) => new X509Certificate(c.raw));
    return parsed;
  };
  for (const [i, c] of chain.entries()) {
    let serial: string;
    try {
      serial = certificateSerial(c.raw);
    } catch {
      continue; // OpenSSL accepted it at the handshake; nothing here to match a CRL with
    }
    const listing = trust.crls.filter((crl) => crl.revoked.has(serial));
    if (listing.length === 0) continue;
    let cert: X509Certificate;
    try {
      cert = certs()[i] as X509Certificate;
    } catch {
      return 'crl_revoked'; // its serial is listed and it cannot be checked further
    }
    if (listing.some((crl) => crl.cas.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey)))) return 'crl_revoked';
  }
  const anchors = trust.anchors;
  if (anchors === undefined) return undefined;
  if (chain.some((c) => trust.removed.has(c.fingerprint256))) return 'ca_removed';
  let all: X509Certificate[];
  try {
    all = certs();
  } catch {
    return 'ca_removed';
  }
  const anchored = all.some((cert) => anchors.some((ca) => cert.fingerprint256 === ca.fingerprint256 || (cert.checkIssued(ca) && cert.verify(ca.publicKey))));
  return anchored ? undefined : 'ca_removed';
}

/** The fingerprints of the CA certificates of `before` missing from `after`. */
function removedCas(before: readonly X509Certificate[], after: readonly X509Certificate[]): string[] {
  const kept = new Set(after.map((c) => c.fingerprint256));
  return before.filter((c) => !kept.has(c.fingerprint256)).map((c) => c.fingerprint256);
}

/** A connection accepted before a change of trust may finish its handshake after it, against the old CAs and CRLs. */
const TRUST_CHANGE_WINDOW_MS = 125_000; // TLS_HANDSHAKE_TIMEOUT_MS's largest value (120 s) and a margin

/** Holds the current TLS material of a server and reloads it when its files change. */
export class TlsReloader {
  #current: LoadedTls;
  #servers: Server[] = [];
  /** The open TLS connections of the attached servers, to close those a new CRL revokes or whose CA was removed. */
  readonly #sockets = new Set<TLSSocket>();
  /** When the CRLs changed or a CA was removed last (performance.now()); -Infinity: not since start. */
  #trustChangedAt = Number.NEGATIVE_INFINITY;
  /** The CAs removed from the bundle within the window of the last change of trust (and not listed again). */
  #removed = new Set<string>();
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
      // Accepted before the last change of trust, its handshake met the old CAs and CRLs: check it against the
      // current ones. In a microtask: the server's other 'secureConnection' listeners still see a live socket, and
      // it is closed before the event loop reads anything more from it.
      if (performance.now() - this.#trustChangedAt < TRUST_CHANGE_WINDOW_MS)
        queueMicrotask(() => {
          if (socket.destroyed) return;
          const reason = brokenChain(socket, this.#trust(this.#current, true));
          if (reason === undefined) return;
          const fingerprint = socket.getPeerCertificate()?.fingerprint256 || 'unknown';
          socket.destroy();
          this.listener({ outcome: 'closed', closed: { fingerprint, reason } });
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
    // New handshakes meet the new CAs and CRLs; connections already open would keep serving a certificate the new
    // CRLs revoke, or whose CA is no longer trusted.
    const closed: ClosedConnection[] = [];
    const removed = removedCas(previous.caCerts, next.caCerts);
    // A CA listed again is trusted again, whether or not this reload changes anything else.
    for (const ca of next.caCerts) this.#removed.delete(ca.fingerprint256);
    if (next.crlDigest !== previous.crlDigest || removed.length > 0) {
      const now = performance.now();
      if (now - this.#trustChangedAt >= TRUST_CHANGE_WINDOW_MS) this.#removed = new Set();
      for (const fp of removed) this.#removed.add(fp);
      this.#trustChangedAt = now;
      // Each socket's own chain: one leaf may come with different intermediates on different connections. The
      // CRL walk is cheap (a DER read of each serial); certificates are parsed only when a CRL lists their
      // serial, or when a CA was removed.
      const trust = this.#trust(next, removed.length > 0);
      if (trust.crls.length > 0 || trust.anchors)
        for (const socket of this.#sockets) {
          const reason = brokenChain(socket, trust);
          if (reason === undefined) continue;
          closed.push({ fingerprint: socket.getPeerCertificate()?.fingerprint256 || 'unknown', reason });
          socket.destroy();
        }
    }
    this.listener({ outcome: 'ok', loaded: next, closed });
    return 'ok';
  }

  /** What open connections are held to under `loaded`; `anchors`: whether their CA must still be in the bundle. */
  #trust(loaded: LoadedTls, anchors: boolean): Trust {
    return { crls: loaded.crls, anchors: anchors ? loaded.anchors : undefined, removed: this.#removed };
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
