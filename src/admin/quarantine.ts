// The quarantine list (SPEC §3.2, §10): peers an operator cut off through the admin API. Kept in the
// Store under one key holding a JSON array so every replica agrees; each replica re-reads it every
// `refreshMs` and answers isQuarantined() from a local Set, so the request path never waits on the store.
// Writes take a short store lock (save nx) so two admins editing at once do not lose an update.
import { GatewayError } from '../errors.js';
import type { Store } from '../store/types.js';
import type { Telemetry } from '../telemetry/types.js';

export const QUARANTINE_KEY = 'quarantine:peers';
const LOCK_KEY = 'quarantine:lock';
const LOCK_TTL_MS = 2000;
// The store port has no "no expiry"; ten years outlives any incident and is refreshed on every change.
const LIST_TTL_MS = 10 * 365 * 24 * 3600 * 1000;

export interface QuarantineOptions {
  readonly store: Store;
  readonly telemetry?: Telemetry;
  /** How often each replica re-reads the shared list (default 1000 ms). */
  readonly refreshMs?: number;
  /** Called when a refresh fails or finds a corrupt list; the previous list stays in force. */
  readonly onError?: (err: unknown) => void;
}

const parseList = (raw: string | undefined): string[] => {
  if (raw === undefined) return [];
  const v: unknown = JSON.parse(raw);
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new Error('quarantine list is not a JSON array of strings');
  return v as string[];
};

export class Quarantine {
  private peers: ReadonlySet<string> = new Set();
  private timer: NodeJS.Timeout | undefined;
  private readonly store: Store;
  private readonly telemetry: Telemetry | undefined;
  private readonly refreshMs: number;
  private readonly onError: (err: unknown) => void;

  constructor(options: QuarantineOptions) {
    this.store = options.store;
    this.telemetry = options.telemetry;
    this.refreshMs = options.refreshMs ?? 1000;
    this.onError = options.onError ?? (() => {});
  }

  /** Loads the list once, then keeps re-reading it in the background until close(). */
  async start(): Promise<void> {
    await this.refresh();
    this.timer ??= setInterval(() => void this.refresh(), this.refreshMs).unref();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Request-path check: a local Set lookup, never a store round trip. */
  isQuarantined(fspId: string): boolean {
    return this.peers.has(fspId);
  }

  list(): string[] {
    return [...this.peers].sort();
  }

  /** Re-reads the shared list; on failure keeps the list it had (fail static) and reports through onError. */
  async refresh(): Promise<void> {
    try {
      this.apply(parseList(await this.store.get(QUARANTINE_KEY)));
    } catch (err) {
      this.onError(err);
    }
  }

  /** Quarantines `fspId` on every replica; resolves whether it changed anything. */
  add(fspId: string): Promise<boolean> {
    return this.update((s) => (s.has(fspId) ? false : (s.add(fspId), true)));
  }

  /** Releases `fspId`; resolves whether it was quarantined. */
  remove(fspId: string): Promise<boolean> {
    return this.update((s) => s.delete(fspId));
  }

  private apply(list: readonly string[]): void {
    this.peers = new Set(list);
    this.telemetry?.quarantine({ count: this.peers.size });
  }

  private async update(change: (s: Set<string>) => boolean): Promise<boolean> {
    const token = `${process.pid}:${Math.random()}`;
    const deadline = Date.now() + LOCK_TTL_MS;
    while (!(await this.store.save(LOCK_KEY, token, LOCK_TTL_MS, 'nx'))) {
      if (Date.now() > deadline) throw new GatewayError('GW_STORE_UNAVAILABLE', { detail: 'quarantine list is locked' });
      await new Promise((r) => setTimeout(r, 25));
    }
    try {
      const s = new Set(parseList(await this.store.get(QUARANTINE_KEY)));
      const changed = change(s);
      if (changed) await this.store.save(QUARANTINE_KEY, JSON.stringify([...s].sort()), LIST_TTL_MS);
      this.apply([...s]);
      return changed;
    } finally {
      await this.store.delete(LOCK_KEY).catch(() => {});
    }
  }
}
