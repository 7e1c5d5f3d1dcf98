// The private keys this side signs with (JWS_SIGNING_KEY_PATH). The algorithm comes from the parsed key
// (RSA → RS256, EC P-256 → ES256), never from PEM text (the `BEGIN EC ` of the SDK's jwsSigner.js test
// mislabels PKCS#8 EC keys). Without a keyring manifest beside it, the file is the one key. With one
// (src/jws/keyring.ts, written by `switchguard keys rotate`), the manifest lists the keys with their activation
// and retire times: the holder signs with the key current at the moment of each signature (one comparison of
// Date.now() with the next change), publishes current, next and retained previous keys (jwks()), and never
// uses or publishes a revoked kid. Files are watched; a broken replacement keeps the keys in force.
import { createPrivateKey } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { GatewayError } from '../errors.js';
import { NOOP_TELEMETRY, type Telemetry } from '../telemetry/types.js';
import { type FileWatch, fileSignature, watchFiles } from '../util/file-watch.js';
import { signingAlgorithmFor } from './algorithms.js';
import { type PublicJwk, publicJwk } from './jwk.js';
import { type KeyAt, type Keyring, type KeyringEntry, type KeyState, keyringPaths, nextChangeAt, PUBLISHED_STATES, parseKeyring, statesAt } from './keyring.js';
import { type SignedRequest, type SignInput, type SigningKey, type SignOptions, signRequest, signRequestAsync } from './sign.js';

/** Longest Cache-Control max-age of the published keys (seconds): peers see an unscheduled change (a rotation run, an emergency) within it. */
export const JWKS_MAX_AGE_SECONDS = 300;

/** What happened to a key, for the audit log and the gateway log (wired in src/stages.ts). */
export type SigningKeyEvent =
  | { readonly type: 'published' | 'activated'; readonly kid: string; readonly alg: string; readonly file: string }
  | { readonly type: 'revoked'; readonly kid: string; readonly reason: string };

export interface SigningKeyOptions {
  readonly path: string;
  readonly telemetry?: Telemetry;
  /** Periodic re-check of the files (default 2 s); fs.watch on their directory is used as well. */
  readonly rescanIntervalSeconds?: number;
  readonly watch?: boolean;
  /**
   * Why a reload did not work: the file watch is degraded (default: a process warning), the file cannot be
   * read, or it does not parse (the previous key stays; also counted as a failed jws_signing_key reload).
   */
  readonly onError?: (err: unknown) => void;
  /** A key was published (first seen), became the signing key, or was revoked. */
  readonly onEvent?: (e: SigningKeyEvent) => void;
  /**
   * 'pool' runs the RSA private-key operation on the libuv thread pool (crypto.sign with a callback);
   * 'sync' signs on the event loop. The measurement behind the default: docs/performance/2026-11-23-bench.md
   * ('signing, 32 in flight').
   */
  readonly mode?: 'pool' | 'sync';
  /** Clock (tests). */
  readonly now?: () => number;
}

/** Parses a private key PEM (PKCS#1, PKCS#8 or SEC1) into a signing key with its algorithm. */
export function parseSigningKey(pem: string | Buffer): SigningKey {
  const key = createPrivateKey(pem);
  return { key, alg: signingAlgorithmFor(key) };
}

/** One key of the keyring as loaded: its manifest entry, the parsed private key and its public JWK. */
interface LoadedKey {
  readonly entry: KeyringEntry;
  readonly signing: SigningKey;
  readonly jwk: PublicJwk;
}

/** The keyring as read from disk: the manifest (absent in single-file mode) and the keys that can still be used. */
interface LoadedKeyring {
  readonly ring: Keyring;
  readonly keys: ReadonlyMap<string, LoadedKey>;
  /** True when the keyring comes from a manifest; false when JWS_SIGNING_KEY_PATH is the one key. */
  readonly manifest: boolean;
}

/** One key's state, as `switchguard keys status` and GET /admin/keys show it. */
export interface SigningKeyStatus {
  readonly kid: string;
  readonly alg: string;
  readonly state: KeyState;
  readonly file: string | null;
  readonly activateAt: string | null;
  readonly retireAt: string | null;
  readonly publishedAt: string | null;
  /** For revoked keys. */
  readonly revokedAt?: string;
  readonly reason?: string;
}

const iso = (ms: number | undefined) => (ms === undefined || !Number.isFinite(ms) ? null : new Date(ms).toISOString());

function loadKey(entry: KeyringEntry, pem: Buffer): LoadedKey {
  const signing = parseSigningKey(pem);
  const jwk = publicJwk(signing.key, signing.alg.name);
  if (jwk.kid !== entry.kid) throw new Error(`${entry.file} holds key ${jwk.kid}, the keyring says ${entry.kid}`);
  if (signing.alg.name !== entry.alg) throw new Error(`${entry.file} is an ${signing.alg.name} key, the keyring says ${entry.alg}`);
  return { entry, signing, jwk };
}

/**
 * Reads the keyring of a signing key path: the manifest beside it when there is one (every key that is not
 * revoked or expired at `now` is read, parsed and checked against its kid and alg), else the file itself.
 * @throws Error naming the manifest or the key file when something does not parse or does not match the
 * manifest (nothing is half-loaded); the bare ENOENT error when the single key file is missing.
 */
async function loadKeyring(path: string, now: number): Promise<LoadedKeyring> {
  const p = keyringPaths(path);
  const manifest = join(p.dir, p.manifest);
  const text = await readFile(manifest, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (text === undefined) {
    const [pem, st] = await Promise.all([readFile(path), stat(path)]);
    try {
      const signing = parseSigningKey(pem);
      const jwk = publicJwk(signing.key, signing.alg.name);
      // Single-file mode: the key has signed since the file was written.
      const entry: KeyringEntry = { file: p.base, kid: jwk.kid, alg: signing.alg.name, activateAt: st.mtimeMs, publishedAt: st.mtimeMs };
      return { ring: { keys: [entry], revoked: [] }, keys: new Map([[jwk.kid, { entry, signing, jwk }]]), manifest: false };
    } catch (cause) {
      throw new Error(`JWS signing key file ${path} does not parse`, { cause });
    }
  }
  try {
    const ring = parseKeyring(text);
    await checkKeyFileCopy(path, p.base, ring);
    const needed = statesAt(ring, now).filter((k) => PUBLISHED_STATES.has(k.state));
    if (needed.length === 0) throw new Error('keyring: every key is revoked');
    const loaded = await Promise.all(needed.map(async ({ entry }) => loadKey(entry, await readFile(join(p.dir, entry.file)))));
    return { ring, keys: new Map(loaded.map((k) => [k.entry.kid, k])), manifest: true };
  } catch (cause) {
    throw new Error(`JWS signing keyring ${manifest} refused: ${(cause as Error).message}`, { cause });
  }
}

/**
 * With a manifest, JWS_SIGNING_KEY_PATH's file is one of its entries or, when the manifest does not list it, a copy
 * `switchguard keys rotate` keeps of a key of the keyring (src/jws/rotate.ts). A file holding any other key was replaced in place, and
 * the keyring would go on signing with the key the operator meant to replace (a leaked one, say) while the
 * reload looked fine (hostile review of 2026-12-02): the load is refused instead (reload failed, the keys in
 * force stay, start-up stops). A missing copy is no change of key.
 * @throws Error when the file holds a key the keyring does not list, or does not parse.
 */
async function checkKeyFileCopy(path: string, base: string, ring: Keyring): Promise<void> {
  const pem = await readFile(path).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : Promise.reject(err)));
  if (pem === undefined) return;
  const copy = parseSigningKey(pem);
  const kid = publicJwk(copy.key, copy.alg.name).kid;
  // Listed or not, the file holds some key of the keyring: an entry of the file that is loaded (current, next,
  // previous) is also checked against its own kid by loadKey; an expired one is never loaded, so a file replaced under
  // it went unnoticed (re-review of 2026-12-02). Not its own entry's key only: `keys rotate` writes the copy of the key
  // in force over an expired entry's file before the manifest that drops the entry (src/jws/rotate.ts), and a reload
  // or a start-up between the two writes must not fail (second re-review).
  if (!ring.keys.some((k) => k.kid === kid))
    throw new Error(
      `${base} holds key ${kid}, which the keyring does not list for it: with a keyring, a key is changed by switchguard keys rotate (--emergency for a key in force at once), not by replacing ${base}`,
    );
}

/** The change signature of everything a keyring load reads: any replaced file changes it. */
async function keyringSignature(path: string, ring: Keyring | undefined): Promise<string> {
  const p = keyringPaths(path);
  const files = [path, join(p.dir, p.manifest), ...(ring?.keys.map((k) => join(p.dir, k.file)) ?? [])];
  const sigs = await Promise.all(
    files.map((f) => stat(f).then(fileSignature, (e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? 'missing' : Promise.reject(e)))),
  );
  return sigs.join('|');
}

/** The JWK Set this side publishes, rendered once per state change. */
export interface PublishedKeys {
  /** RFC 7517 §5 JWK Set JSON: current key first, then next, then retained previous keys. */
  readonly body: string;
  /** Seconds a consumer may cache it: JWKS_MAX_AGE_SECONDS, or less when a key changes state sooner. */
  readonly maxAgeSeconds: number;
}

const ORDER: Readonly<Record<KeyState, number>> = { current: 0, next: 1, previous: 2, expired: 3, revoked: 4 };

export class SigningKeyHolder {
  private loaded: LoadedKeyring;
  private sig: string;
  private broken = false;
  private reloading: Promise<boolean> | undefined;
  private watcher: FileWatch | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly telemetry: Telemetry;
  private readonly now: () => number;
  // Derived at each state change (refresh):
  private signing!: LoadedKey;
  private states: readonly KeyAt[] = [];
  private switchAt = Number.POSITIVE_INFINITY;
  private jwksBody = '';
  private readonly seen = new Set<string>();
  private readonly seenRevoked = new Set<string>();
  private lastSigningKid: string | undefined;

  private constructor(
    private readonly opts: SigningKeyOptions,
    loaded: LoadedKeyring,
    sig: string,
  ) {
    this.loaded = loaded;
    this.sig = sig;
    this.telemetry = opts.telemetry ?? NOOP_TELEMETRY;
    this.now = opts.now ?? Date.now;
    // Kids revoked before this process started are not news: audited once by whoever revoked them.
    for (const r of loaded.ring.revoked) this.seenRevoked.add(r.kid);
    this.refresh(this.now());
  }

  /**
   * Loads the key (or keyring) and starts watching it.
   * @throws Error when the file is missing or holds no usable private key, or the keyring does not load (start-up must fail).
   */
  static async open(opts: SigningKeyOptions): Promise<SigningKeyHolder> {
    const now = (opts.now ?? Date.now)();
    const loaded = await loadKeyring(opts.path, now);
    const h = new SigningKeyHolder(opts, loaded, await keyringSignature(opts.path, loaded.manifest ? loaded.ring : undefined));
    h.start();
    return h;
  }

  /** The key signing now, and its algorithm. */
  current(): SigningKey {
    if (this.now() >= this.switchAt) this.refresh(this.now());
    return this.signing.signing;
  }

  /** The kid (RFC 7638 thumbprint) of the key signing now. */
  currentKid(): string {
    this.current();
    return this.signing.jwk.kid;
  }

  /** The JWK Set of the keys published now (current, next, previous within retention), with its cache lifetime. */
  jwks(): PublishedKeys {
    const now = this.now();
    if (now >= this.switchAt) this.refresh(now);
    // Whole seconds rounded down, so that a cache never holds the set past the change (RFC 9111 §5.2.2.1).
    const untilChange = Math.floor((this.switchAt - now) / 1000);
    return { body: this.jwksBody, maxAgeSeconds: Math.max(0, Math.min(JWKS_MAX_AGE_SECONDS, untilChange)) };
  }

  /** Every key of the keyring with its state now, revoked kids included (newest activation first). */
  status(): SigningKeyStatus[] {
    const now = this.now();
    if (now >= this.switchAt) this.refresh(now);
    const revoked = new Map(this.loaded.ring.revoked.map((r) => [r.kid, r]));
    const out: SigningKeyStatus[] = this.states.map(({ entry, state }) => ({
      kid: entry.kid,
      alg: entry.alg,
      state,
      file: entry.file,
      activateAt: iso(entry.activateAt),
      retireAt: iso(entry.retireAt),
      publishedAt: iso(entry.publishedAt),
      ...(revoked.has(entry.kid) ? { revokedAt: iso(revoked.get(entry.kid)!.revokedAt)!, reason: revoked.get(entry.kid)!.reason } : {}),
    }));
    out.sort((a, b) => (b.activateAt ?? '').localeCompare(a.activateAt ?? ''));
    const listed = new Set(out.map((k) => k.kid));
    for (const r of this.loaded.ring.revoked)
      if (!listed.has(r.kid))
        out.push({
          kid: r.kid,
          alg: '',
          state: 'revoked',
          file: null,
          activateAt: null,
          retireAt: null,
          publishedAt: null,
          revokedAt: iso(r.revokedAt)!,
          reason: r.reason,
        });
    return out;
  }

  /**
   * Signs one request with the current key (sign.ts).
   * @throws GatewayError GW_JWS_SIGN_FAILED
   */
  async sign(input: SignInput, options: SignOptions = {}): Promise<SignedRequest> {
    const started = performance.now();
    const key = this.current();
    try {
      const out = this.opts.mode === 'sync' ? signRequest(input, key, options) : await signRequestAsync(input, key, options);
      this.telemetry.jwsSign({ outcome: 'ok', seconds: (performance.now() - started) / 1000 });
      return out;
    } catch (e) {
      this.telemetry.jwsSign({ outcome: 'failed', seconds: (performance.now() - started) / 1000 });
      throw e instanceof GatewayError ? e : new GatewayError('GW_JWS_SIGN_FAILED', { detail: 'signing failed', cause: e });
    }
  }

  /**
   * Re-reads the key files if any changed. Resolves true when the keys in use match the files (new keys were
   * installed, or nothing changed), false when a file is unreadable, does not parse or does not match the
   * keyring — the previous keys then stay in use.
   */
  reload(): Promise<boolean> {
    this.reloading ??= this.reloadOnce().finally(() => {
      this.reloading = undefined;
    });
    return this.reloading;
  }

  private async reloadOnce(): Promise<boolean> {
    const sig = await keyringSignature(this.opts.path, this.loaded.manifest ? this.loaded.ring : undefined).catch((err: unknown) => {
      this.opts.onError?.(err);
      return undefined;
    });
    if (sig === undefined) return false;
    if (sig === this.sig) return !this.broken;
    let loaded: LoadedKeyring;
    try {
      loaded = await loadKeyring(this.opts.path, this.now());
    } catch (err) {
      // The single key file is being replaced: the watch calls again when it is back.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      this.sig = sig; // a broken file is not retried on every tick, only when it changes again
      this.broken = true;
      this.telemetry.reload({ what: 'jws_signing_key', outcome: 'failed' });
      this.opts.onError?.(err);
      return false;
    }
    // The signature of what was actually read (a manifest names more files than the one before it).
    this.sig = await keyringSignature(this.opts.path, loaded.manifest ? loaded.ring : undefined).catch(() => sig);
    this.loaded = loaded;
    this.broken = false;
    this.telemetry.reload({ what: 'jws_signing_key', outcome: 'ok' });
    this.refresh(this.now());
    return true;
  }

  close(): void {
    this.watcher?.close();
    if (this.timer) clearTimeout(this.timer);
  }

  /** Recomputes every key's state at `now`: the signing key, the published set, metrics, events, and the next wake-up. */
  private refresh(now: number): void {
    const { ring, keys } = this.loaded;
    this.states = statesAt(ring, now);
    const current = this.states.find((k) => k.state === 'current');
    const signing = current && keys.get(current.entry.kid);
    // loadKeyring loads every key that is current at load time or later, so this only fails on a clock that went back.
    if (signing !== undefined) this.signing = signing;
    else if (this.signing === undefined) throw new Error('no signing key is current');
    this.switchAt = nextChangeAt(ring, now) ?? Number.POSITIVE_INFINITY;
    const published = this.states
      .filter((k) => PUBLISHED_STATES.has(k.state) && keys.has(k.entry.kid))
      .sort((a, b) => ORDER[a.state] - ORDER[b.state] || b.entry.activateAt - a.entry.activateAt);
    this.jwksBody = JSON.stringify({ keys: published.map((k) => keys.get(k.entry.kid)!.jwk) });
    this.telemetry.signingKeys(
      this.states.map(({ entry, state }) => ({
        kid: entry.kid,
        state,
        activation: entry.activateAt / 1000,
        retire: entry.retireAt === undefined ? undefined : entry.retireAt / 1000,
        published: entry.publishedAt / 1000,
      })),
    );
    this.report(published);
    this.schedule(now);
  }

  private report(published: readonly KeyAt[]): void {
    const on = this.opts.onEvent;
    for (const r of this.loaded.ring.revoked) {
      if (this.seenRevoked.has(r.kid)) continue;
      this.seenRevoked.add(r.kid);
      on?.({ type: 'revoked', kid: r.kid, reason: r.reason });
    }
    for (const { entry } of published) {
      if (this.seen.has(entry.kid)) continue;
      this.seen.add(entry.kid);
      on?.({ type: 'published', kid: entry.kid, alg: entry.alg, file: entry.file });
    }
    if (this.signing.jwk.kid !== this.lastSigningKid) {
      this.lastSigningKid = this.signing.jwk.kid;
      on?.({ type: 'activated', kid: this.signing.jwk.kid, alg: this.signing.signing.alg.name, file: this.signing.entry.file });
    }
  }

  /** A timer for the next state change, so metrics and events follow the schedule without traffic (signing checks the clock itself). */
  private schedule(now: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!Number.isFinite(this.switchAt)) return;
    // setTimeout holds at most 2^31-1 ms (~24.8 days); a longer wait wakes up early and schedules again.
    const delay = Math.min(Math.max(0, this.switchAt - now) + 5, 2 ** 31 - 1);
    this.timer = setTimeout(() => this.refresh(this.now()), delay);
    this.timer.unref();
  }

  private start(): void {
    const p = keyringPaths(this.opts.path);
    // reload() compares the files' signatures itself, so an explicit reload and the watch agree. The manifest
    // is written last by a rotation (and a Secret volume swaps everything at once), so watching it and the
    // key path catches every change.
    this.watcher = watchFiles([this.opts.path, join(p.dir, p.manifest)], () => this.reload(), {
      intervalMs: (this.opts.rescanIntervalSeconds ?? 2) * 1000,
      fsWatch: this.opts.watch !== false,
      ...(this.opts.onError ? { onError: this.opts.onError } : {}),
    });
  }
}
