// A bound, per FSP, on the records the hub keeps for bulk messages (ILP_BULK_ITEMS_MAX_PER_FSP).
//
// A single message keeps one or two records, so a DFSP's share of the store is bounded by its request rate
// (RATE_LIMITS_PATH) times the records' lifetime. A bulk keeps one record per item, up to 1000 (API Definition
// v1.1 §6.5, §6.9), for up to ILP_QUOTE_MAX_TTL_SECONDS (answers) or ILP_TRANSFER_MAX_TTL_SECONDS (prepares): the
// hostile review of 2026-12-02 had one DFSP fill a hub's store (2003 for every DFSP) with a few hundred bulk
// quote answers of its own making. Each FSP may hold at most `max` live bulk items; a bulk beyond that is refused
// whole before anything is written (2005/503 GW_ILP_BULK_QUOTA), and so is the same FSP's next one until enough
// of its items have expired. The FSP charged is the payer (middleware.ts): the sender of a bulk prepare, the asker of
// a bulk quote, never the payee that answers, so that no FSP spends another's share by asking it for quotes.
//
// Counted in this process: items are added to the minute in which their records end, and a minute no longer
// counts once it has passed, so the count never falls below what the store holds for the FSP's bulks (a record
// deleted or consumed early stays counted until it would have ended). With the Redis store shared by R replicas of
// W workers each, one FSP can hold R × W × max; a restarted process starts from zero. docs/ilp.md says so.
import { GatewayError } from '../errors.js';

const MINUTE_MS = 60_000;

export class BulkItemQuota {
  /** Per FSP: live items by the minute (epoch ms of its end) in which their records end. */
  readonly #held = new Map<string, Map<number, number>>();

  constructor(
    readonly max: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Items `fspId`'s bulks hold now. */
  held(fspId: string): number {
    const minutes = this.#held.get(fspId);
    if (minutes === undefined) return 0;
    const t = this.now();
    let n = 0;
    for (const [end, count] of minutes) {
      if (end <= t) minutes.delete(end);
      else n += count;
    }
    if (minutes.size === 0) this.#held.delete(fspId);
    return n;
  }

  /**
   * Counts `items` records of `fspId` that end at `untilMs`, or refuses them all. Returns the undo, for a bulk then
   * refused or not written.
   * @throws GatewayError GW_ILP_BULK_QUOTA
   */
  charge(fspId: string, items: number, untilMs: number): () => void {
    const held = this.held(fspId);
    if (held + items > this.max) {
      const ends = [...(this.#held.get(fspId)?.keys() ?? [])].sort((a, b) => a - b);
      throw new GatewayError('GW_ILP_BULK_QUOTA', {
        detail: `${fspId} holds ${held} bulk items, ${items} more would pass ILP_BULK_ITEMS_MAX_PER_FSP (${this.max}); the oldest end at ${new Date(ends[0] ?? this.now()).toISOString()}`,
      });
    }
    const end = Math.ceil(untilMs / MINUTE_MS) * MINUTE_MS;
    const minutes = this.#held.get(fspId) ?? new Map<number, number>();
    this.#held.set(fspId, minutes);
    minutes.set(end, (minutes.get(end) ?? 0) + items);
    let undone = false;
    return () => {
      if (undone) return;
      undone = true;
      const m = this.#held.get(fspId);
      const left = (m?.get(end) ?? 0) - items;
      if (m === undefined) return;
      if (left > 0) m.set(end, left);
      else m.delete(end);
      if (m.size === 0) this.#held.delete(fspId);
    };
  }
}
