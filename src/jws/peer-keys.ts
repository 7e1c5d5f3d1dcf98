// The verification keys of every peer, whatever their source (docs/jws.md, "Key sources" and "Revoking a
// peer's key"): the key files (KeyDirectory, the default), the remote sources (a peer's JWKS, a Mojaloop
// Connection Manager) and the operator's revocations, combined per FSP:
//   - the union of the sources' keys, one entry per key (SPKI SHA-256 fingerprint), files first;
//   - a revoked key is in the list marked `revoked`, whatever its source: it never verifies anything, and a
//     signature it would have verified is refused as GW_JWS_KEY_REVOKED (src/jws/verify.ts).
// get() is the verifier's keysFor: synchronous on a key-cache hit; the combined list is memoised per FSP
// against the identity of its inputs and the revocation list's version, so a cached verify allocates nothing.
import { type KeyIdentity, keyIdentity } from './jwk.js';
import type { KeyDirectory } from './key-directory.js';
import type { KeyRevocations, Revocation } from './revocations.js';
import type { RemoteKeySources, SourceStatus } from './sources/remote-keys.js';
import type { VerificationKey } from './verify.js';

const EMPTY: readonly VerificationKey[] = Object.freeze([]);
const MEMO_MAX = 10_000;

/** One key as the admin API lists it. */
export interface PeerKeyListing {
  readonly fspId: string;
  readonly source: 'file' | 'jwks' | 'mcm';
  /** File label, `jwks:<kid>` or `mcm`. */
  readonly label: string;
  /** SHA-256 of the SPKI DER, lower-case hex: what revocations name. */
  readonly fingerprint: string;
  /** RFC 7638 JWK thumbprint (SHA-256, base64url); also accepted by revocations. */
  readonly thumbprint: string | null;
  readonly kid?: string;
  readonly file?: string;
  readonly url?: string;
  /** Certificate validTo (unix seconds) when the key came with a certificate. */
  readonly notAfter: number | undefined;
  readonly rejected?: string;
  readonly revoked?: { readonly reason: string; readonly revokedAt: string };
}

interface Memo {
  readonly files: readonly VerificationKey[];
  readonly remote: readonly VerificationKey[];
  readonly version: number;
  readonly out: readonly VerificationKey[];
}

const isPromise = <T>(v: T | Promise<T>): v is Promise<T> => typeof (v as { then?: unknown }).then === 'function';

export class PeerKeys {
  readonly #memo = new Map<string, Memo>();

  constructor(
    readonly files: KeyDirectory,
    readonly remote: RemoteKeySources | undefined,
    readonly revocations: KeyRevocations | undefined,
  ) {}

  /** The keys of one FSP from every source, revoked ones marked (the verifier's keysFor). */
  get(fspId: string): readonly VerificationKey[] | Promise<readonly VerificationKey[]> {
    const remote = this.remote?.keysOf(fspId) ?? EMPTY;
    // An FSP known only to a remote source costs no key-directory lookup (and no unknown-source scan).
    const files = remote.length > 0 && !this.files.has(fspId) ? EMPTY : this.files.get(fspId);
    if (isPromise(files)) return files.then((f) => this.#combine(fspId, f, this.remote?.keysOf(fspId) ?? EMPTY));
    return this.#combine(fspId, files, remote);
  }

  #combine(fspId: string, files: readonly VerificationKey[], remote: readonly VerificationKey[]): readonly VerificationKey[] {
    const rev = this.revocations;
    if (remote.length === 0 && (rev === undefined || rev.size === 0)) return files;
    const version = rev?.version ?? 0;
    const m = this.#memo.get(fspId);
    if (m !== undefined && m.files === files && m.remote === remote && m.version === version) return m.out;
    const keys = [...files, ...remote];
    // A revocation found through any copy of a key (its encoding as given may differ per copy) holds for the key,
    // before the copies are merged into one entry (re-review of 2026-12-02).
    const revokedBy = new Map<string, Revocation>();
    for (const k of keys) {
      const r = k.fingerprint !== undefined ? rev?.of(k) : undefined;
      if (r !== undefined && !revokedBy.has(k.fingerprint!)) revokedBy.set(k.fingerprint!, r);
    }
    const seen = new Set<string>();
    const all: VerificationKey[] = [];
    for (const k of keys) {
      if (k.fingerprint !== undefined) {
        if (seen.has(k.fingerprint)) continue;
        seen.add(k.fingerprint);
      }
      const r = k.fingerprint !== undefined ? revokedBy.get(k.fingerprint) : undefined;
      all.push(r ? { ...k, revoked: r.reason } : k);
    }
    if (this.#memo.size >= MEMO_MAX) this.#memo.clear();
    this.#memo.set(fspId, { files, remote, version, out: all });
    return all;
  }

  /** Whether any source has a key for `fspId`. */
  has(fspId: string): boolean {
    return this.files.has(fspId) || (this.remote?.has(fspId) ?? false);
  }

  /** FSP ids with a key from any source. */
  knownIds(): string[] {
    return [...new Set([...this.files.knownIds(), ...(this.remote?.ids() ?? [])])].sort();
  }

  /** Key fingerprints bound to FSPs by the key files (the remote sources' other-FSP rule). */
  async fileBindings(): Promise<Map<string, Set<string>>> {
    const out = new Map<string, Set<string>>();
    for (const { listing } of await this.files.listWithKeys()) out.set(listing.fingerprint, (out.get(listing.fingerprint) ?? new Set()).add(listing.fspId));
    return out;
  }

  /** Every key of every source (revoked ones included, marked), with the identity revocations match it by. */
  async #listWithIdentity(): Promise<{ listing: PeerKeyListing; identity: KeyIdentity }[]> {
    const out: { listing: PeerKeyListing; identity: KeyIdentity }[] = [];
    for (const { listing: l, publicKey } of await this.files.listWithKeys()) {
      const identity = keyIdentity(publicKey);
      out.push({
        identity,
        listing: {
          fspId: l.fspId,
          source: 'file',
          label: l.label,
          fingerprint: l.fingerprint,
          thumbprint: identity.thumbprint ?? null,
          file: l.file,
          notAfter: l.notAfter,
          ...(l.rejected !== undefined ? { rejected: l.rejected } : {}),
        },
      });
    }
    for (const { url, key: k } of this.remote?.list() ?? []) {
      out.push({
        identity: { fingerprint: k.fingerprint, thumbprint: k.thumbprint, aliases: k.key.aliases ?? [] },
        listing: {
          fspId: k.fspId,
          source: k.kind,
          label: k.key.label,
          fingerprint: k.fingerprint,
          thumbprint: k.thumbprint,
          ...(k.kid !== undefined ? { kid: k.kid } : {}),
          url,
          notAfter: k.notAfter,
        },
      });
    }
    // A revocation found through any copy of a key holds for every copy (as in get()).
    const revokedBy = new Map<string, Revocation>();
    for (const { identity } of out) {
      const r = this.revocations?.of(identity);
      if (r !== undefined && !revokedBy.has(identity.fingerprint)) revokedBy.set(identity.fingerprint, r);
    }
    return out
      .map(({ listing, identity }) => {
        const r = revokedBy.get(identity.fingerprint);
        return { identity, listing: r ? { ...listing, revoked: { reason: r.reason, revokedAt: r.revokedAt } } : listing };
      })
      .sort((a, b) => (a.listing.fspId === b.listing.fspId ? 0 : a.listing.fspId < b.listing.fspId ? -1 : 1));
  }

  /** Every key of every source (revoked ones included, marked). */
  async list(): Promise<PeerKeyListing[]> {
    return (await this.#listWithIdentity()).map((x) => x.listing);
  }

  /**
   * The keys (of any source) a fingerprint names: SPKI SHA-256 hex (the canonical one listed, or that of the key's
   * encoding as given: `openssl pkey -pubin -outform DER | sha256sum` of its file) or an RFC 7638 thumbprint.
   */
  async find(ref: { kind: 'spki' | 'jwk'; value: string }): Promise<PeerKeyListing[]> {
    return (await this.#listWithIdentity())
      .filter(({ listing: k, identity: i }) =>
        ref.kind === 'spki' ? k.fingerprint === ref.value || i.aliases.includes(ref.value) : k.thumbprint === ref.value,
      )
      .map((x) => x.listing);
  }

  /** The remote sources' state (admin API). */
  sources(): SourceStatus[] {
    return this.remote?.status() ?? [];
  }

  /** Rescans the key files and fetches every remote source now; true when all of it worked. */
  async reload(): Promise<boolean> {
    const [files] = await Promise.all([this.files.reload(), this.remote?.refreshAll()]);
    return files && (this.remote?.healthy() ?? true);
  }

  close(): void {
    this.files.close();
    this.remote?.close();
  }
}
