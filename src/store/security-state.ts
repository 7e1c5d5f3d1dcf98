// Security state shared by every replica through the store (docs/security.md class 5; SPEC §13 "Security
// state"): a value that only an explicit admin change alters, never a store flush, restart or eviction. The
// rules are those of the quarantine list (src/admin/quarantine.ts), for any value with a codec:
//
// - Shared: the value lives in the Store under one key; each replica re-reads it every `refreshMs` and
//   answers from memory (the request path never waits on the store).
// - Versioned: the stored text is {"g": generation, "v": value}; every change stamps a generation above
//   everything seen before (max(now ms, last + 1)), so a replica tells a change (a higher generation) from a
//   loss: the key ABSENT, or a LOWER generation than the value it enforces.
// - Never lifted by loss: on a loss the replica keeps its value, reports it (onLoss), and writes it back into
//   the store under the edit lock, only if the store still holds nothing newer.
// - Durable: with `path`, every change a replica makes or applies is written to that file (temp file + fsync
//   + rename); loadDurable() reads it before the store, so a restart of every replica with an empty store
//   still restores the value. A corrupt file throws (start-up must stop: fail closed).
// - Authored only by replicas: with an HMAC key the shared text is sealed (store/sealed.ts); a text that does
//   not open is 'tampered': handled as a loss, never applied, never persisted. Without one, a text whose
//   generation lies further ahead of this replica's clock than MAX_AHEAD_MS cannot be judged (forged, or the
//   clocks disagree): it is neither applied nor written over, and the replica is not ready until it can judge
//   the stored value again (shared-edit.ts; before 2026-12-01 a replica with a slow clock wrote its older
//   value over every newer one).
// - Not evictable by traffic: callers use a key under a security prefix (store/types.ts isSecurityKey).
// Writes take a short store lock (save nx) so two admins editing at once do not lose an update.
import { existsSync, readFileSync } from 'node:fs';
import { GatewayError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { createSealer, type Sealer } from './sealed.js';
import { isAhead, withStoreLock } from './shared-edit.js';
import type { Store } from './types.js';

const LOCK_TTL_MS = 2000;
// The store port has no "no expiry"; ten years outlives any incident and is refreshed on every change.
const VALUE_TTL_MS = 10 * 365 * 24 * 3600 * 1000;

/** How a value is read from and written as JSON. */
export interface StateCodec<V> {
  /** @throws Error when `json` is not a value of this kind. */
  parse(json: unknown): V;
  toJson(v: V): unknown;
  equal(a: V, b: V): boolean;
  isEmpty(v: V): boolean;
  readonly empty: V;
}

export interface StateLoss {
  readonly reason: 'absent' | 'older' | 'tampered';
  /** What the store held: undefined when absent or tampered, else its generation. */
  readonly storeGeneration: number | undefined;
  readonly generation: number;
}

export interface SecurityStateOptions<V> {
  readonly store: Store;
  /** Logical store key of the value, and of its edit lock (both under a security prefix). */
  readonly key: string;
  readonly lockKey: string;
  /** Names the value in messages, e.g. 'key revocation list'. */
  readonly what: string;
  readonly codec: StateCodec<V>;
  /** STATE_HMAC_KEY, and the MAC domain of this value (one key, one domain per purpose). */
  readonly hmacKey?: string | undefined;
  readonly purpose: string;
  /** The durable copy, written on every change and read by loadDurable(). */
  readonly path?: string | undefined;
  /** How often the shared value is re-read (default 1000 ms). */
  readonly refreshMs?: number;
  /** A refresh failed or found a corrupt value; the value in force stays. */
  readonly onError?: (err: unknown) => void;
  /** The shared value was found missing, older or tampered (it is then restored). Called only when the value in force is not empty. */
  readonly onLoss?: (e: StateLoss) => void;
  /** A (new) value is in force. */
  readonly onApply?: (v: V, generation: number) => void;
  /** Clock (ms) for generations (tests). */
  readonly now?: () => number;
}

interface Stamped<V> {
  readonly g: number;
  readonly v: V;
}

export class SecurityState<V> {
  #value: V;
  #generation = 0;
  #timer: NodeJS.Timeout | undefined;
  #losses = 0;
  #lastLoss: { at: string; reason: StateLoss['reason'] } | undefined;
  /** False while the store is known to lack the value in force (until it is restored). */
  #inStore = true;
  #persistFailed = false;
  /** The stored value is stamped too far ahead of this clock to be judged (unsealed): not ready until it is not. */
  #ahead = false;
  readonly #sealer: Sealer;
  readonly #now: () => number;

  constructor(private readonly o: SecurityStateOptions<V>) {
    this.#value = o.codec.empty;
    this.#sealer = createSealer(o.hmacKey, o.purpose);
    this.#now = o.now ?? Date.now;
  }

  /** The value in force (answered from memory). */
  get value(): V {
    return this.#value;
  }

  get generation(): number {
    return this.#generation;
  }

  #parse(text: string): Stamped<V> {
    const j: unknown = JSON.parse(text);
    if (j === null || typeof j !== 'object' || Array.isArray(j)) throw new Error(`${this.o.what} is not {"g": generation, "v": value}`);
    const { g, v } = j as { g?: unknown; v?: unknown };
    if (typeof g !== 'number' || !Number.isSafeInteger(g) || g < 0) throw new Error(`${this.o.what}: generation is not a non-negative integer`);
    return { g, v: this.o.codec.parse(v) };
  }

  #text(s: Stamped<V>): string {
    return JSON.stringify({ g: s.g, v: this.o.codec.toJson(s.v) });
  }

  /**
   * The shared value as this replica may trust it: undefined when absent, 'tampered' when a replica did not write
   * it, 'ahead' when it cannot tell (isAhead).
   */
  async #readShared(): Promise<Stamped<V> | 'tampered' | 'ahead' | undefined> {
    const raw = await this.o.store.get(this.o.key);
    if (raw === undefined) return undefined;
    const text = this.#sealer.open(raw);
    if (text === undefined) return 'tampered';
    let s: Stamped<V>;
    try {
      s = this.#parse(text);
    } catch {
      return 'tampered';
    }
    return isAhead(s.g, this.#now(), this.#sealer.authenticated) ? 'ahead' : s;
  }

  async #writeShared(s: Stamped<V>): Promise<void> {
    await this.o.store.save(this.o.key, this.#sealer.seal(this.#text(s)), VALUE_TTL_MS);
  }

  /**
   * Reads the durable copy into the value in force; a missing file is an empty history.
   * @throws Error when the file exists but does not parse (start-up must stop: fail closed).
   */
  loadDurable(): void {
    const path = this.o.path;
    if (path === undefined || !existsSync(path)) return;
    let s: Stamped<V>;
    try {
      s = this.#parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new Error(`${path} is not a ${this.o.what} (${(err as Error).message}); fix or remove it`);
    }
    if (s.g >= this.#generation) this.#apply(s, false);
  }

  /** Reads the value once, then keeps re-reading it in the background until close(). */
  async start(): Promise<void> {
    await this.refresh();
    this.#timer ??= setInterval(() => void this.refresh(), this.o.refreshMs ?? 1000).unref();
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** For /ready: healthy while the store holds the value in force and the durable copy is written. */
  readiness(): { ok: boolean; info: Record<string, unknown> } {
    return {
      ok: this.#inStore && !this.#persistFailed && !this.#ahead,
      info: {
        generation: this.#generation,
        ...(this.#ahead ? { aheadOfClock: true } : {}),
        durable: this.o.path !== undefined && !this.#persistFailed,
        inStore: this.#inStore,
        losses: this.#losses,
        ...(this.#lastLoss ? { lastLoss: this.#lastLoss } : {}),
      },
    };
  }

  /**
   * Re-reads the shared value. A higher generation is applied; an absent key or a lower generation while a
   * value is known is a loss: the value in force stays and is written back. On a failure the value in force
   * stays (fail static) and onError hears of it.
   */
  async refresh(): Promise<void> {
    try {
      const s = await this.#readShared();
      if (s === 'ahead') {
        if (!this.#ahead) this.o.onError?.(new Error(aheadMessage(this.o.what)));
        this.#ahead = true;
        return;
      }
      this.#ahead = false;
      if (s === undefined) {
        if (this.#generation === 0 && this.o.codec.isEmpty(this.#value)) return; // nothing was ever set
        await this.#restore('absent', undefined);
        return;
      }
      if (s === 'tampered') {
        this.o.onError?.(new Error(`shared ${this.o.what} is corrupt, unsealed or from the future; keeping the one in force and restoring it`));
        await this.#restore('tampered', undefined);
        return;
      }
      if (s.g < this.#generation) {
        await this.#restore('older', s.g);
        return;
      }
      if (s.g > this.#generation || !this.o.codec.equal(s.v, this.#value)) this.#apply(s, true);
      this.#inStore = true;
    } catch (err) {
      this.o.onError?.(err);
    }
  }

  /**
   * Changes the value on every replica: `change` gets the newest known value (and its generation: 0 when
   * none was ever stored) and returns the next one (or undefined for no change) and a result, which update()
   * resolves with.
   * @throws GatewayError GW_STORE_UNAVAILABLE when the store is down or the edit lock stays held.
   */
  update<R>(change: (v: V, generation: number) => { next: V | undefined; result: R }): Promise<R> {
    return this.#locked(async () => {
      const read = await this.#readShared();
      if (read === 'ahead') throw new GatewayError('GW_STORE_UNAVAILABLE', { detail: aheadMessage(this.o.what) });
      const cur = read === 'tampered' ? undefined : read;
      // The base is the newest known value: a flushed store must not make an edit drop what it held.
      const base: Stamped<V> = cur !== undefined && cur.g >= this.#generation ? cur : { g: this.#generation, v: this.#value };
      const { next, result } = change(base.v, base.g);
      if (next !== undefined || cur === undefined || cur.g < base.g) {
        const s: Stamped<V> = next !== undefined ? { g: Math.max(this.#now(), base.g + 1, this.#generation + 1), v: next } : base;
        await this.#writeShared(s);
        this.#apply(s, true);
      } else {
        this.#apply(base, true);
      }
      this.#inStore = true;
      return result;
    });
  }

  #apply(s: Stamped<V>, persist: boolean): void {
    const changed = s.g !== this.#generation || !this.o.codec.equal(s.v, this.#value);
    this.#value = s.v;
    this.#generation = s.g;
    if (changed) this.o.onApply?.(s.v, s.g);
    if (persist && changed) this.#persist();
  }

  #persist(): void {
    if (this.o.path === undefined) return;
    try {
      writeFileAtomic(this.o.path, this.#text({ g: this.#generation, v: this.#value }));
      this.#persistFailed = false;
    } catch (err) {
      this.#persistFailed = true;
      this.o.onError?.(err);
    }
  }

  async #restore(reason: StateLoss['reason'], storeGeneration: number | undefined): Promise<void> {
    this.#inStore = false;
    if (!this.o.codec.isEmpty(this.#value)) {
      this.#losses++;
      this.#lastLoss = { at: new Date(this.#now()).toISOString(), reason };
      this.o.onLoss?.({ reason, storeGeneration, generation: this.#generation });
    }
    const judged = await this.#locked(async () => {
      const read = await this.#readShared();
      if (read === 'ahead') return false; // never written over: it may be newer than anything this replica knows
      const cur = read === 'tampered' ? undefined : read;
      if (cur !== undefined && cur.g >= this.#generation) {
        if (cur.g > this.#generation) this.#apply(cur, true); // another replica restored or changed it meanwhile
        return true;
      }
      await this.#writeShared({ g: this.#generation, v: this.#value });
      return true;
    });
    if (judged) this.#inStore = true;
    else this.#ahead = true;
  }

  #locked<T>(fn: () => Promise<T>): Promise<T> {
    return withStoreLock(this.o.store, this.o.lockKey, LOCK_TTL_MS, this.o.what, fn);
  }
}

const aheadMessage = (what: string): string =>
  `the shared ${what} is stamped more than 10 minutes ahead of this replica's clock: check the clocks (or a forged value in the store); keeping the one in force, not writing over it, not ready`;
