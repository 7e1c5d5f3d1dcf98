// The remote verification-key sources of the gateway (docs/jws.md, "Key sources"), beside the key files:
//   - one JWKS source per peer-directory entry with a `jwksUrl` (src/peers/directory.ts), kept in step with
//     the directory as it reloads;
//   - a Mojaloop Connection Manager (MCM_URL): GET /dfsps/jwscerts (every DFSP's key) and, in the DFSP role,
//     GET /hub/jwscerts (the hub's), with an OIDC client-credentials token when MCM_TOKEN_URL is set.
// Each source is fetched by a RefreshLoop (ahead of expiry, bounded, single flight). A source's keys change
// only on a good answer; a failure or a refused document keeps its last good set, logs the reason, counts it
// (switchguard_peer_key_source_failures_total) and, for a refused key, writes a key_source_refused audit
// record. A key the operator binds to one FSP in a key file stays that FSP's: a remote key whose fingerprint a key file
// binds to another FSP is refused (other_fsp). A remote source binds nothing for others: public keys are public (every
// gateway serves its set at /.well-known/jwks.json), and DFSPs upload their own keys to the Connection Manager, so a
// peer listing another's key must not lock the owner out of it, at start-up or at its next rotation (hostile reviews of
// 2026-12-02). The copy verifies only messages whose protected FSPIOP-Source names the copier, which only the key's
// holder can sign; revoking a key (by fingerprint) revokes it for every FSP that lists it (docs/jws.md).
// keysOf() answers from memory for the request path.
import type { AuditLog } from '../../logging/audit.js';
import type { Telemetry } from '../../telemetry/types.js';
import type { VerificationKey } from '../verify.js';
import { type McmResult, parseJwks, parseMcmDfsps, parseMcmHub } from './documents.js';
import type { FetchResponse, KeyFetch } from './fetch.js';
import { type ClientCredentials, McmToken } from './mcm-token.js';
import { type LoopStatus, maxAgeSeconds, type RefreshBounds, RefreshLoop } from './refresh-loop.js';
import { Refusal, type RemoteKey, type SourceKind } from './remote-key.js';

const EMPTY: readonly VerificationKey[] = Object.freeze([]);
const MAX_DOCUMENT_BYTES = 1024 * 1024;

export interface McmSourceOptions {
  /** Over MCM_CA_CERT_PATH trust when set, else the outbound TLS material. */
  readonly fetch: KeyFetch;
  /** MCM_URL: the API base, e.g. https://mcm.example/api. */
  readonly url: URL;
  readonly credentials?: ClientCredentials | undefined;
  /** The hub's FSP id when /hub/jwscerts is read (the DFSP role); undefined: not read. */
  readonly hubId?: string | undefined;
}

export interface RemoteKeySourcesOptions {
  readonly fetch: KeyFetch;
  /** JWS_ALGORITHMS. */
  readonly allowed: ReadonlySet<string>;
  readonly bounds: RefreshBounds;
  /** PEER_KEYS_FETCH_TIMEOUT_MS: the whole request. */
  readonly timeoutMs: number;
  readonly mcm?: McmSourceOptions | undefined;
  /** Key fingerprints bound to FSPs by the key files (the other-FSP rule). */
  readonly fileBindings?: () => Promise<ReadonlyMap<string, ReadonlySet<string>>>;
  readonly telemetry?: Pick<Telemetry, 'keySource' | 'expiry'>;
  readonly logger?: { warn(o: object, msg: string): void };
  readonly audit?: AuditLog;
  readonly now?: () => number;
}

interface Source {
  /** 'jwks:<fspId>', 'mcm:dfsps' or 'mcm:hub'. */
  readonly id: string;
  readonly kind: SourceKind;
  /** The metric label: the peer for a JWKS source, 'dfsps' or 'hub' for the Connection Manager. */
  readonly name: string;
  readonly url: URL;
  readonly loop: RefreshLoop;
  /** The last good keys, per FSP. */
  keys: ReadonlyMap<string, readonly RemoteKey[]>;
}

/** What the admin API shows of a source. */
export interface SourceStatus {
  readonly kind: SourceKind;
  readonly source: string;
  readonly url: string;
  readonly keys: number;
  readonly fspIds: readonly string[];
  readonly lastSuccess: string | null;
  readonly staleAfter: string | null;
  readonly stale: boolean;
  readonly failures: number;
  readonly lastFailure: { readonly at: string; readonly reason: string; readonly detail: string } | null;
  readonly nextRefreshAt: string | null;
}

const iso = (ms: number | undefined) => (ms === undefined || ms === 0 ? null : new Date(ms).toISOString());

export class RemoteKeySources {
  readonly #sources = new Map<string, Source>();
  #byFsp = new Map<string, readonly VerificationKey[]>();
  #expiryLabels = new Set<string>();
  readonly #token: McmToken | undefined;
  readonly #now: () => number;
  readonly #listeners: (() => void)[] = [];

  constructor(private readonly o: RemoteKeySourcesOptions) {
    this.#now = o.now ?? Date.now;
    const m = o.mcm;
    this.#token = m?.credentials ? new McmToken(m.credentials, m.fetch, o.timeoutMs, this.#now) : undefined;
    if (m) {
      this.#add('mcm:dfsps', 'mcm', 'dfsps', new URL(`${m.url.href.replace(/\/$/, '')}/dfsps/jwscerts`), (s) => this.#fetchMcmDfsps(s));
      if (m.hubId !== undefined) {
        const hubId = m.hubId;
        this.#add('mcm:hub', 'mcm', 'hub', new URL(`${m.url.href.replace(/\/$/, '')}/hub/jwscerts`), (s) => this.#fetchMcmHub(s, hubId));
      }
    }
  }

  /** The remote keys of one FSP (every source), answered from memory; the same array until they change. */
  keysOf(fspId: string): readonly VerificationKey[] {
    return this.#byFsp.get(fspId) ?? EMPTY;
  }

  has(fspId: string): boolean {
    return this.#byFsp.has(fspId);
  }

  ids(): string[] {
    return [...this.#byFsp.keys()];
  }

  /** Every remote key in force, with the source it came from. */
  list(): { readonly source: string; readonly url: string; readonly key: RemoteKey }[] {
    return [...this.#sources.values()].flatMap((s) => [...s.keys.values()].flat().map((key) => ({ source: s.id, url: s.url.href, key })));
  }

  status(): SourceStatus[] {
    const now = this.#now();
    return [...this.#sources.values()].map((s) => {
      const st = s.loop.status;
      const all = [...s.keys.values()].flat();
      return {
        kind: s.kind,
        source: s.name,
        url: s.url.href,
        keys: all.length,
        fspIds: [...s.keys.keys()].sort(),
        lastSuccess: iso(st.lastSuccess),
        staleAfter: iso(st.staleAfter),
        stale: st.staleAfter <= now,
        failures: st.failures,
        lastFailure: st.lastFailure ? { at: new Date(st.lastFailure.at).toISOString(), reason: st.lastFailure.reason, detail: st.lastFailure.detail } : null,
        nextRefreshAt: iso(st.nextRefreshAt),
      };
    });
  }

  /** Called after the keys in force changed. */
  onChange(fn: () => void): void {
    this.#listeners.push(fn);
  }

  /**
   * Keeps one JWKS source per peer with a jwksUrl: new ones are fetched at once (the promise resolves when
   * they have answered or failed), removed ones are dropped with their keys, a changed URL starts afresh.
   */
  async setJwksUrls(urls: ReadonlyMap<string, URL>): Promise<void> {
    const fresh: Source[] = [];
    for (const s of [...this.#sources.values()]) {
      if (s.kind !== 'jwks') continue;
      if (urls.get(s.name)?.href !== s.url.href) this.#remove(s);
    }
    for (const [fspId, url] of urls) {
      if (this.#sources.has(`jwks:${fspId}`)) continue;
      fresh.push(this.#add(`jwks:${fspId}`, 'jwks', fspId, url, (s) => this.#fetchJwks(s)));
    }
    this.#rebuild();
    await Promise.all(fresh.map((s) => s.loop.refresh()));
  }

  /** Fetches every source now (admin reload, start-up); resolves when all have answered or failed. */
  async refreshAll(): Promise<void> {
    await Promise.all([...this.#sources.values()].map((s) => s.loop.refresh()));
  }

  /** True when no source is currently failing or stale. */
  healthy(): boolean {
    const now = this.#now();
    return [...this.#sources.values()].every((s) => s.loop.status.failures === 0 && s.loop.status.staleAfter > now);
  }

  close(): void {
    for (const s of this.#sources.values()) s.loop.close();
  }

  #add(id: string, kind: SourceKind, name: string, url: URL, run: (s: Source) => Promise<{ maxAge: number | undefined }>): Source {
    const s: Source = {
      id,
      kind,
      name,
      url,
      keys: new Map(),
      loop: new RefreshLoop({
        bounds: this.o.bounds,
        run: () => run(s),
        settled: (st, err) => this.#settled(s, st, err),
        ...(this.o.now ? { now: this.o.now } : {}),
      }),
    };
    this.#sources.set(id, s);
    return s;
  }

  #remove(s: Source): void {
    s.loop.close();
    this.#sources.delete(s.id);
    this.o.telemetry?.keySource({ kind: s.kind, source: s.name, outcome: 'removed' });
  }

  #settled(s: Source, st: LoopStatus, err: unknown): void {
    if (!this.#sources.has(s.id)) return; // removed while fetching
    if (err === undefined) {
      this.o.telemetry?.keySource({
        kind: s.kind,
        source: s.name,
        outcome: 'ok',
        keys: [...s.keys.values()].reduce((n, k) => n + k.length, 0),
        ...(st.lastSuccess !== undefined ? { lastSuccess: st.lastSuccess / 1000 } : {}),
        staleAfter: st.staleAfter / 1000,
      });
      return;
    }
    const r = err instanceof Refusal ? err : new Refusal('unreachable', 'fetch failed');
    this.#refused(s, s.kind === 'jwks' ? s.name : undefined, r);
  }

  /** Logs, counts and (for a refused key) audits one refusal; the source's last good keys stay. */
  #refused(s: Source, fspId: string | undefined, r: Refusal): void {
    this.o.telemetry?.keySource({ kind: s.kind, source: s.name, outcome: 'failed', reason: r.reason });
    this.o.logger?.warn(
      { event: 'peer_key_source_failed', kind: s.kind, source: s.name, url: s.url.href, ...(fspId ? { fspId } : {}), reason: r.reason, detail: r.detail },
      'peer key source refused or unreachable; keeping its last good keys',
    );
    if (!['unreachable', 'timeout', 'http_status', 'too_large', 'token'].includes(r.reason))
      this.o.audit?.record({ event: 'key_source_refused', actor: 'gateway', source: s.id, reason: r.reason, ...(fspId ? { fspId } : {}) });
  }

  /**
   * Whether a key file (the operator's word) binds a key to another FSP than `fspId`. Other remote sources never count:
   * which of two sources listed a public key first decides nothing.
   */
  async #claimedElsewhere(keys: readonly RemoteKey[], fspId: string): Promise<boolean> {
    const files = (await this.o.fileBindings?.()) ?? new Map<string, ReadonlySet<string>>();
    for (const k of keys) for (const owner of files.get(k.fingerprint) ?? []) if (owner !== fspId) return true;
    return false;
  }

  async #get(s: Source, headers: Record<string, string>, fetch: KeyFetch): Promise<FetchResponse> {
    const res = await fetch({ url: s.url, headers, timeoutMs: this.o.timeoutMs, maxBytes: MAX_DOCUMENT_BYTES });
    if (res.status !== 200) throw new Refusal('http_status', `HTTP ${res.status}`);
    return res;
  }

  async #fetchJwks(s: Source): Promise<{ maxAge: number | undefined }> {
    const res = await this.#get(s, { accept: 'application/jwk-set+json, application/json' }, this.o.fetch);
    const keys = await parseJwks(res.body, { fspId: s.name, kind: 'jwks', allowed: this.o.allowed });
    if (await this.#claimedElsewhere(keys, s.name)) throw new Refusal('other_fsp', 'a key of the set is bound to another FSP');
    this.#setKeys(s, new Map([[s.name, keys]]));
    return { maxAge: maxAgeSeconds(res.headers['cache-control']) };
  }

  /** GET an MCM resource with the bearer token; a 401 drops the token and tries once more with a new one. */
  async #mcmGet(s: Source): Promise<FetchResponse> {
    const m = this.o.mcm!;
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (this.#token) headers.authorization = `Bearer ${await this.#token.get()}`;
      const res = await m.fetch({ url: s.url, headers, timeoutMs: this.o.timeoutMs, maxBytes: MAX_DOCUMENT_BYTES });
      if (res.status === 401 && this.#token && attempt === 0) {
        this.#token.invalidate();
        continue;
      }
      if (res.status !== 200) throw new Refusal(res.status === 401 || res.status === 403 ? 'token' : 'http_status', `HTTP ${res.status}`);
      return res;
    }
  }

  async #fetchMcmDfsps(s: Source): Promise<{ maxAge: number | undefined }> {
    const res = await this.#mcmGet(s);
    const { perFsp, skipped } = await parseMcmDfsps(res.body, { kind: 'mcm', allowed: this.o.allowed });
    if (skipped > 0) this.#refused(s, undefined, new Refusal('bad_document', `${skipped} entries without a valid dfspId left out`));
    await this.#applyPerFsp(s, perFsp);
    return { maxAge: maxAgeSeconds(res.headers['cache-control']) };
  }

  async #fetchMcmHub(s: Source, hubId: string): Promise<{ maxAge: number | undefined }> {
    const res = await this.#mcmGet(s);
    const keys = await parseMcmHub(res.body, { fspId: hubId, kind: 'mcm', allowed: this.o.allowed });
    if (await this.#claimedElsewhere(keys, hubId)) throw new Refusal('other_fsp', "the hub's key is bound to another FSP");
    this.#setKeys(s, new Map([[hubId, keys]]));
    return { maxAge: maxAgeSeconds(res.headers['cache-control']) };
  }

  /** Per FSP, all or nothing: a refused FSP keeps its last good keys of this source; FSPs no longer listed are dropped. */
  async #applyPerFsp(s: Source, perFsp: McmResult): Promise<void> {
    const next = new Map<string, readonly RemoteKey[]>();
    for (const [fspId, r] of perFsp) {
      let refusal = r instanceof Refusal ? r : undefined;
      if (!refusal && Array.isArray(r) && (await this.#claimedElsewhere(r, fspId))) refusal = new Refusal('other_fsp', 'the key is bound to another FSP');
      if (refusal) {
        this.#refused(s, fspId, refusal);
        const kept = s.keys.get(fspId);
        if (kept) next.set(fspId, kept);
      } else next.set(fspId, r as RemoteKey[]);
    }
    this.#setKeys(s, next);
  }

  #setKeys(s: Source, keys: ReadonlyMap<string, readonly RemoteKey[]>): void {
    const render = (m: ReadonlyMap<string, readonly RemoteKey[]>) =>
      [...m]
        .map(([id, ks]) => `${id}=${ks.map((k) => `${k.fingerprint}/${k.kid ?? ''}`).join(',')}`)
        .sort()
        .join(';');
    if (render(s.keys) === render(keys)) return;
    s.keys = keys;
    this.#rebuild();
  }

  /** Recomputes the keys per FSP (union of the sources, one entry per fingerprint) and the expiry series. */
  #rebuild(): void {
    const next = new Map<string, VerificationKey[]>();
    const labels = new Set<string>();
    for (const s of this.#sources.values()) {
      for (const [fspId, ks] of s.keys) {
        const list = next.get(fspId) ?? [];
        for (const k of ks) {
          if (!list.some((x) => x.fingerprint === k.fingerprint)) list.push(k.key);
          if (k.notAfter !== undefined) {
            const file = `${s.id}/${fspId}/${k.kid ?? k.thumbprint}`;
            labels.add(file);
            this.o.telemetry?.expiry({ kind: 'jws_key', file, notAfter: k.notAfter });
          }
        }
        next.set(fspId, list);
      }
    }
    for (const old of this.#expiryLabels) if (!labels.has(old)) this.o.telemetry?.expiry({ kind: 'jws_key', file: old, notAfter: undefined });
    this.#expiryLabels = labels;
    this.#byFsp = next;
    for (const fn of this.#listeners) fn();
  }
}
