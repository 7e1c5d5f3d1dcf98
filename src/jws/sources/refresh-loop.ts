// When a remote key source is fetched again (docs/jws.md, "Key sources"): ahead of expiry, with bounds.
//   - after a success: at 80 % of the document's Cache-Control max-age (RFC 9111 §5.2.2.1), never sooner
//     than PEER_KEYS_REFRESH_MIN_SECONDS nor later than PEER_KEYS_REFRESH_MAX_SECONDS (no max-age: the max);
//   - after a failure: the minimum, doubling with each consecutive failure up to the maximum;
//   - a source is stale once its last good set is older than its lifetime: max-age (no max-age: the
//     maximum), at least the minimum. Stale keys stay in force (the last good set is kept); the metric
//     switchguard_peer_key_source_stale_after_timestamp_seconds and the PeerKeySourceStale alert say so.
// A loop runs one fetch at a time (single flight): refresh() during a fetch joins it.
import type { RefusalReason } from './remote-key.js';

export interface RefreshBounds {
  readonly minMs: number;
  readonly maxMs: number;
}

/** max-age (seconds) of a Cache-Control value; no-store / no-cache count as 0; undefined when absent. */
export function maxAgeSeconds(cacheControl: string | readonly string[] | undefined): number | undefined {
  const text = Array.isArray(cacheControl) ? cacheControl.join(',') : (cacheControl as string | undefined);
  if (!text) return undefined;
  let maxAge: number | undefined;
  for (const part of text.split(',')) {
    const [name, value] = part.trim().split('=', 2) as [string, string | undefined];
    const n = name.toLowerCase();
    if (n === 'no-store' || n === 'no-cache') return 0;
    if (n === 'max-age' && value !== undefined && /^"?\d{1,10}"?$/.test(value.trim())) maxAge = Number(value.trim().replace(/"/g, ''));
  }
  return maxAge;
}

const clamp = (v: number, b: RefreshBounds) => Math.min(Math.max(v, b.minMs), b.maxMs);

export const refreshDelayMs = (maxAge: number | undefined, b: RefreshBounds): number => clamp(maxAge === undefined ? b.maxMs : maxAge * 800, b);
export const retryDelayMs = (failures: number, b: RefreshBounds): number => clamp(b.minMs * 2 ** Math.min(Math.max(failures - 1, 0), 30), b);
export const lifetimeMs = (maxAge: number | undefined, b: RefreshBounds): number => Math.max(maxAge === undefined ? b.maxMs : maxAge * 1000, b.minMs);

export interface LoopStatus {
  /** Epoch ms of the last successful fetch, if any. */
  readonly lastSuccess: number | undefined;
  /** Epoch ms after which the last good set is stale (0 when there never was one). */
  readonly staleAfter: number;
  readonly lastFailure: { readonly at: number; readonly reason: RefusalReason; readonly detail: string } | undefined;
  /** Consecutive failures since the last success. */
  readonly failures: number;
  readonly nextRefreshAt: number | undefined;
}

export interface RefreshLoopOptions {
  readonly bounds: RefreshBounds;
  /** One fetch: resolves the document's max-age (seconds, if any), rejects with a Refusal (or anything). */
  readonly run: () => Promise<{ maxAge: number | undefined }>;
  /** After every fetch, with the status it left. */
  readonly settled?: (s: LoopStatus, error: unknown) => void;
  readonly now?: () => number;
}

export class RefreshLoop {
  #running: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #status: LoopStatus = { lastSuccess: undefined, staleAfter: 0, lastFailure: undefined, failures: 0, nextRefreshAt: undefined };
  readonly #now: () => number;

  constructor(private readonly o: RefreshLoopOptions) {
    this.#now = o.now ?? Date.now;
  }

  get status(): LoopStatus {
    return this.#status;
  }

  /** Fetches now (or joins the fetch under way), then schedules the next one. Never rejects. */
  refresh(): Promise<void> {
    this.#running ??= this.#once().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #once(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    let error: unknown;
    let delay: number;
    const at = this.#now();
    try {
      const { maxAge } = await this.o.run();
      delay = refreshDelayMs(maxAge, this.o.bounds);
      this.#status = { lastSuccess: at, staleAfter: at + lifetimeMs(maxAge, this.o.bounds), lastFailure: undefined, failures: 0, nextRefreshAt: at + delay };
    } catch (e) {
      error = e;
      const failures = this.#status.failures + 1;
      delay = retryDelayMs(failures, this.o.bounds);
      const r = e as { reason?: RefusalReason; detail?: string };
      this.#status = {
        ...this.#status,
        lastFailure: { at, reason: r.reason ?? 'unreachable', detail: r.detail ?? 'fetch failed' },
        failures,
        nextRefreshAt: at + delay,
      };
    }
    if (!this.#closed) this.#timer = setTimeout(() => void this.refresh(), delay).unref();
    this.o.settled?.(this.#status, error);
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
