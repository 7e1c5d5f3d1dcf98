// The status of a certificate from its OCSP responder, cached. Each verified answer is kept until its
// nextUpdate, and never longer than `cacheMaxSeconds`; a failure (no usable answer) is kept for
// `errorCacheSeconds`, so that a responder that is down costs one wait per certificate per interval and not
// one per connection. Past half of its cache life an answer is still served while one refresh runs in
// the background. Concurrent lookups of one certificate share one query (single flight), and a lookup
// never takes longer than `timeoutMs` in all (every URL tried shares that budget). The cache holds at
// most `maxEntries` certificates (least recently used first out).
import type { X509Certificate } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { buildRequest, type OcspAnswer, OcspError, type OcspFailure, verifyResponse } from './protocol.js';
import { postOcsp } from './transport.js';

/** good / revoked / unknown: what a verified answer said; error: no verified answer (reason says why). */
export type OcspOutcome = 'good' | 'revoked' | 'unknown' | 'error';
export type OcspPurpose = 'client' | 'staple';

export interface OcspResult {
  readonly outcome: OcspOutcome;
  readonly reason: OcspFailure | undefined;
  /** The verified answer and its DER (for stapling), when there is one. */
  readonly answer: OcspAnswer | undefined;
  readonly der: Uint8Array | undefined;
  /** The answer came from the cache. */
  readonly cached: boolean;
  /** Why, in words (logs). */
  readonly detail: string;
}

export interface OcspCheckerOptions {
  readonly timeoutMs: number;
  readonly cacheMaxSeconds: number;
  readonly errorCacheSeconds: number;
  readonly nonce: boolean;
  readonly maxEntries?: number;
  /** Clock (ms); tests move it. */
  readonly now?: () => number;
}

export interface OcspEvents {
  /** One query to a responder (each URL tried counts once). */
  responder(e: { purpose: OcspPurpose; outcome: OcspOutcome; reason: OcspFailure | undefined; seconds: number }): void;
}

interface Entry {
  readonly result: OcspResult;
  readonly storedAt: number;
  readonly expiresAt: number;
}

export interface OcspSubject {
  readonly leaf: X509Certificate;
  readonly issuer: X509Certificate;
}

export class OcspChecker {
  readonly #cache: LRUCache<string, Entry>;
  readonly #inflight = new Map<string, Promise<OcspResult>>();
  readonly #now: () => number;

  constructor(
    private readonly o: OcspCheckerOptions,
    private readonly events: OcspEvents,
  ) {
    this.#cache = new LRUCache({ max: o.maxEntries ?? 10_000 });
    this.#now = o.now ?? Date.now;
  }

  /** The status of subject.leaf, asking `urls` in order (cached; see the header comment). */
  async status(subject: OcspSubject, urls: readonly string[], purpose: OcspPurpose): Promise<OcspResult> {
    const key = `${subject.leaf.fingerprint256}/${subject.issuer.fingerprint256}/${urls.join(' ')}`;
    const now = this.#now();
    const hit = this.#cache.get(key);
    if (hit && hit.expiresAt > now) {
      const halfLife = hit.storedAt + (hit.expiresAt - hit.storedAt) / 2;
      if (hit.result.outcome !== 'error' && now >= halfLife && !this.#inflight.has(key)) void this.#query(key, subject, urls, purpose);
      return { ...hit.result, cached: true };
    }
    return this.#inflight.get(key) ?? this.#query(key, subject, urls, purpose);
  }

  /** Drops every cached answer (tests, and a reload of the trust material). */
  clear(): void {
    this.#cache.clear();
  }

  #query(key: string, subject: OcspSubject, urls: readonly string[], purpose: OcspPurpose): Promise<OcspResult> {
    const p = this.#ask(subject, urls, purpose)
      .then((result) => {
        const now = this.#now();
        const ttl = result.outcome === 'error' ? this.o.errorCacheSeconds * 1000 : this.#validFor(result.answer, now);
        if (ttl > 0) this.#cache.set(key, { result, storedAt: now, expiresAt: now + ttl });
        else this.#cache.delete(key);
        return result;
      })
      .finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, p);
    return p;
  }

  #validFor(answer: OcspAnswer | undefined, now: number): number {
    const cap = this.o.cacheMaxSeconds * 1000;
    const until = answer?.nextUpdate?.getTime();
    return until === undefined ? cap : Math.max(0, Math.min(cap, until - now));
  }

  async #ask(subject: OcspSubject, urls: readonly string[], purpose: OcspPurpose): Promise<OcspResult> {
    if (urls.length === 0) return failure(new OcspError('no_responder', 'the certificate names no OCSP responder and OCSP_RESPONDER_URL is unset'));
    let query: ReturnType<typeof buildRequest>;
    try {
      query = buildRequest(subject, { nonce: this.o.nonce });
    } catch (e) {
      return failure(e);
    }
    const signal = AbortSignal.timeout(this.o.timeoutMs);
    let last: OcspResult | undefined;
    for (const url of urls) {
      const started = performance.now();
      let result: OcspResult;
      try {
        const der = await postOcsp(url, query.der, signal);
        const answer = verifyResponse(der, { ...subject, nonce: query.nonce, now: this.#now(), maxAgeSeconds: this.o.cacheMaxSeconds });
        result = { outcome: answer.status, reason: undefined, answer, der, cached: false, detail: `${url}: ${answer.status}` };
      } catch (e) {
        result = failure(e, url);
      }
      this.events.responder({ purpose, outcome: result.outcome, reason: result.reason, seconds: (performance.now() - started) / 1000 });
      if (result.outcome !== 'error') return result;
      last = result;
      if (signal.aborted) break;
    }
    return last ?? failure(new OcspError('timeout', 'no responder answered in time'));
  }
}

function failure(e: unknown, url?: string): OcspResult {
  const err = e instanceof OcspError ? e : new OcspError('malformed', (e as Error)?.message ?? String(e));
  return {
    outcome: 'error',
    reason: err.reason,
    answer: undefined,
    der: undefined,
    cached: false,
    detail: url && !err.message.includes(url) ? `${url}: ${err.message}` : err.message,
  };
}
