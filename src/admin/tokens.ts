// Scoped admin tokens (docs/operations.md, "Admin API"): ADMIN_TOKENS ("role:token,role:token"), ADMIN_TOKENS_PATH (the
// same pairs, one a line, hot-reloaded) and the old ADMIN_TOKEN (an operator token). Roles: viewer (reads)
// and operator (actions). Only SHA-256 hashes of the tokens are kept. A presented token is hashed and
// compared with EVERY stored hash by timingSafeEqual, without stopping at a match, so the time taken says
// nothing about which token (if any) matched or how long it is. The fingerprint that audit records carry
// is the first 12 hex digits of SHA-256(token): enough to tell tokens apart, useless to authenticate.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type FileWatch, watchFiles } from '../util/file-watch.js';

export const ROLES = ['viewer', 'operator'] as const;
export type Role = (typeof ROLES)[number];
const MIN_TOKEN_LENGTH = 16;

interface Entry {
  readonly role: Role;
  readonly hash: Buffer;
  readonly fingerprint: string;
}
export interface Principal {
  readonly role: Role;
  readonly fingerprint: string;
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();
export const tokenFingerprint = (token: string): string => sha256(token).toString('hex').slice(0, 12);

/**
 * Parses role:token pairs separated by commas or newlines ('#' starts a comment line).
 * @throws Error naming the line (never the token) for an unknown role, a short token or a malformed pair.
 */
function parseTokenPairs(text: string, what: string): Entry[] {
  const out: Entry[] = [];
  const items = text.split(/[\n,]/).map((s) => s.trim());
  items.forEach((item, i) => {
    if (item === '' || item.startsWith('#')) return;
    const colon = item.indexOf(':');
    const role = item.slice(0, colon);
    const token = item.slice(colon + 1);
    if (colon < 0 || !(ROLES as readonly string[]).includes(role)) throw new Error(`${what}: item ${i + 1} is not viewer:<token> or operator:<token>`);
    if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token))
      throw new Error(`${what}: item ${i + 1}: the token must be at least ${MIN_TOKEN_LENGTH} characters without spaces`);
    out.push({ role: role as Role, hash: sha256(token), fingerprint: tokenFingerprint(token) });
  });
  return out;
}

export interface AdminTokenOptions {
  /** ADMIN_TOKEN: one more operator token. */
  readonly adminToken?: string | undefined;
  /** ADMIN_TOKENS. */
  readonly adminTokens?: string | undefined;
  /** ADMIN_TOKENS_PATH, re-read on change. */
  readonly path?: string | undefined;
  readonly reloadIntervalMs?: number;
  readonly onReload?: (e: { outcome: 'ok' | 'failed'; error?: unknown }) => void;
  /** The file watch is degraded (default: a process warning). */
  readonly onWatchError?: (err: unknown) => void;
}

/**
 * The token file's text, or '' once it is gone: deleting the file revokes its tokens, as emptying it does. (Until
 * 2026-12-01 a deleted file counted as a failed read and its tokens stayed valid: review of 2026-12-01.) Any other read
 * failure, like a malformed file, keeps the tokens in force and is reported: a half-written file locks nobody out.
 */
function readFileWhileThere(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw e;
  }
}

export class AdminTokens {
  #fixed: readonly Entry[];
  #file: readonly Entry[] = [];
  #watch: FileWatch | undefined;

  /** @throws Error when ADMIN_TOKENS or the file is malformed (start-up stops). */
  constructor(private readonly o: AdminTokenOptions) {
    const fixed = o.adminTokens ? parseTokenPairs(o.adminTokens, 'ADMIN_TOKENS') : [];
    if (o.adminToken !== undefined) fixed.push({ role: 'operator', hash: sha256(o.adminToken), fingerprint: tokenFingerprint(o.adminToken) });
    this.#fixed = fixed;
    if (o.path) {
      const path = o.path;
      this.#file = parseTokenPairs(readFileSync(path, 'utf8'), 'ADMIN_TOKENS_PATH');
      this.#watch = watchFiles(
        [path],
        () => {
          try {
            this.#file = parseTokenPairs(readFileWhileThere(path), 'ADMIN_TOKENS_PATH');
            o.onReload?.({ outcome: 'ok' });
          } catch (error) {
            o.onReload?.({ outcome: 'failed', error });
          }
        },
        { intervalMs: o.reloadIntervalMs ?? 5000, ...(o.onWatchError ? { onError: o.onWatchError } : {}) },
      );
    }
  }

  /** True when any token source is configured (the admin API is on). */
  get enabled(): boolean {
    return this.#fixed.length > 0 || this.o.path !== undefined;
  }

  /** The role and fingerprint of a presented token, or undefined. Same work for every input. */
  check(token: string): Principal | undefined {
    const presented = sha256(token);
    let hit: Entry | undefined;
    for (const e of [...this.#fixed, ...this.#file]) {
      const same = timingSafeEqual(presented, e.hash);
      // Prefer operator when one token is listed twice; never short-circuit the loop.
      if (same && (hit === undefined || e.role === 'operator')) hit = e;
    }
    return hit === undefined ? undefined : { role: hit.role, fingerprint: hit.fingerprint };
  }

  /** The principal of an `Authorization: Bearer <token>` header value. */
  authenticate(authorization: string | undefined): Principal | undefined {
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization ?? '');
    const p = this.check(m?.[1] ?? ''); // hash something even when the header is absent
    return m === null ? undefined : p;
  }

  close(): void {
    this.#watch?.close();
  }
}

/** Role needed by an admin method: reads (GET, HEAD) need viewer, everything else is an operator action. */
export const requiredRole = (method: string): Role => (method === 'GET' || method === 'HEAD' ? 'viewer' : 'operator');
export const allows = (have: Role, need: Role): boolean => have === 'operator' || need === 'viewer';
