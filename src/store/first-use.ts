// A mark a request owes the store before it touches any state (its replay record, docs/security.md class 9),
// written together with the request's first store operation: Store.marked makes the two one round trip on a
// single Redis node, where the replay record used to cost a round trip of its own before the ILP record's.
// The request's other operations wait for that first one and run only when the mark was new. A request
// whose stages never touch the store writes the mark by itself before it is forwarded (writeMark).
import type { MarkedResult, Store, StoreMark, StoreOp, StoreOpResult } from './types.js';

/** How a mark's write went: new (`true`), already there (`false`), or the store failed (the error). */
export type MarkOutcome = boolean | Error;

/** A mark one request still owes the store; `settle` is told once how its write went. */
export class PendingMark {
  #claimed = false;
  #refusal: unknown;
  readonly mark: StoreMark;
  readonly #settle: (outcome: MarkOutcome) => void;

  /** `settle` throws the request's refusal for `false` and rethrows an error; returns for `true`. */
  constructor(mark: StoreMark, settle: (outcome: MarkOutcome) => void) {
    this.mark = mark;
    this.#settle = settle;
  }

  /** Whether its write was claimed (it is written, being written, or failed). */
  get claimed(): boolean {
    return this.#claimed;
  }

  /** Claims the write: true once, for the one caller that then writes it and settles. */
  claim(): boolean {
    if (this.#claimed) return false;
    this.#claimed = true;
    return true;
  }

  settle(outcome: MarkOutcome): void {
    try {
      this.#settle(outcome);
    } catch (e) {
      this.#refusal = e;
      throw e;
    }
  }

  /** Whether `e` is this mark's refusal (a replay, the store down): the request's verdict, not its stage's. */
  refusedWith(e: unknown): boolean {
    return this.#refusal !== undefined && e === this.#refusal;
  }
}

/** Writes a pending mark that no store operation carried (the request touched no state); once. */
export async function writeMark(store: Pick<Store, 'save'>, pending: PendingMark): Promise<void> {
  if (!pending.claim()) return;
  let fresh: boolean;
  try {
    fresh = await store.save(pending.mark.key, '1', pending.mark.ttlMs, 'nx');
  } catch (e) {
    pending.settle(e instanceof Error ? e : new Error(String(e)));
    return;
  }
  pending.settle(fresh);
}

/**
 * `store` for one request that owes `pending`: its first operation carries the mark (Store.marked); every
 * other operation waits for that one and runs only once the mark is known to be new. When the mark existed,
 * or the store failed writing it, every operation rejects with what `pending.settle` threw.
 */
export function firstUse(store: Store, pending: PendingMark): Store {
  let first: Promise<void> | undefined;
  /** What settle threw for `outcome` (the request's refusal), or undefined when it returned. */
  const refusalOf = (outcome: MarkOutcome): unknown => {
    try {
      pending.settle(outcome);
      return undefined;
    } catch (e) {
      return e;
    }
  };
  const run = async <O extends StoreOp>(op: O, plain: () => Promise<StoreOpResult<O>>): Promise<StoreOpResult<O>> => {
    if (first !== undefined || !pending.claim()) {
      await first;
      return plain();
    }
    const marked = store.marked(pending.mark, op);
    first = marked.then(
      (r) => {
        const refusal = refusalOf(r.fresh);
        if (refusal !== undefined) throw refusal;
        if (!r.fresh) throw new Error('store mark existed'); // settle(false) always throws; never reached
        // A new mark and a failed operation: the operation's own failure, below; later operations may run.
      },
      (e: unknown) => {
        const err = e instanceof Error ? e : new Error(String(e));
        throw refusalOf(err) ?? err;
      },
    );
    await first;
    const r = (await marked) as Exclude<MarkedResult<O>, { fresh: false }>;
    if ('error' in r) throw r.error;
    return r.result;
  };
  return {
    kind: store.kind,
    marked: async (mark, op) => {
      await first;
      return store.marked(mark, op);
    },
    save: (key, value, ttlMs, mode) => run({ op: 'save', key, value, ttlMs, ...(mode ? { mode } : {}) }, async () => store.save(key, value, ttlMs, mode)),
    get: (key) => run({ op: 'get', key }, () => store.get(key)),
    take: (key, tombstone, requirePrefix) =>
      run({ op: 'take', key, ...(tombstone !== undefined ? { tombstone } : {}), ...(requirePrefix !== undefined ? { requirePrefix } : {}) }, () =>
        store.take(key, tombstone, requirePrefix),
      ),
    untake: async (key, tombstone, value) => {
      await first;
      return store.untake(key, tombstone, value);
    },
    delete: async (key) => {
      await first;
      return store.delete(key);
    },
    ping: () => store.ping(),
    close: () => store.close(),
  };
}
