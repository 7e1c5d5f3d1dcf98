// Run-time limit overrides (docs/operations.md, "Traffic control"): an operator raises or lowers one DFSP's limits for
// an incident through the admin API. The overrides live in the Store under one key, {"g": generation,
// "fsps": {fspId: entry}}, so every replica agrees; each replica re-reads it every `refreshMs` (default
// 250 ms: applied everywhere within a second) and answers from a local Map (the request path never waits
// on the store). They stay until released (no expiry short of ten years). Writes take a short store lock
// (save nx) so two operators editing at once do not lose an update.
// Durability (LIMIT_OVERRIDES_PATH, as QUARANTINE_PATH for the quarantine list): every generation this
// replica applies is also written to a file (temp file + rename), read at start-up before the store; when the
// store has lost the value (a flush, the memory store of a restarted process), the replica that still knows a
// generation writes it back (only if the key is still absent), so an incident's override stays until released.
import { existsSync, readFileSync } from 'node:fs';
import { GatewayError } from '../errors.js';
import { createSealer, type Sealer } from '../store/sealed.js';
import type { Store } from '../store/types.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { type FspLimits, parseFspLimits } from './rules.js';

const OVERRIDES_KEY = 'limits:overrides';
const LOCK_KEY = 'limits:lock';
const LOCK_TTL_MS = 2000;
const TTL_MS = 10 * 365 * 24 * 3600 * 1000;

interface Stored {
  g: number;
  fsps: Record<string, unknown>;
}

function parseStored(text: string | undefined): Stored {
  if (text === undefined) return { g: 0, fsps: {} };
  const v = JSON.parse(text) as Partial<Stored>;
  if (typeof v?.g !== 'number' || v.fsps === null || typeof v.fsps !== 'object' || Array.isArray(v.fsps))
    throw new Error('limit overrides are not {"g", "fsps"}');
  return { g: v.g, fsps: v.fsps };
}

export class LimitOverrides {
  #map: ReadonlyMap<string, FspLimits> = new Map();
  #raw: Record<string, unknown> = {};
  #g = -1;
  #timer: NodeJS.Timeout | undefined;

  readonly #sealer: Sealer;

  /** `hmacKey` (STATE_HMAC_KEY) seals the shared value: one no replica wrote is never applied (store/sealed.ts). */
  constructor(
    private readonly store: Store,
    private readonly options: {
      refreshMs?: number;
      onError?: (err: unknown) => void;
      hmacKey?: string | undefined;
      /** LIMIT_OVERRIDES_PATH: the durable copy. */
      path?: string | undefined;
      /** The store had lost the overrides and this replica wrote back the generation it enforces. */
      onRestore?: (e: { generation: number; fsps: number }) => void;
    } = {},
  ) {
    this.#sealer = createSealer(options.hmacKey, 'limit-overrides');
  }

  /**
   * Reads the durable copy into the overrides in force (before start()); a missing file is no history. A file
   * that is not an overrides file throws: start-up stops rather than silently dropping an incident's limit.
   */
  loadDurable(): void {
    const path = this.options.path;
    if (path === undefined || !existsSync(path)) return;
    try {
      this.#apply(parseStored(readFileSync(path, 'utf8')), false);
    } catch (err) {
      throw new Error(`LIMIT_OVERRIDES_PATH: ${path} is not a limit-overrides file (${(err as Error).message}); fix or remove it`);
    }
  }

  /** The stored overrides (undefined: none stored); a value no replica sealed throws (the overrides in force stay). */
  async #readStored(): Promise<Stored | undefined> {
    const raw = await this.store.get(OVERRIDES_KEY);
    if (raw === undefined) return undefined;
    const text = this.#sealer.open(raw);
    if (text === undefined) throw new Error('limit overrides in the store were not written by a replica (STATE_HMAC_KEY); keeping the overrides in force');
    return parseStored(text);
  }

  /** The overrides in force on this replica. */
  get current(): ReadonlyMap<string, FspLimits> {
    return this.#map;
  }

  list(): Record<string, unknown> {
    return { ...this.#raw };
  }

  async start(): Promise<void> {
    await this.refresh().catch((e) => this.options.onError?.(e));
    this.#timer = setInterval(() => {
      void this.refresh().catch((e) => this.options.onError?.(e));
    }, this.options.refreshMs ?? 250);
    this.#timer.unref();
  }

  async refresh(): Promise<void> {
    const s = await this.#readStored();
    if (s === undefined) {
      // Nothing stored. A replica that knows a generation (a change, an earlier read, the durable copy) puts it
      // back, unless another replica has meanwhile written one (nx); a fresh deployment has nothing to restore.
      if (this.#g <= 0) return this.#apply({ g: 0, fsps: {} });
      const known: Stored = { g: this.#g, fsps: { ...this.#raw } };
      if (await this.store.save(OVERRIDES_KEY, this.#sealer.seal(JSON.stringify(known)), TTL_MS, 'nx'))
        this.options.onRestore?.({ generation: known.g, fsps: Object.keys(known.fsps).length });
      return;
    }
    if (s.g === this.#g) return;
    this.#apply(s);
  }

  /** Sets (entry) or releases (undefined) one FSP's override; resolves the stored overrides. */
  async change(fspId: string, entry: unknown | undefined): Promise<Record<string, unknown>> {
    if (entry !== undefined) parseFspLimits(entry); // validated before anything is written
    const token = `${process.pid}:${Math.random()}`;
    const deadline = Date.now() + LOCK_TTL_MS;
    while (!(await this.store.save(LOCK_KEY, token, LOCK_TTL_MS, 'nx'))) {
      if (Date.now() > deadline) throw new GatewayError('GW_STORE_UNAVAILABLE', { detail: 'limits are being changed by another call' });
      await new Promise((r) => setTimeout(r, 20));
    }
    try {
      // Unreadable or tampered shared state: build on what this replica enforces; the save below fails
      // (and the caller sees it) if the store is down.
      // Nothing stored (lost): build on what this replica enforces, too.
      const own = (): Stored => ({ g: Math.max(0, this.#g), fsps: { ...this.#raw } });
      const s = (await this.#readStored().catch(() => undefined)) ?? own();
      const fsps = { ...s.fsps };
      if (entry === undefined) delete fsps[fspId];
      else fsps[fspId] = entry;
      const next = { g: Math.max(Date.now(), s.g + 1), fsps };
      await this.store.save(OVERRIDES_KEY, this.#sealer.seal(JSON.stringify(next)), TTL_MS);
      this.#apply(next);
      return { ...fsps };
    } finally {
      // A lock not released expires after its TTL; the change itself has already succeeded or failed.
      if ((await this.store.get(LOCK_KEY).catch(() => undefined)) === token) await this.store.delete(LOCK_KEY).catch(() => {});
    }
  }

  #apply(s: Stored, persist = true): void {
    const map = new Map<string, FspLimits>();
    for (const [id, v] of Object.entries(s.fsps)) map.set(id, parseFspLimits(v)); // a bad entry keeps the previous map (throws)
    const changed = s.g !== this.#g;
    this.#map = map;
    this.#raw = s.fsps;
    this.#g = s.g;
    if (persist && changed && this.options.path !== undefined && s.g > 0) {
      try {
        writeFileAtomic(this.options.path, `${JSON.stringify({ g: s.g, fsps: s.fsps })}\n`);
      } catch (err) {
        this.options.onError?.(new Error(`LIMIT_OVERRIDES_PATH ${this.options.path} not written: ${(err as Error).message}`));
      }
    }
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
  }
}
