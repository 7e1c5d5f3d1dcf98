// The quarantine list (docs/security.md class 5): peers an operator cut off through the admin API. Only an
// explicit release (DELETE /admin/quarantine/{fspId}) lifts a quarantine; nothing else does.
//
// - Shared: the list lives in the Store under one key so every replica agrees; each replica re-reads it
//   every `refreshMs` and answers isQuarantined() from a local Set (the request path never waits on the store).
// - Versioned: the stored value is {"g": generation, "peers": [...]}; every admin change stamps a generation
//   above everything seen before (max(now ms, last + 1)). A replica therefore tells a release (a higher
//   generation) from a store flush, restart or eviction (the key ABSENT, or a LOWER generation than the list
//   it enforces, e.g. Redis restarted from an old snapshot).
// - Not ready before it knows: a replica whose first read of the shared list failed (the store slow or
//   unreachable at start-up) enforces only what QUARANTINE_PATH gave it, so /ready stays red until one read
//   succeeds; a load balancer sends it nothing a quarantine would have refused (test/integration/replicas/).
// - Never lifted by loss: on such a loss the replica keeps enforcing its list, logs (onLoss), counts
//   (switchguard_quarantine_lost_total) and writes its list back into the store (under the edit lock, only
//   if the store still holds nothing newer). /ready shows the losses (readiness()).
// - Durable: with QUARANTINE_PATH every change a replica makes or applies is written to that file (temp
//   file + fsync + rename); start-up reads it before the store, so a restart of every replica together with
//   a flushed store still restores the list. A corrupt file stops start-up (fail closed).
// - Not evictable by traffic: the key is security state (store/types.ts isSecurityKey); the memory adapter
//   keeps it apart from request records, and Redis should run with maxmemory-policy noeviction.
// - Authored only by replicas: with STATE_HMAC_KEY the shared value is sealed (store/sealed.ts); a value
//   that does not open is 'tampered': handled as a loss (still enforced, restored), never applied, never
//   persisted. Without the key, a value whose generation lies further ahead of this replica's clock than
//   MAX_AHEAD_MS cannot be judged (forged, or the clocks disagree): neither applied nor written over, and the
//   replica is not ready until it can judge the list again (store/shared-edit.ts; before 2026-12-01 a replica
//   with a slow clock wrote its older list over every newer one).
// Writes take a short store lock (store/shared-edit.ts withStoreLock) so two admins editing at once do not lose
// an update; only its own lock is released (before 2026-12-01 a late edit released whatever lock it found).
import { existsSync, readFileSync } from 'node:fs';
import { GatewayError } from '../errors.js';
import { createSealer, type Sealer } from '../store/sealed.js';
import { isAhead, withStoreLock } from '../store/shared-edit.js';
import type { Store } from '../store/types.js';
import type { Telemetry } from '../telemetry/types.js';
import { writeFileAtomic } from '../util/atomic-file.js';

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
  /** QUARANTINE_PATH: the durable copy, written on every change and read by loadDurable(). */
  readonly path?: string | undefined;
  /** Called when the shared list was found missing or older than the enforced one (it is then restored). */
  readonly onLoss?: (e: QuarantineLoss) => void;
  /** Clock (ms) for generations (tests). */
  readonly now?: () => number;
  /** STATE_HMAC_KEY: seals the shared value so that only replicas can author it. */
  readonly hmacKey?: string | undefined;
}

export interface QuarantineLoss {
  readonly reason: 'absent' | 'older' | 'tampered';
  /** What the store held: undefined when absent, else its generation. */
  readonly storeGeneration: number | undefined;
  readonly generation: number;
  readonly peers: readonly string[];
}

export interface QuarantineState {
  /** 0: nothing ever known (no list was ever set). */
  readonly g: number;
  readonly peers: readonly string[];
}

/** Parses a stored or persisted list: {"g", "peers"}; a bare array (older gateways) is generation 0. */
export function parseState(raw: string): QuarantineState {
  const v: unknown = JSON.parse(raw);
  const strings = (a: unknown): a is string[] => Array.isArray(a) && a.every((x) => typeof x === 'string');
  if (strings(v)) return { g: 0, peers: v };
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as { g?: unknown; peers?: unknown };
    if (typeof o.g === 'number' && Number.isSafeInteger(o.g) && o.g >= 0 && strings(o.peers)) return { g: o.g, peers: o.peers };
  }
  throw new Error('quarantine list is not {"g": generation, "peers": [fspId, …]}');
}

const AHEAD =
  "the shared quarantine list is stamped more than 10 minutes ahead of this replica's clock: check the clocks (or a forged value in the store); keeping the list in force, not writing over it, not ready";

const stateText = (s: QuarantineState): string => JSON.stringify({ g: s.g, peers: [...s.peers].sort() });

export class Quarantine {
  private peers: ReadonlySet<string> = new Set();
  private generation = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly store: Store;
  private readonly telemetry: Telemetry | undefined;
  private readonly refreshMs: number;
  private readonly onError: (err: unknown) => void;
  private readonly onLoss: (e: QuarantineLoss) => void;
  private readonly path: string | undefined;
  private readonly now: () => number;
  private losses = 0;
  private lastLoss: { at: string; reason: QuarantineLoss['reason'] } | undefined;
  /** False while the store is known to lack the list in force (until it is restored). */
  private inStore = true;
  private persistFailed = false;
  /** The stored list is stamped too far ahead of this clock to be judged (unsealed): not ready until it is not. */
  private ahead = false;
  /** True once the shared list has been read (or written) successfully: the replica knows what is in force. */
  private synced = false;
  private readonly sealer: Sealer;

  constructor(options: QuarantineOptions) {
    this.store = options.store;
    this.telemetry = options.telemetry;
    this.refreshMs = options.refreshMs ?? 1000;
    this.onError = options.onError ?? (() => {});
    this.onLoss = options.onLoss ?? (() => {});
    this.path = options.path;
    this.now = options.now ?? Date.now;
    this.sealer = createSealer(options.hmacKey, 'quarantine');
  }

  /**
   * The shared value as this replica may trust it: undefined when absent, 'tampered' when a replica did not write
   * it, 'ahead' when it cannot tell (isAhead).
   */
  private async readShared(): Promise<QuarantineState | 'tampered' | 'ahead' | undefined> {
    const raw = await this.store.get(QUARANTINE_KEY);
    if (raw === undefined) return undefined;
    const text = this.sealer.open(raw);
    if (text === undefined) return 'tampered';
    let s: QuarantineState;
    try {
      s = parseState(text);
    } catch {
      return 'tampered';
    }
    return isAhead(s.g, this.now(), this.sealer.authenticated) ? 'ahead' : s;
  }

  private async writeShared(s: QuarantineState): Promise<void> {
    await this.store.save(QUARANTINE_KEY, this.sealer.seal(stateText(s)), LIST_TTL_MS);
  }

  /**
   * Reads the durable copy (QUARANTINE_PATH) into the enforced list; a missing file is an empty history.
   * @throws Error when the file exists but is not a quarantine list (start-up must stop: fail closed).
   */
  loadDurable(): void {
    if (this.path === undefined || !existsSync(this.path)) return;
    let s: QuarantineState;
    try {
      s = parseState(readFileSync(this.path, 'utf8'));
    } catch (err) {
      throw new Error(`QUARANTINE_PATH: ${this.path} is not a quarantine list (${(err as Error).message}); fix or remove it`);
    }
    if (s.g >= this.generation) this.apply(s, false);
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

  /** For /ready: healthy once the shared list was read, while the store holds the enforced list and the durable copy is written. */
  readiness(): { ok: boolean; info: Record<string, unknown> } {
    return {
      ok: this.synced && this.inStore && !this.persistFailed && !this.ahead,
      info: {
        synced: this.synced,
        ...(this.ahead ? { aheadOfClock: true } : {}),
        peers: this.peers.size,
        generation: this.generation,
        durable: this.path !== undefined && !this.persistFailed,
        inStore: this.inStore,
        losses: this.losses,
        ...(this.lastLoss ? { lastLoss: this.lastLoss } : {}),
      },
    };
  }

  /**
   * Re-reads the shared list. A higher generation is applied (including releases); an absent key or a
   * lower generation while a list is known is a loss: the list in force stays and is written back. On a
   * failure the previous list stays in force (fail static) and onError hears of it.
   */
  async refresh(): Promise<void> {
    try {
      const s = await this.readShared();
      if (s === 'ahead') {
        if (!this.ahead) this.onError(new Error(AHEAD));
        this.ahead = true;
        return;
      }
      this.ahead = false;
      if (s === undefined) {
        // Nothing was ever set, or a loss: restored from the list in force.
        if (this.generation !== 0 || this.peers.size !== 0) await this.restore({ reason: 'absent', storeGeneration: undefined });
      } else if (s === 'tampered') {
        this.onError(new Error('shared quarantine list is corrupt, unsealed or from the future; keeping the list in force and restoring it'));
        await this.restore({ reason: 'tampered', storeGeneration: undefined });
      } else if (s.g < this.generation) {
        await this.restore({ reason: 'older', storeGeneration: s.g });
      } else {
        if (s.g > this.generation || !this.same(s.peers)) this.apply(s, true);
        this.inStore = true;
      }
      this.synced = true;
    } catch (err) {
      this.onError(err);
    }
  }

  /** Quarantines `fspId` on every replica; resolves whether it changed anything. */
  add(fspId: string): Promise<boolean> {
    return this.update((s) => {
      if (s.has(fspId)) return false;
      s.add(fspId);
      return true;
    });
  }

  /** Releases `fspId` (the only way a quarantine lifts); resolves whether it was quarantined. */
  remove(fspId: string): Promise<boolean> {
    return this.update((s) => s.delete(fspId));
  }

  private same(peers: readonly string[]): boolean {
    return peers.length === this.peers.size && peers.every((p) => this.peers.has(p));
  }

  private apply(s: QuarantineState, persist: boolean): void {
    const changed = s.g !== this.generation || !this.same(s.peers);
    this.peers = new Set(s.peers);
    this.generation = s.g;
    this.telemetry?.quarantine({ count: this.peers.size });
    if (persist && changed) this.persist();
  }

  private persist(): void {
    if (this.path === undefined) return;
    try {
      writeFileAtomic(this.path, stateText({ g: this.generation, peers: [...this.peers] }));
      this.persistFailed = false;
    } catch (err) {
      this.persistFailed = true;
      this.onError(err);
    }
  }

  private async restore(e: { reason: QuarantineLoss['reason']; storeGeneration: number | undefined }): Promise<void> {
    this.inStore = false;
    if (this.peers.size > 0) {
      this.losses++;
      this.lastLoss = { at: new Date(this.now()).toISOString(), reason: e.reason };
      this.telemetry?.quarantineLost();
      this.onLoss({ ...e, generation: this.generation, peers: this.list() });
    }
    const judged = await this.locked(async () => {
      const read = await this.readShared();
      if (read === 'ahead') return false; // never written over: it may be newer than anything this replica knows
      const cur = read === 'tampered' ? undefined : read;
      if (cur !== undefined && cur.g >= this.generation) {
        if (cur.g > this.generation) this.apply(cur, true); // another replica restored or changed it meanwhile
        return true;
      }
      await this.writeShared({ g: this.generation, peers: [...this.peers] });
      return true;
    });
    if (judged) this.inStore = true;
    else this.ahead = true;
  }

  private locked<T>(fn: () => Promise<T>): Promise<T> {
    return withStoreLock(this.store, LOCK_KEY, LOCK_TTL_MS, 'quarantine list', fn);
  }

  private update(change: (s: Set<string>) => boolean): Promise<boolean> {
    return this.locked(async () => {
      const read = await this.readShared();
      if (read === 'ahead') throw new GatewayError('GW_STORE_UNAVAILABLE', { detail: AHEAD });
      const cur = read === 'tampered' ? undefined : read;
      // The base is the newest known list: a flushed store must not make an edit drop the others.
      const base = cur !== undefined && cur.g >= this.generation ? cur : { g: this.generation, peers: this.list() };
      const s = new Set(base.peers);
      const changed = change(s);
      if (changed || cur === undefined || cur.g < base.g) {
        const next = { g: changed ? Math.max(this.now(), base.g + 1, this.generation + 1) : base.g, peers: [...s] };
        await this.writeShared(next);
        this.apply(next, true);
      } else {
        this.apply(base, true);
      }
      this.inStore = true;
      this.synced = true;
      return changed;
    });
  }
}
