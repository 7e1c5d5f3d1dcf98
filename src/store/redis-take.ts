// The Redis take with a tombstone, and its undo when the reply is lost.
//
// A take is one Lua script on the record's key (atomic on a node and in a cluster). When a reply never comes
// (a master killed after running the script, a connection reset, a command timeout), the gateway has
// answered 2003 and forwarded nothing, yet the record may be spent: the payee's resend would be refused 3106
// for good (docs/ilp.md, "Store"). So every take that consumes also writes an undo note beside the record,
// `<key>~undo` in the key's own slot, holding a token of this call and the value it replaced; the note lives
// UNDO_WINDOW_MS. A take whose call failed is undone in the background: the undo restores the value only
// while the record still holds the tombstone and the note still holds this call's token, so it never revives
// a record another replica consumed (and forwarded) in the meantime. The undo is retried with back-off until
// Redis answers or the window ends; after that the record stays spent (fail closed).
// test/integration/store/redis-take.test.ts; test/integration/replicas/survive.test.ts (3b).
import { randomUUID } from 'node:crypto';

/** How long an undo note lives, and so how long an undo is retried. */
export const UNDO_WINDOW_MS = 60_000;
/** Most undos pending at once (each a timer); beyond, a failed take stays spent and is counted as such. */
const UNDO_PENDING_MAX = 10_000;

// KEYS[1] record, KEYS[2] undo note; ARGV[1] tombstone, ARGV[2] required prefix ('' = any), ARGV[3] token,
// ARGV[4] note TTL ms ('' token: no note). Returns the old value, or nil when the key is absent. A value without the prefix is
// returned untouched; a consumed one is replaced by the tombstone (remaining TTL kept) and noted.
export const TAKE_SCRIPT = `local v = redis.call('GET', KEYS[1])
if not v then return false end
if string.sub(v, 1, string.len(ARGV[2])) ~= ARGV[2] then return v end
redis.call('SET', KEYS[1], ARGV[1], 'XX', 'KEEPTTL')
if ARGV[3] ~= '' then redis.call('SET', KEYS[2], ARGV[3] .. '\\n' .. v, 'PX', ARGV[4]) end
return v`;

// KEYS[1] record, KEYS[2] undo note; ARGV[1] tombstone, ARGV[2] token. 1: restored; 0: nothing to undo (the
// take never ran, or the note belongs to another call, or the record no longer holds the tombstone).
export const UNDO_SCRIPT = `local u = redis.call('GET', KEYS[2])
local p = ARGV[2] .. '\\n'
if not u or string.sub(u, 1, string.len(p)) ~= p then return 0 end
redis.call('DEL', KEYS[2])
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], string.sub(u, string.len(p) + 1), 'XX', 'KEEPTTL')
return 1`;

// KEYS[1] record, KEYS[2] undo note; ARGV[1] tombstone, ARGV[2] the value to put back. The caller's own give-back
// of a take it got the answer of (Store.untake): 1 when the record held the tombstone and holds the value again.
export const UNTAKE_SCRIPT = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'XX', 'KEEPTTL')
redis.call('DEL', KEYS[2])
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

export interface UndoScheduler {
  /** Undoes the take of `key` by `token` in the background; false when too many are pending (not scheduled). */
  schedule(key: string, tombstone: string, token: string): boolean;
  /** Stops every pending undo (the process is closing). */
  close(): void;
}

/**
 * Retries `undo` (resolves when Redis answered, whatever the answer; rejects when it did not) with back-off
 * within the window; `abandoned` is told of every undo given up (the record may stay spent).
 */
export function undoScheduler(
  undo: (key: string, tombstone: string, token: string) => Promise<unknown>,
  abandoned: () => void,
  now: () => number = Date.now,
): UndoScheduler {
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
    schedule(key, tombstone, token) {
      if (closed || pending >= UNDO_PENDING_MAX) {
        abandoned();
        return false;
      }
      pending++;
      const until = now() + UNDO_WINDOW_MS;
      const attempt = (n: number) => {
        if (closed) return;
        undo(key, tombstone, token).then(
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
