// The verification-key directory (docs/jws.md, "Key directory layout and rotation"), modelled on jose's remote JWKS: an
// index of key files from the last scan, parsed keys in an LRU cache (a cached verify parses no PEM),
// single-flight loads, a cooldown that bounds directory scans caused by unknown sources, and the gateway's
// file watcher on the directory (src/util/file-watch.ts: fs.watch plus a periodic rescan, Kubernetes `..data`
// swaps seen).
import type { KeyObject } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { LRUCache } from 'lru-cache';
import { NOOP_TELEMETRY, type Telemetry } from '../telemetry/types.js';
import { type FileWatch, watchDirectory } from '../util/file-watch.js';
import { type KeyListing, type ParsedKeyFile, parseKeyFile } from './key-file.js';
import { changedIds, type FileRef, type KeyIndex, scanKeyDirectory } from './key-scan.js';
import type { VerificationKey } from './verify.js';

export interface KeyDirectoryOptions {
  readonly dir: string;
  readonly cacheSize?: number;
  readonly cacheTtlSeconds?: number;
  readonly unknownSourceCooldownSeconds?: number;
  readonly rescanIntervalSeconds?: number;
  readonly telemetry?: Telemetry;
  /** Use fs.watch as well as the periodic rescan (default true). */
  readonly watch?: boolean;
  /**
   * Why something did not work: the directory watch is degraded or a rescan it triggered failed (default: a
   * process warning), or a key file does not parse (the previous key stays; also counted as load_failed).
   */
  readonly onError?: (err: unknown) => void;
  readonly now?: () => number;
}

interface Parsed {
  readonly sig: string;
  readonly at: number;
  readonly parsed: ParsedKeyFile;
}

const EMPTY: readonly VerificationKey[] = Object.freeze([]);
/** Longest a lookup waits for a scan another lookup started (and never longer than the cooldown). */
const SCAN_WAIT_MAX_MS = 2000;

export class KeyDirectory {
  /** Counters for tests and the admin API. */
  readonly stats = { pemParses: 0, scans: 0, loads: 0, reloadFailures: 0 };
  private index: KeyIndex = new Map();
  private readonly parsed = new Map<string, Parsed>();
  private readonly cache: LRUCache<string, readonly VerificationKey[]>;
  private readonly inflight = new Map<string, Promise<readonly VerificationKey[]>>();
  private scanning: Promise<void> | undefined;
  private rescanQueued = false;
  private generation = 0;
  private lastUnknownScan = -Infinity;
  private readable = true;
  /** Files whose latest content failed to parse. */
  private readonly broken = new Set<string>();
  private watcher: FileWatch | undefined;
  private readonly telemetry: Telemetry;
  private readonly now: () => number;
  private readonly ttlMs: number;
  private readonly cooldownMs: number;

  private constructor(private readonly opts: KeyDirectoryOptions) {
    this.telemetry = opts.telemetry ?? NOOP_TELEMETRY;
    this.now = opts.now ?? Date.now;
    this.ttlMs = (opts.cacheTtlSeconds ?? 3600) * 1000;
    this.cooldownMs = (opts.unknownSourceCooldownSeconds ?? 5) * 1000;
    this.cache = new LRUCache({
      max: opts.cacheSize ?? 1000,
      ttl: this.ttlMs,
      dispose: (_v, fspId, reason) => {
        if (reason === 'evict') for (const f of this.index.get(fspId) ?? []) this.parsed.delete(f.file);
      },
    });
  }

  /** Scans the directory, parses up to cacheSize FSPs' keys, and starts watching. */
  static async open(opts: KeyDirectoryOptions): Promise<KeyDirectory> {
    if (!(await stat(opts.dir).catch(() => undefined))?.isDirectory()) {
      throw new Error(`JWS_VERIFICATION_KEYS_DIRECTORY is not a directory: ${opts.dir}`);
    }
    const d = new KeyDirectory(opts);
    // The watch's baseline is taken before the first scan, so no change between the two is missed.
    d.watcher = watchDirectory(opts.dir, () => d.rescan(), {
      intervalMs: (opts.rescanIntervalSeconds ?? 2) * 1000,
      fsWatch: opts.watch !== false,
      ...(opts.onError ? { onError: opts.onError } : {}),
    });
    await d.watcher.ready;
    await d.rescan();
    const ids = [...d.index.keys()].slice(0, opts.cacheSize ?? 1000);
    await Promise.all(ids.map((id) => d.load(id)));
    return d;
  }

  /**
   * The keys of one FSP (the `keysFor` of verifyRequest). Synchronous on a cache hit. An unknown
   * source triggers at most one directory scan per cooldown; otherwise it gets an empty list.
   */
  get(fspId: string): readonly VerificationKey[] | Promise<readonly VerificationKey[]> {
    const hit = this.cache.get(fspId);
    if (hit !== undefined) {
      this.telemetry.keyCache({ event: 'hit', size: this.cache.size });
      return hit;
    }
    if (this.index.has(fspId)) {
      this.telemetry.keyCache({ event: 'miss', size: this.cache.size });
      return this.load(fspId);
    }
    const now = this.now();
    if (now - this.lastUnknownScan < this.cooldownMs) {
      // A scan still running may be the one that finds this source's new file (a peer's first key, written
      // just before its first request): wait for it rather than refuse. It costs no further scan.
      // The wait is bounded (bounded(): a scan stuck on a hung mount must not hold requests); past it, the answer
      // is what the index has then, usually none (refused: fail closed).
      if (this.scanning !== undefined) {
        this.telemetry.keyCache({ event: 'miss', size: this.cache.size });
        return this.bounded(this.scanning).then(() => this.afterScan(fspId));
      }
      this.telemetry.keyCache({ event: 'negative_hit', size: this.cache.size });
      return EMPTY;
    }
    this.lastUnknownScan = now;
    this.telemetry.keyCache({ event: 'miss', size: this.cache.size });
    return this.bounded(this.rescan()).then(() => this.afterScan(fspId));
  }

  /** Resolves when `scan` settles or after min(cooldown, SCAN_WAIT_MAX_MS), whichever comes first; never rejects. */
  private bounded(scan: Promise<void>): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.min(this.cooldownMs, SCAN_WAIT_MAX_MS));
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      scan.then(done, done);
    });
  }

  /** What a lookup waiting on a scan gets: the keys the scan found (cached by now, or loaded), or none. */
  private afterScan(fspId: string): readonly VerificationKey[] | Promise<readonly VerificationKey[]> {
    return this.cache.get(fspId) ?? (this.index.has(fspId) ? this.load(fspId) : EMPTY);
  }

  /** Whether the last scan found a key file for `fspId` (no scan, no load). */
  has(fspId: string): boolean {
    return this.index.has(fspId);
  }

  /** FSP ids with at least one key file. */
  knownIds(): string[] {
    return [...this.index.keys()].sort();
  }

  /** Every key file with its fingerprint, type and expiry (parses files not parsed yet). */
  async list(): Promise<KeyListing[]> {
    return (await this.listWithKeys()).map((e) => e.listing);
  }

  /** list(), each listing with its public key. */
  async listWithKeys(): Promise<{ listing: KeyListing; publicKey: KeyObject }[]> {
    const out: { listing: KeyListing; publicKey: KeyObject }[] = [];
    for (const id of this.knownIds()) {
      for (const ref of this.index.get(id) ?? []) {
        // A file that does not parse is left out here; loading it reports why (onError, load_failed).
        const p = this.parsed.get(ref.file) ?? (await this.parseRef(ref).catch(() => undefined));
        if (p) out.push({ listing: p.parsed.listing, publicKey: p.parsed.publicKey });
      }
    }
    return out;
  }

  /**
   * Forces a rescan now (admin API, tests). Resolves true when the directory was readable and no loaded
   * key file is currently failing to parse (those keep their previous key).
   */
  async reload(): Promise<boolean> {
    await this.rescan();
    return this.readable && this.broken.size === 0;
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  /** Single-flight rescan; a request arriving during a scan queues exactly one more. */
  private rescan(): Promise<void> {
    if (this.scanning) {
      this.rescanQueued = true;
      return this.scanning;
    }
    this.scanning = (async () => {
      try {
        do {
          this.rescanQueued = false;
          await this.scanOnce();
        } while (this.rescanQueued);
      } finally {
        this.scanning = undefined;
      }
    })();
    return this.scanning;
  }

  private async scanOnce(): Promise<void> {
    this.stats.scans++;
    const next = await scanKeyDirectory(this.opts.dir);
    this.readable = next !== undefined;
    if (next === undefined) {
      // An unreadable directory (EMFILE, a remount in progress) keeps the keys we have.
      this.telemetry.reload({ what: 'jws_keys', outcome: 'failed' });
      return;
    }
    const changed = changedIds(this.index, next);
    if (changed.size === 0) return;
    for (const id of changed) {
      for (const r of this.index.get(id) ?? []) {
        if (!next.get(id)?.some((n) => n.file === r.file)) {
          this.parsed.delete(r.file);
          this.broken.delete(r.file);
          this.telemetry.expiry({ kind: 'jws_key', file: r.file, notAfter: undefined });
        }
      }
    }
    this.index = next;
    this.generation++;
    this.telemetry.knownPeers(this.index.keys());
    const before = this.stats.reloadFailures;
    for (const id of changed) {
      if (!next.has(id)) this.cache.delete(id);
      else if (this.cache.has(id)) await this.load(id);
    }
    this.telemetry.reload({ what: 'jws_keys', outcome: this.stats.reloadFailures === before ? 'ok' : 'failed' });
  }

  /** Single-flight load of one FSP's keys into the cache. */
  private load(fspId: string): Promise<readonly VerificationKey[]> {
    const running = this.inflight.get(fspId);
    if (running) return running;
    const p = (async () => {
      try {
        for (let attempt = 0; ; attempt++) {
          const gen = this.generation;
          const keys = await this.loadOnce(fspId);
          if (gen === this.generation || attempt >= 2) {
            if (keys.length > 0) this.cache.set(fspId, keys);
            else this.cache.delete(fspId);
            return keys;
          }
        }
      } finally {
        this.inflight.delete(fspId);
      }
    })();
    this.inflight.set(fspId, p);
    return p;
  }

  private async loadOnce(fspId: string): Promise<readonly VerificationKey[]> {
    this.stats.loads++;
    const out: VerificationKey[] = [];
    for (const ref of this.index.get(fspId) ?? []) {
      const prev = this.parsed.get(ref.file);
      if (prev && prev.sig === ref.sig && this.now() - prev.at < this.ttlMs) {
        out.push(prev.parsed.verificationKey);
        continue;
      }
      try {
        out.push((await this.parseRef(ref)).parsed.verificationKey);
        this.broken.delete(ref.file);
        this.telemetry.keyCache({ event: 'load', size: this.cache.size });
      } catch (err) {
        this.stats.reloadFailures++;
        this.broken.add(ref.file);
        this.opts.onError?.(new Error(`JWS key file ${ref.file} does not parse`, { cause: err }));
        this.telemetry.keyCache({ event: 'load_failed', size: this.cache.size });
        // A file that does not parse keeps the previous key; with none, it counts as a rejected key.
        out.push(
          prev
            ? prev.parsed.verificationKey
            : { label: ref.label, key: undefined, info: { family: 'other', bits: undefined, curve: undefined }, rejected: 'unparsable key file' },
        );
      }
    }
    return out;
  }

  private async parseRef(ref: FileRef): Promise<Parsed> {
    const pem = await readFile(ref.file, 'utf8');
    this.stats.pemParses++;
    const parsed = parseKeyFile(pem, ref, ref.file);
    const p: Parsed = { sig: ref.sig, at: this.now(), parsed };
    this.parsed.set(ref.file, p);
    if (parsed.listing.notAfter !== undefined) this.telemetry.expiry({ kind: 'jws_key', file: ref.file, notAfter: parsed.listing.notAfter });
    return p;
  }
}
