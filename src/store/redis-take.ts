// The Redis take with a tombstone, and its undo when the reply is lost.
//
// A take is one Lua script on the record's key (atomic on a node and in a cluster). When a reply never comes
// (a master killed after running the script, a connection reset, a command timeout), the gateway has
// answered 2003 and forwarded nothing, yet the record may be spent: the payee's resend would be refused 3106
// for good (docs/ilp.md, "Store"). So every take that consumes also writes an undo note beside the record,
// `<key>~undo` in the key's own slot, holding a token of this call and the value it replaced; the note lives
// UNDO_WINDOW_MS. A take whose call failed after it may have been sent is undone in the background: the undo
// restores the value only while the record still holds the tombstone and the note still holds this call's
// token, so it never revives a record another replica consumed (and forwarded) in the meantime. An undo first
// leaves a cancel mark of its call (`<note>:<token>`, same slot), and a take that meets its own cancel mark
// does nothing: a take that reaches Redis only after its undo (a late write on a broken connection, a slot that
// moved) can no longer spend the record. The undo is retried with back-off until Redis answers or the window
// ends; after that the record stays spent (fail closed). A give-back (Store.untake) that fails is retried the
// same way. test/integration/store/redis-take.test.ts; test/integration/replicas/survive.test.ts (3b).
import { randomUUID } from 'node:crypto';

/** How long an undo note lives, and so how long an undo is retried. */
export const UNDO_WINDOW_MS = 60_000;
/** Most undos pending at once (each a timer); beyond, a failed take stays spent and is counted as such. */
const UNDO_PENDING_MAX = 10_000;

// KEYS[1] record, KEYS[2] undo note, KEYS[3] this call's cancel mark; ARGV[1] tombstone, ARGV[2] required prefix
// ('' = any), ARGV[3] token, ARGV[4] note TTL ms ('' token: no note, KEYS[2] and KEYS[3] unused). Returns the old
// value, or nil when the key is absent (or when this call's undo already ran: its cancel mark). A value without
// the prefix is returned untouched; a consumed one is replaced by the tombstone (remaining TTL kept) and noted.
export const TAKE_SCRIPT = `if ARGV[3] ~= '' and redis.call('EXISTS', KEYS[3]) == 1 then return false end
local v = redis.call('GET', KEYS[1])
if not v then return false end
if string.sub(v, 1, string.len(ARGV[2])) ~= ARGV[2] then return v end
redis.call('SET', KEYS[1], ARGV[1], 'XX', 'KEEPTTL')
if ARGV[3] ~= '' then redis.call('SET', KEYS[2], ARGV[3] .. '\\n' .. v, 'PX', ARGV[4]) end
return v`;

// KEYS[1] record, KEYS[2] undo note, KEYS[3] the take's cancel mark; ARGV[1] tombstone, ARGV[2] token, ARGV[3] TTL
// ms. First marks the take cancelled (should it reach Redis after this, it does nothing); then restores the
// value when the note holds this token and the record the tombstone. 1: restored; 0: nothing to undo.
export const UNDO_SCRIPT = `redis.call('SET', KEYS[3], '1', 'PX', ARGV[3])
local u = redis.call('GET', KEYS[2])
local p = ARGV[2] .. '\\n'
if not u or string.sub(u, 1, string.len(p)) ~= p then return 0 end
redis.call('DEL', KEYS[2])
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], string.sub(u, string.len(p) + 1), 'XX', 'KEEPTTL')
return 1`;

// KEYS[1] record, KEYS[2] undo note (KEYS[1] again when the key has none); ARGV[1] tombstone, ARGV[2] the value to
// put back. The caller's own give-back of a take it got the answer of (Store.untake): 1 when the record held the
// tombstone (unique to that take, src/ilp/records.ts) and holds the value again.
export const UNTAKE_SCRIPT = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'XX', 'KEEPTTL')
if KEYS[2] ~= KEYS[1] then redis.call('DEL', KEYS[2]) end
return 1`;

/**
 * The undo note's key, in the record's cluster slot (https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/,
 * "Hash tags"): a key with a non-empty `{tag}` keeps it when suffixed; a key without '}' becomes the tag of
 * the note, whose slot is then the key's own. Any other key (a '}' but no usable tag) gets no note: undefined.
 */
export function undoKeyOf(key: string): string | undefined {
  const open = key.indexOf('{');
  const close = open < 0 ? -1 : key.indexOf('}', open + 1);
  if (close > open + 1) return `${key}~undo`;
  return key.includes('}') ? undefined : `{${key}}~undo`;
}

export const newTakeToken = (): string => randomUUID();
/** The cancel mark of one take, beside its note (the note's hash tag keeps it in the same slot). */
export const cancelKeyOf = (note: string, token: string): string => `${note}:${token}`;

/**
 * ioredis' own refusals of a command it never wrote (no connection, no offline queue): nothing to undo. Any
 * other failure (timeout, connection closed with the command in flight, a cluster error) may follow a write.
 */
export const neverSent = (e: unknown): boolean => e instanceof Error && /enableOfflineQueue/.test(e.message);

export interface UndoScheduler {
  /** Runs `attempt` in the background until it resolves (Redis answered) or the window ends; false when too many are pending. */
  schedule(attempt: () => Promise<unknown>): boolean;
  /** Stops every pending undo (the process is closing). */
  close(): void;
}

/**
 * Retries each scheduled attempt (resolves when Redis answered, whatever the answer; rejects when it did not)
 * with back-off within UNDO_WINDOW_MS; `abandoned` is told of every one given up (the record may stay spent).
 */
export function undoScheduler(abandoned: () => void, now: () => number = Date.now): UndoScheduler {
  const timers = new Set<NodeJS.Timeout>();
  let pending = 0;
  let closed = false;
  const later = (fn: () => void, ms: number) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    t.unref();
    timers.add(t);
  };
  return {
    schedule(undo) {
      if (closed || pending >= UNDO_PENDING_MAX) {
        abandoned();
        return false;
      }
      pending++;
      const until = now() + UNDO_WINDOW_MS;
      const attempt = (n: number) => {
        if (closed) return;
        undo().then(
          () => pending--,
          () => {
            const wait = Math.min(50 * 2 ** Math.min(n, 5), 1000);
            if (now() + wait < until) return later(() => attempt(n + 1), wait);
            pending--;
            abandoned();
          },
        );
      };
      // At once: on a live connection the undo follows the take it undoes, so it runs after it.
      attempt(0);
      return true;
    },
    close() {
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}
