// The small IPC protocol between the cluster primary and its workers (WORKERS > 1): the primary owns
// the admin port and relays admin HTTP calls to workers as plain JSON messages.

export interface AdminCall {
  readonly type: 'sg:admin';
  readonly id: number;
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string;
  /** The caller's address on the primary's admin listener, for the worker's audit records. */
  readonly remoteAddress?: string;
}
export interface AdminReply {
  readonly type: 'sg:admin-reply';
  readonly id: number;
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}
export interface WorkerReady {
  readonly type: 'sg:ready';
  readonly inbound: number;
  readonly outbound: number;
  readonly upstream: string;
}

export const isAdminCall = (m: unknown): m is AdminCall => (m as AdminCall)?.type === 'sg:admin';
export const isAdminReply = (m: unknown): m is AdminReply => (m as AdminReply)?.type === 'sg:admin-reply';
export const isWorkerReady = (m: unknown): m is WorkerReady => (m as WorkerReady)?.type === 'sg:ready';

/**
 * The methods the admin API answers (src/admin/app.ts; HEAD with GET's routes). The primary answers any other
 * 405 itself: a worker builds a fetch Request from the call, and fetch refuses TRACE, TRACK and CONNECT.
 */
export const ADMIN_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE']);

/**
 * The largest admin request body the primary reads before relaying it (413 past it, connection closed). Admin
 * bodies are small JSON documents (limits, revocations); the body is read before the worker's token check.
 */
export const MAX_ADMIN_BODY_BYTES = 64 * 1024;

/**
 * Admin request bodies the primary holds at once, each counted at MAX_ADMIN_BODY_BYTES: past this, 503. Bounds
 * what clients without a token can make it buffer (64 bodies, 4 MiB) whatever the connection caps allow.
 */
export const MAX_ADMIN_BODIES_IN_FLIGHT = 64;

/**
 * The path the worker's admin app routes a request target to: parsed as the worker parses it (`http://admin` +
 * target, so `.` and `..` segments are resolved) and percent-decoded as Hono decodes it (decodeURI, the raw
 * text when that fails). The primary decides broadcast and its own answers on this, never on the raw target.
 */
export function adminPathOf(target: string): string {
  let path: string;
  try {
    path = new URL(`http://admin${target}`).pathname;
  } catch {
    return target;
  }
  try {
    return decodeURI(path);
  } catch {
    return path;
  }
}

/** Admin calls every worker must see (state that is per process); the rest go to one worker. */
export function isBroadcast(method: string, path: string): boolean {
  return path === '/ready' || (method === 'POST' && path === '/admin/reload');
}

/** Merges per-worker answers of a broadcast call: the worst status wins, bodies are listed. */
export function mergeReplies(replies: readonly AdminReply[]): { status: number; body: string } {
  const status = Math.max(...replies.map((r) => r.status));
  // A body that is not JSON is passed on as text.
  const bodies = replies.map((r) => {
    try {
      return JSON.parse(r.body) as unknown;
    } catch {
      return r.body;
    }
  });
  return { status, body: JSON.stringify({ workers: bodies }) };
}
