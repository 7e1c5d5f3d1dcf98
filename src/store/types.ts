// The narrow store port shared by ILP (conditions, quotes), JWS replay protection and the quarantine
// list. Two adapters implement it: memory.ts (embedded default, one process) and redis.ts (ioredis,
// single node or cluster). Keys passed in are logical; adapters add REDIS_KEY_PREFIX.
// Every failure to reach the backing store rejects with GatewayError('GW_STORE_UNAVAILABLE') promptly
// (no unbounded queueing), so callers fail closed with 2003/503. A full memory store refuses a write with
// GatewayError('GW_STORE_FULL') (also 2003/503): no adapter ever drops a live record to make room.

/** Logical key prefixes of security state (quarantine list, key revocations, limit overrides, their locks): never competes with request state. */
const SECURITY_KEY_PREFIXES: readonly string[] = ['quarantine:', 'revocations:', 'limits:'];
export const isSecurityKey = (key: string): boolean => SECURITY_KEY_PREFIXES.some((p) => key.startsWith(p));

/** A key a message writes once, before its first state access: its replay record (src/jws/freshness.ts). */
export interface StoreMark {
  readonly key: string;
  readonly ttlMs: number;
}

/** One operation of the port, as data: what Store.marked runs once its mark is written. */
export type StoreOp =
  | { readonly op: 'save'; readonly key: string; readonly value: string; readonly ttlMs: number; readonly mode?: 'nx' }
  | { readonly op: 'get'; readonly key: string }
  | { readonly op: 'take'; readonly key: string; readonly tombstone?: string; readonly requirePrefix?: string };

/** What an operation resolves to: whether a save saved; the value a get read or a take took. */
export type StoreOpResult<O extends StoreOp> = O extends { op: 'save' } ? boolean : string | undefined;

/**
 * Store.marked's answer: the operation's result; `fresh: false` when the mark existed and nothing ran; or, when
 * the mark was written and the operation then failed (a cluster's second round trip, a full memory store, a
 * take replicas did not confirm), the operation's own error. A call that rejects may or may not have written it.
 */
export type MarkedResult<O extends StoreOp> =
  | { readonly fresh: false }
  | { readonly fresh: true; readonly result: StoreOpResult<O> }
  | { readonly fresh: true; readonly error: unknown };

export interface Store {
  readonly kind: 'memory' | 'redis';
  /**
   * Writes `mark` when it is absent (NX, `mark.ttlMs`) and then, only then, runs `op`; when the mark
   * existed nothing runs and it resolves `{ fresh: false }`. On a single Redis node (and in memory) the two
   * are one atomic step and one round trip; a cluster keeps them in other slots, so it makes two (mark first).
   */
  marked<O extends StoreOp>(mark: StoreMark, op: O): Promise<MarkedResult<O>>;
  /** Saves `value` under `key` for `ttlMs`. With mode 'nx' only if the key is absent; resolves whether it was saved. */
  save(key: string, value: string, ttlMs: number, mode?: 'nx'): Promise<boolean>;
  /**
   * Atomically reads and deletes `key` (single use). One round trip. With `tombstone`, the value is
   * replaced by `tombstone` (keeping the key's remaining TTL) instead of deleted, so a second take can tell
   * "already used" from "unknown"; an absent key stays absent. With `requirePrefix`, the value is
   * consumed only when it starts with that prefix (same single atomic step); the value is returned either
   * way, so the caller can tell "not yours, untouched" from "taken".
   */
  take(key: string, tombstone?: string, requirePrefix?: string): Promise<string | undefined>;
  /**
   * Gives back what a take with `tombstone` consumed and the caller did not use (its message was refused, or
   * certainly never reached the upstream): `value` is put back only while the key still holds `tombstone`,
   * with the remaining TTL; an absent or changed key is left alone. Resolves whether it was put back. Nobody
   * else can have replaced the tombstone (a take never consumes it), so the caller that took it alone gives back.
   */
  untake(key: string, tombstone: string, value: string): Promise<boolean>;
  get(key: string): Promise<string | undefined>;
  delete(key: string): Promise<void>;
  /** Health probe for /ready: true when the backing store answers. Never throws. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
