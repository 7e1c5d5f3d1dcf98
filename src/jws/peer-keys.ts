// The verification keys of every peer, whatever their source (docs/jws.md, "Key sources" and "Revoking a
// peer's key"): the key files (KeyDirectory, the default), the remote sources (a peer's JWKS, a Mojaloop
// Connection Manager) and the operator's revocations, combined per FSP:
//   - the union of the sources' keys, one entry per key (SPKI SHA-256 fingerprint), files first;
//   - a revoked key is in the list marked `revoked`, whatever its source: it never verifies anything, and a
//     signature it would have verified is refused as GW_JWS_KEY_REVOKED (src/jws/verify.ts).
// get() is the verifier's keysFor: synchronous on a key-cache hit; the combined list is memoised per FSP
// against the identity of its inputs and the revocation list's version, so a cached verify allocates nothing.
import type { KeyObject } from 'node:crypto';
import { keyFingerprints } from './jwk.js';
import type { KeyDirectory } from './key-directory.js';
import type { KeyRevocations, Revocation } from './revocations.js';
import { jwkThumbprint } from './sources/remote-key.js';
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
    const seen = new Set<string>();
    const all: VerificationKey[] = [];
    for (const k of [...files, ...remote]) {
      if (k.fingerprint !== undefined) {
        if (seen.has(k.fingerprint)) continue;
        seen.add(k.fingerprint);
      }
      const r =
        k.fingerprint !== undefined ? (rev?.get(k.fingerprint) ?? (k.givenFingerprint !== undefined ? rev?.get(k.givenFingerprint) : undefined)) : undefined;
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

  /** Every key of every source (revoked ones included, marked). */
  async list(): Promise<PeerKeyListing[]> {
    const revoked = (fp: string, given?: string) => {
      const r: Revocation | undefined = this.revocations?.get(fp) ?? (given !== undefined ? this.revocations?.get(given) : undefined);
      return r ? { revoked: { reason: r.reason, revokedAt: r.revokedAt } } : {};
    };
    const thumb = (k: KeyObject) => jwkThumbprint(k).catch(() => null);
    const out: PeerKeyListing[] = [];
    for (const { listing: l, publicKey } of await this.files.listWithKeys()) {
      out.push({
        fspId: l.fspId,
        source: 'file',
        label: l.label,
        fingerprint: l.fingerprint,
        thumbprint: await thumb(publicKey),
        file: l.file,
        notAfter: l.notAfter,
        ...(l.rejected !== undefined ? { rejected: l.rejected } : {}),
        ...revoked(l.fingerprint, keyFingerprints(publicKey).givenFingerprint),
      });
    }
    for (const { url, key: k } of this.remote?.list() ?? []) {
      out.push({
        fspId: k.fspId,
        source: k.kind,
        label: k.key.label,
        fingerprint: k.fingerprint,
        thumbprint: k.thumbprint,
        ...(k.kid !== undefined ? { kid: k.kid } : {}),
        url,
        notAfter: k.notAfter,
        ...revoked(k.fingerprint, k.key.givenFingerprint),
      });
    }
    return out.sort((a, b) => (a.fspId === b.fspId ? 0 : a.fspId < b.fspId ? -1 : 1));
  }

  /** The keys (of any source) a fingerprint names: SPKI SHA-256 hex or an RFC 7638 thumbprint. */
  async find(ref: { kind: 'spki' | 'jwk'; value: string }): Promise<PeerKeyListing[]> {
    return (await this.list()).filter((k) => (ref.kind === 'spki' ? k.fingerprint === ref.value : k.thumbprint === ref.value));
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
