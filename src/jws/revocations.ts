// Operator revocations of peers' verification keys (docs/jws.md, "Revoking a peer's key"). A revocation names
// a key by the SHA-256 of its SPKI DER (the fingerprint /admin/keys lists for every source); a key with that
// fingerprint is refused whatever its source (file, JWKS, Connection Manager), also when it comes back later
// (a file re-added, a JWKS that still publishes it). Only an explicit lift by an operator ends a revocation.
// The list is security state: shared through the store, sealed, durable in KEY_REVOCATIONS_PATH and restored
// after a store loss (src/store/security-state.ts).
import { GatewayError } from '../errors.js';
import { SecurityState, type StateCodec, type StateLoss } from '../store/security-state.js';
import type { Store } from '../store/types.js';

export const REVOCATIONS_KEY = 'revocations:keys';
const LOCK_KEY = 'revocations:lock';

export interface Revocation {
  /** SHA-256 of the key's SPKI DER, lower-case hex. */
  readonly fingerprint: string;
  /** RFC 7638 JWK thumbprint (SHA-256, base64url) of the same key, when known. */
  readonly thumbprint?: string | undefined;
  /** The FSPs that held the key when it was revoked. */
  readonly fspIds: readonly string[];
  readonly reason: string;
  /** ISO-8601. */
  readonly revokedAt: string;
  /** Token fingerprint of the operator (src/admin/tokens.ts). */
  readonly by?: string | undefined;
}

export type RevocationMap = ReadonlyMap<string, Revocation>;

const HEX64 = /^[0-9a-f]{64}$/;
const THUMBPRINT = /^[A-Za-z0-9_-]{43}$/;
export const MAX_REASON_LENGTH = 256;

/** A fingerprint as an operator may write it: SPKI SHA-256 hex (any case, colons allowed) or an RFC 7638 thumbprint. */
export type FingerprintRef = { readonly kind: 'spki'; readonly value: string } | { readonly kind: 'jwk'; readonly value: string };

export function parseFingerprint(input: unknown): FingerprintRef | undefined {
  if (typeof input !== 'string') return undefined;
  const s = input.trim();
  const hex = s.replace(/:/g, '').toLowerCase();
  if (HEX64.test(hex) && (!s.includes(':') || /^([0-9a-fA-F]{2}:){31}[0-9a-fA-F]{2}$/.test(s))) return { kind: 'spki', value: hex };
  if (THUMBPRINT.test(s)) return { kind: 'jwk', value: s };
  return undefined;
}

/** A revocation reason: 1 to 256 printable characters. */
export const isValidReason = (r: unknown): r is string => typeof r === 'string' && r.trim().length > 0 && r.length <= MAX_REASON_LENGTH && !/[\p{Cc}]/u.test(r);

const str = (v: unknown): v is string => typeof v === 'string';

function parseRevocation(x: unknown): Revocation {
  const o = (x ?? {}) as Record<string, unknown>;
  if (!str(o.fingerprint) || !HEX64.test(o.fingerprint)) throw new Error('revocation without a SPKI SHA-256 fingerprint');
  if (!isValidReason(o.reason) || !str(o.revokedAt) || Number.isNaN(Date.parse(o.revokedAt))) throw new Error('revocation without a reason or time');
  if (!Array.isArray(o.fspIds) || !o.fspIds.every(str)) throw new Error('revocation fspIds must be strings');
  if (o.thumbprint !== undefined && !(str(o.thumbprint) && THUMBPRINT.test(o.thumbprint))) throw new Error('revocation thumbprint is not RFC 7638');
  if (o.by !== undefined && !str(o.by)) throw new Error('revocation by must be a string');
  return {
    fingerprint: o.fingerprint,
    ...(o.thumbprint !== undefined ? { thumbprint: o.thumbprint } : {}),
    fspIds: [...o.fspIds],
    reason: o.reason,
    revokedAt: o.revokedAt,
    ...(o.by !== undefined ? { by: o.by } : {}),
  };
}

const same = (a: Revocation, b: Revocation) =>
  a.fingerprint === b.fingerprint && a.reason === b.reason && a.revokedAt === b.revokedAt && a.fspIds.join() === b.fspIds.join();

const REVOCATION_CODEC: StateCodec<RevocationMap> = {
  empty: new Map(),
  isEmpty: (v) => v.size === 0,
  parse(json) {
    if (!Array.isArray(json)) throw new Error('key revocation list must be an array');
    const m = new Map<string, Revocation>();
    for (const x of json) {
      const r = parseRevocation(x);
      m.set(r.fingerprint, r);
    }
    return m;
  },
  toJson: (v) => [...v.values()].sort((a, b) => (a.fingerprint < b.fingerprint ? -1 : 1)),
  equal: (a, b) => a.size === b.size && [...a.values()].every((r) => b.has(r.fingerprint) && same(r, b.get(r.fingerprint)!)),
};

export interface KeyRevocationsOptions {
  readonly store: Store;
  readonly hmacKey?: string | undefined;
  /** KEY_REVOCATIONS_PATH. */
  readonly path?: string | undefined;
  readonly refreshMs?: number;
  readonly onError?: (err: unknown) => void;
  readonly onLoss?: (e: StateLoss & { readonly fingerprints: readonly string[] }) => void;
  /** The number of revocations in force changed (metric switchguard_jws_key_revocations). */
  readonly onCount?: (count: number) => void;
  readonly now?: () => number;
}

export class KeyRevocations {
  readonly #state: SecurityState<RevocationMap>;
  readonly #now: () => number;
  /** Bumped whenever the list in force changes: consumers cache against it. */
  version = 0;

  constructor(o: KeyRevocationsOptions) {
    this.#now = o.now ?? Date.now;
    this.#state = new SecurityState<RevocationMap>({
      store: o.store,
      key: REVOCATIONS_KEY,
      lockKey: LOCK_KEY,
      what: 'key revocation list',
      codec: REVOCATION_CODEC,
      hmacKey: o.hmacKey,
      purpose: 'key-revocations',
      path: o.path,
      ...(o.refreshMs !== undefined ? { refreshMs: o.refreshMs } : {}),
      ...(o.onError ? { onError: o.onError } : {}),
      onLoss: (e) => o.onLoss?.({ ...e, fingerprints: [...this.#state.value.keys()] }),
      onApply: (v) => {
        this.version++;
        o.onCount?.(v.size);
      },
      ...(o.now ? { now: o.now } : {}),
    });
  }

  /** The revocation of a key (by SPKI SHA-256 hex), answered from memory. */
  get(fingerprint: string): Revocation | undefined {
    return this.#state.value.get(fingerprint);
  }

  #byThumbprint: { readonly version: number; readonly map: ReadonlyMap<string, Revocation> } | undefined;

  /**
   * The revocation naming a key, answered from memory: by its canonical fingerprint, by the fingerprint of another of its
   * encodings (what an earlier release recorded for a key given in it), or by its RFC 7638 thumbprint (kept with every
   * revocation made through the admin API, and the same whatever the encoding): a revocation holds when the encoding
   * it was recorded under is gone (re-review of 2026-12-02).
   */
  of(k: {
    readonly fingerprint?: string | undefined;
    readonly aliases?: readonly string[] | undefined;
    readonly thumbprint?: string | undefined;
  }): Revocation | undefined {
    const v = this.#state.value;
    let r = k.fingerprint !== undefined ? v.get(k.fingerprint) : undefined;
    for (const a of k.aliases ?? []) r ??= v.get(a);
    if (r !== undefined || k.thumbprint === undefined) return r;
    if (this.#byThumbprint?.version !== this.version) {
      const map = new Map<string, Revocation>();
      for (const x of v.values()) if (x.thumbprint !== undefined) map.set(x.thumbprint, x);
      this.#byThumbprint = { version: this.version, map };
    }
    return this.#byThumbprint.map.get(k.thumbprint);
  }

  /** Revocations in force. */
  get size(): number {
    return this.#state.value.size;
  }

  list(): Revocation[] {
    return REVOCATION_CODEC.toJson(this.#state.value) as Revocation[];
  }

  /**
   * Revokes a key on every replica. Resolves the revocation in force and whether this call made it (an
   * already revoked key keeps its first reason and time).
   */
  add(r: { fingerprint: string; thumbprint?: string | undefined; fspIds: readonly string[]; reason: string; by?: string | undefined }): Promise<{
    revocation: Revocation;
    changed: boolean;
  }> {
    if (!HEX64.test(r.fingerprint) || !isValidReason(r.reason))
      return Promise.reject(new GatewayError('GW_ADMIN_BAD_REQUEST', { detail: 'fingerprint and reason required' }));
    return this.#state.update<{ revocation: Revocation; changed: boolean }>((v) => {
      const had = v.get(r.fingerprint);
      if (had) return { next: undefined, result: { revocation: had, changed: false } };
      const revocation: Revocation = {
        fingerprint: r.fingerprint,
        ...(r.thumbprint !== undefined ? { thumbprint: r.thumbprint } : {}),
        fspIds: [...new Set(r.fspIds)].sort(),
        reason: r.reason.trim(),
        revokedAt: new Date(this.#now()).toISOString(),
        ...(r.by !== undefined ? { by: r.by } : {}),
      };
      return { next: new Map(v).set(r.fingerprint, revocation), result: { revocation, changed: true } };
    });
  }

  /** Lifts a revocation (the only way one ends); resolves the lifted revocation, or undefined when there was none. */
  lift(fingerprint: string): Promise<Revocation | undefined> {
    return this.#state.update((v) => {
      const had = v.get(fingerprint);
      if (!had) return { next: undefined, result: undefined };
      const next = new Map(v);
      next.delete(fingerprint);
      return { next, result: had };
    });
  }

  loadDurable(): void {
    this.#state.loadDurable();
  }

  start(): Promise<void> {
    return this.#state.start();
  }

  refresh(): Promise<void> {
    return this.#state.refresh();
  }

  close(): void {
    this.#state.close();
  }

  readiness(): { ok: boolean; info: Record<string, unknown> } {
    const r = this.#state.readiness();
    return { ok: r.ok, info: { revocations: this.#state.value.size, ...r.info } };
  }
}
