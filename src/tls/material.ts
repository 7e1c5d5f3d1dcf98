// The inbound listener's TLS material (server key/cert, client CA bundle, optional CRL), loaded from
// files and swapped into the running server with setSecureContext() when the files change. A new set
// is validated by building a SecureContext first; if that fails the old context stays in force.
// Connections keep the context they were accepted with, except that a reload closes at once every open
// connection whose client chain the new CRLs revoke, or whose CA the new bundle no longer holds (chain-trust.ts;
// docs/operations.md "Revoking a DFSP"): a keep-alive connection would otherwise go on serving a revoked or
// distrusted certificate. A connection accepted before such a reload and shaken hands after it is judged too. The CA bundle and the CRLs are read
// strictly first (crl.ts). setSecureContext() builds the whole context from the options it is given, so each set
// carries the settings too (TLS version floor, groups).
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:https';
import { createSecureContext, type SecureContextOptions, type TLSSocket } from 'node:tls';
import { LRUCache } from 'lru-cache';
import { type FileWatch, watchFiles } from '../util/file-watch.js';
import {
  brokenChain,
  type ClosedReason,
  caIdentity,
  capturePeerChain,
  chainNotAfter,
  issuedBy,
  type PeerChain,
  removedCaIdentities,
  type Trust,
} from './chain-trust.js';
import { type CrlInfo, CrlNotYetValid, readCaBundle, readCrlFile } from './crl.js';
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
  /** caIdentity of each CA of caCerts: read when the files are, so a CA whose key node cannot import is refused there. */
  readonly caIdentities: readonly string[];
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
  // Every CA's key is read here, so that a CA whose key node cannot import refuses the set before anything of it
  // is applied (the sweep reads CA keys; OpenSSL would load such a certificate all the same).
  const caIdentities = caCerts.map((cert, i) => {
    try {
      return caIdentity(cert);
    } catch (e) {
      throw new Error(`CA file: the key of certificate ${i + 1} cannot be read: ${(e as Error).message}`);
    }
  });
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
    anchors: caCerts.filter((ca) => issuedBy(ca, ca)),
    caIdentities,
    crls,
    crlDigest,
    digest: h.digest('hex'),
    certPath: pair.certPath,
    pending: pair.pending,
    stagedError: pair.stagedError,
  };
}

/** A connection accepted before a change of trust may finish its handshake after it, against the old CAs and CRLs. */
const TRUST_CHANGE_WINDOW_MS = 125_000; // TLS_HANDSHAKE_TIMEOUT_MS's largest value (120 s) and a margin

/**
 * The TCP socket a TLS server socket was accepted on. node sets `_parent` on the server's TLS sockets (Node 20
 * and 24, lib/_tls_wrap.js); were it ever gone, every handshake would be judged as one accepted before the last
 * change of trust (fail closed, never open): test/integration/tls/ca-removal.test.ts would show it.
 */
const acceptedOn = (socket: TLSSocket): object | undefined => (socket as unknown as { _parent?: object | null })._parent ?? undefined;

/** Holds the current TLS material of a server and reloads it when its files change. */
export class TlsReloader {
  #current: LoadedTls;
  #servers: Server[] = [];
  /** The open mTLS connections of the attached servers with their client chains, judged again on a change of trust. */
  readonly #chains = new Map<TLSSocket, PeerChain>();
  /** The chain of each leaf's last full handshake, for its resumed sessions (bounded: least recently used go). */
  readonly #fullChains = new LRUCache<string, PeerChain>({ max: 4096 });
  /** Counts the changes of trust (CRLs changed, a CA removed). */
  #generation = 0;
  /** The generation each TCP connection was accepted under, until its handshake ends. */
  readonly #acceptedUnder = new WeakMap<object, number>();
  /** CAs removed from the bundle (caIdentity) within the last TRUST_CHANGE_WINDOW_MS, by the generation that removed them. */
  readonly #removed = new Map<string, { readonly generation: number; readonly at: number }>();
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

  /**
   * When the first certificate of the client chain of `socket` expires (epoch ms): the chain of its leaf's last full
   * handshake on a resumed session (a ticket carries the leaf alone, and OpenSSL checks no validity on resumption).
   */
  chainNotAfter(socket: TLSSocket): number | undefined {
    const chain = this.#chains.get(socket);
    return chain === undefined ? undefined : chainNotAfter(chain, this.#current.caCerts);
  }

  /** The certificates (DER, leaf first) the client of `socket` sent; on a resumed session, in its leaf's last full handshake. */
  presentedChain(socket: TLSSocket): readonly Buffer[] | undefined {
    return this.#chains.get(socket)?.raws;
  }

  attach(server: Server): void {
    this.#servers.push(server);
    server.on('connection', (raw: object) => this.#acceptedUnder.set(raw, this.#generation));
    // Before node's own listener, which sets up the HTTP parser: a request the client sent with its Finished may
    // be read in the same turn, and one that reached the pipeline before a close could still be forwarded.
    server.prependListener('secureConnection', (socket: TLSSocket) => {
      const captured = capturePeerChain(socket);
      if (captured === undefined) return; // no client certificate: the listener asks for none (no mTLS)
      // A resumed session carries the leaf only (OpenSSL keeps no presented chain in a ticket), so node shows the
      // leaf and what the store adds: a client that sends its own intermediate would look unanchored. It is judged
      // on the chain of its leaf's last full handshake (hostile review of 2026-12-01); without one, on what it shows.
      let chain = captured;
      if (socket.isSessionReused()) chain = this.#fullChains.get(captured.leaf) ?? captured;
      else this.#fullChains.set(captured.leaf, captured);
      this.#chains.set(socket, chain);
      socket.once('close', () => this.#chains.delete(socket));
      const raw = acceptedOn(socket);
      const acceptedUnder = raw === undefined ? undefined : this.#acceptedUnder.get(raw);
      // Accepted before the last change of trust, its handshake met the old CAs and CRLs: judged against the
      // current ones and the CAs removed since. A chain too long is closed whenever it comes. At once: a microtask
      // ran after node had parsed the request and started the pipeline on it (hostile review of 2026-12-01).
      if (!chain.tooLong && acceptedUnder === this.#generation) return;
      const reason = brokenChain(chain, this.#trustSince(acceptedUnder));
      if (reason !== undefined) this.#close(socket, reason, (closed) => this.listener({ outcome: 'closed', closed }));
    });
  }

  /** What a connection accepted under `generation` (undefined: unknown) is held to now. */
  #trustSince(generation: number | undefined): Trust {
    const removed = new Set<string>();
    for (const [id, r] of this.#removed) if (generation === undefined || r.generation > generation) removed.add(id);
    return { crls: this.#current.crls, anchors: this.#current.anchors, removed };
  }

  /** Closes `socket` and reports it with its client certificate's fingerprint. */
  #close(socket: TLSSocket, reason: ClosedReason, report: (c: ClosedConnection) => void): void {
    const fingerprint = socket.getPeerCertificate()?.fingerprint256 || 'unknown';
    socket.destroy();
    this.#chains.delete(socket);
    report({ fingerprint, reason });
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
    const removed = removedCaIdentities(previous.caIdentities, next.caIdentities);
    // A CA listed again is trusted again, whether or not this reload changes anything else.
    for (const id of next.caIdentities) this.#removed.delete(id);
    if (next.crlDigest !== previous.crlDigest || removed.length > 0) {
      this.#generation++;
      const now = performance.now();
      for (const [id, r] of this.#removed) if (now - r.at >= TRUST_CHANGE_WINDOW_MS) this.#removed.delete(id);
      for (const id of removed) this.#removed.set(id, { generation: this.#generation, at: now });
      // Each connection's own chain: one leaf may come with different intermediates on different connections.
      // A chain is parsed and its links verified once, at the first change of trust it meets.
      const trust: Trust = { crls: next.crls, anchors: removed.length > 0 ? next.anchors : undefined, removed: new Set(removed) };
      if (trust.crls.length > 0 || trust.anchors)
        for (const [socket, chain] of this.#chains) {
          const reason = brokenChain(chain, trust);
          if (reason !== undefined) this.#close(socket, reason, (c) => closed.push(c));
        }
    }
    this.listener({ outcome: 'ok', loaded: next, closed });
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
