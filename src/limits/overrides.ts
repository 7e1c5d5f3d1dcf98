// Run-time limit overrides (docs/operations.md, "Traffic control"): an operator raises or lowers one DFSP's limits for
// an incident through the admin API, on every replica within a second, until released. They are security state
// with the rules of the quarantine list and the key revocations (src/store/security-state.ts): shared under one
// store key and re-read every `refreshMs` (default 250 ms; the request path answers from a local Map), stamped
// with a generation so a replica tells a change from a loss (a flush, an eviction, an old snapshot, the memory
// store of a restarted process) and writes the overrides in force back, sealed with STATE_HMAC_KEY, and
// written to the durable copy LIMIT_OVERRIDES_PATH on every change (read at start-up before the store).
//
// The value is {fspId: entry}, each entry as in the limits file (rules.ts), kept as the operator gave it for
// GET /admin/limits and parsed once into FspLimits whenever a new value comes into force.
import { createSealer } from '../store/sealed.js';
import { SecurityState, type StateCodec, type StateLoss } from '../store/security-state.js';
import type { Store } from '../store/types.js';
import { type FspLimits, parseFspLimits } from './rules.js';

/** Under a security prefix (store/types.ts): never evicted or refused for request state. */
export const OVERRIDES_KEY = 'limits:overrides:v2';
const LOCK_KEY = 'limits:lock';
/** Where overrides lived before they were security state ({"g", "fsps"}); read once, migrated, never written. */
const LEGACY_KEY = 'limits:overrides';

type Entries = Readonly<Record<string, unknown>>;

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

const CODEC: StateCodec<Entries> = {
  empty: Object.freeze({}),
  isEmpty: (v) => Object.keys(v).length === 0,
  parse(json) {
    if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new Error('limit overrides must be an object of fspId: entry');
    for (const [id, entry] of Object.entries(json)) {
      try {
        parseFspLimits(entry);
      } catch (err) {
        throw new Error(`limit override for ${id}: ${(err as Error).message}`);
      }
    }
    return Object.freeze({ ...(json as Record<string, unknown>) });
  },
  toJson: (v) =>
    Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, v[k]]),
    ),
  equal: (a, b) => sameJson(CODEC.toJson(a), CODEC.toJson(b)),
};

export interface LimitOverridesOptions {
  readonly refreshMs?: number;
  readonly onError?: (err: unknown) => void;
  /** STATE_HMAC_KEY: seals the shared value (store/sealed.ts). */
  readonly hmacKey?: string | undefined;
  /** LIMIT_OVERRIDES_PATH: the durable copy. */
  readonly path?: string | undefined;
  /** The shared overrides were found missing, older or tampered while some were in force; they are written back. */
  readonly onLoss?: (e: StateLoss & { readonly fsps: readonly string[] }) => void;
  readonly now?: () => number;
}

export class LimitOverrides {
  #map: ReadonlyMap<string, FspLimits> = new Map();
  readonly #state: SecurityState<Entries>;
  readonly #store: Store;
  readonly #hmacKey: string | undefined;
  readonly #onError: ((err: unknown) => void) | undefined;

  constructor(store: Store, o: LimitOverridesOptions = {}) {
    this.#store = store;
    this.#hmacKey = o.hmacKey;
    this.#onError = o.onError;
    this.#state = new SecurityState<Entries>({
      store,
      key: OVERRIDES_KEY,
      lockKey: LOCK_KEY,
      what: 'limit overrides',
      codec: CODEC,
      hmacKey: o.hmacKey,
      purpose: 'limit-overrides',
      path: o.path,
      refreshMs: o.refreshMs ?? 250,
      ...(o.onError ? { onError: o.onError } : {}),
      onLoss: (e) => o.onLoss?.({ ...e, fsps: Object.keys(this.#state.value).sort() }),
      onApply: (v) => {
        this.#map = new Map(Object.entries(v).map(([id, entry]) => [id, parseFspLimits(entry)]));
      },
      ...(o.now ? { now: o.now } : {}),
    });
  }

  /** Reads the durable copy before start(); a corrupt one throws (start-up stops: an incident's limit is never silently dropped). */
  loadDurable(): void {
    this.#state.loadDurable();
  }

  async start(): Promise<void> {
    await this.#state.start();
    await this.#migrateLegacy();
  }

  /** The overrides in force on this replica. */
  get current(): ReadonlyMap<string, FspLimits> {
    return this.#map;
  }

  list(): Record<string, unknown> {
    return { ...this.#state.value };
  }

  refresh(): Promise<void> {
    return this.#state.refresh();
  }

  /** For /ready: the shared value holds what this replica enforces and the durable copy is written. */
  readiness(): { ok: boolean; info: Record<string, unknown> } {
    return this.#state.readiness();
  }

  /** Sets (entry) or releases (undefined) one FSP's override; resolves the overrides now in force. */
  async change(fspId: string, entry: unknown | undefined): Promise<Record<string, unknown>> {
    if (entry !== undefined) parseFspLimits(entry); // validated before anything is written
    return this.#state.update((v) => {
      if (entry === undefined && !(fspId in v)) return { next: undefined, result: { ...v } };
      const next: Record<string, unknown> = { ...v };
      if (entry === undefined) delete next[fspId];
      else next[fspId] = entry;
      return { next: Object.freeze(next), result: { ...next } };
    });
  }

  /**
   * Overrides stored by the previous release ({"g", "fsps"} under LEGACY_KEY, sealed for the same purpose) are
   * taken over once, under the edit lock and only while no value was ever stored under OVERRIDES_KEY
   * (generation 0), so neither a later release nor a later change can be undone by them; the legacy key is then
   * deleted. A legacy value that does not open or parse is reported (onError), never silently dropped. While
   * replicas of the previous release still run they read and write only the legacy key: change no override
   * during a rolling upgrade (docs/operations.md).
   */
  async #migrateLegacy(): Promise<void> {
    if (this.#state.generation !== 0) return;
    const raw = await this.#store.get(LEGACY_KEY).catch(() => undefined);
    if (raw === undefined) return;
    const text = createSealer(this.#hmacKey, 'limit-overrides').open(raw);
    let legacy: Entries;
    try {
      if (text === undefined) throw new Error('it does not open with STATE_HMAC_KEY');
      legacy = CODEC.parse((JSON.parse(text) as { fsps?: unknown }).fsps);
    } catch (err) {
      this.#onError?.(
        new Error(`limit overrides of the previous release (${LEGACY_KEY}) not taken over: ${(err as Error).message}; re-apply them with PUT /admin/limits`),
      );
      return;
    }
    try {
      const took = await this.#state.update((_v, g) => ({ next: g === 0 && !CODEC.isEmpty(legacy) ? legacy : undefined, result: g === 0 }));
      if (took) await this.#store.delete(LEGACY_KEY);
    } catch (err) {
      this.#onError?.(err); // the store is down: the next start-up tries again (the legacy key is still there)
    }
  }

  close(): void {
    this.#state.close();
  }
}
