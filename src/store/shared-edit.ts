// What the shared security values (src/store/security-state.ts, src/admin/quarantine.ts) need to be edited by
// several replicas at once: a short edit lock in the store, and a rule for generations stamped ahead of this
// replica's clock. One place for both (hostile review of 2026-12-01, which found them diverged).
import { randomUUID } from 'node:crypto';
import { GatewayError } from '../errors.js';
import type { Store } from './types.js';

/**
 * Generations are clock stamps (max(now ms, last + 1)). An unsealed value stamped further ahead of this replica's
 * clock than this cannot be judged: forged (anyone with write access to the store), or written by a replica whose
 * clock is ahead, or this replica's clock is behind.
 */
export const MAX_AHEAD_MS = 10 * 60 * 1000;

/**
 * Whether a stored generation is too far ahead of `now` to be judged. A sealed value (STATE_HMAC_KEY) opened by its
 * MAC was written by a replica, whatever its stamp: never ahead, only skewed.
 */
export const isAhead = (generation: number, now: number, sealed: boolean): boolean => !sealed && generation > now + MAX_AHEAD_MS;

/**
 * Runs `fn` holding the edit lock `key` (SET NX with `ttlMs`), waiting for it up to `ttlMs`. The lock is released
 * only while it is still this call's (an atomic take that deletes on its token only): a call that outlived the TTL
 * must not free the lock of the call after it, which let a third editor in beside the second and lose an edit
 * (quarantine list, review of 2026-12-01). A call that did outlive it may have written without the lock: it is
 * answered 503 so that the operator checks the value and retries (edits are idempotent), never told it succeeded; its
 * error carries `context.outlivedLock` (what `fn` wrote is written, and callers still audit it).
 * @throws GatewayError GW_STORE_UNAVAILABLE when the lock stays held, or the call outlived its lock.
 */
export async function withStoreLock<T>(store: Store, key: string, ttlMs: number, what: string, fn: () => Promise<T>): Promise<T> {
  const token = randomUUID(); // fixed length: a prefix match is equality
  const deadline = Date.now() + ttlMs;
  // The lock's TTL starts when the store runs the SET, which is after it was sent: timed from the send, an edit whose
  // last reply came back within the TTL ran entirely under the lock, however late the SET's own reply was (a reply, or
  // the event loop, held up: timed from the reply, such an edit was answered 200 though written without the lock).
  let sent = performance.now();
  while (!(await store.save(key, token, ttlMs, 'nx'))) {
    if (Date.now() > deadline) throw new GatewayError('GW_STORE_UNAVAILABLE', { detail: `${what} is locked` });
    await new Promise((r) => setTimeout(r, 25));
    sent = performance.now();
  }
  let result: T;
  try {
    result = await fn();
  } finally {
    await store.take(key, undefined, token).catch(() => {});
  }
  if (performance.now() - sent >= ttlMs) {
    throw new GatewayError('GW_STORE_UNAVAILABLE', {
      detail: `the edit of the ${what} outlived its lock: it may be in force; check it and retry`,
      context: { outlivedLock: true },
    });
  }
  return result;
}
