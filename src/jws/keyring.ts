// The signing keyring (docs/jws.md, "Signing-key rotation"): a small JSON manifest beside JWS_SIGNING_KEY_PATH that
// lists this side's signing keys with their activation and retire times, and the kids revoked for good. The
// times live in the manifest, not in any process, so every replica that reads the same files signs with the
// same key at the same moment. This module is pure: the format, its validation, and each key's state at a time.
//
//   <dir>/<stem>.keyring.json                 the manifest (written last, atomically, by `switchguard keys rotate`)
//   <dir>/<stem>.<activation>.<kid12>.key     one private key per rotation (PKCS#8 PEM)
//
// <stem> is JWS_SIGNING_KEY_PATH's file name without its extension; <activation> is the basic ISO 8601 form
// (20261201T030000Z). Every name is a valid Kubernetes Secret key ([-._a-zA-Z0-9]+), so the whole keyring can
// live in one Secret mounted as a directory. Without a manifest the file at JWS_SIGNING_KEY_PATH is the one key.
import { basename, dirname, extname } from 'node:path';
import { ALGORITHM_NAMES, type AlgName } from './algorithms.js';

const KEYRING_VERSION = 1;

export interface KeyringEntry {
  /** File name in the signing key's directory (no path separators). */
  readonly file: string;
  /** RFC 7638 thumbprint of the public key (src/jws/jwk.ts); checked against the file when it is loaded. */
  readonly kid: string;
  readonly alg: AlgName;
  /** Epoch ms from which this key signs (if it is the latest activated key). */
  readonly activateAt: number;
  /** Epoch ms after which this key is neither used nor published; set when a successor is staged. */
  readonly retireAt?: number;
  /** Epoch ms when the key was added to the keyring (and so published). */
  readonly publishedAt: number;
}

export interface RevokedKey {
  readonly kid: string;
  readonly revokedAt: number;
  readonly reason: string;
}

export interface Keyring {
  readonly keys: readonly KeyringEntry[];
  /** Kids never to be used or published again, whatever file holds them. */
  readonly revoked: readonly RevokedKey[];
}

export type KeyState = 'next' | 'current' | 'previous' | 'expired' | 'revoked';

export interface KeyAt {
  readonly entry: KeyringEntry;
  readonly state: KeyState;
}

/** Where the manifest and the staged keys of a signing key path live. */
export function keyringPaths(keyPath: string): { dir: string; base: string; stem: string; manifest: string } {
  const base = basename(keyPath);
  const ext = extname(base);
  const stem = ext.length > 0 && ext.length < base.length ? base.slice(0, -ext.length) : base;
  return { dir: dirname(keyPath), base, stem, manifest: `${stem}.keyring.json` };
}

/** 2026-12-01T03:00:00.000Z → 20261201T030000Z (ISO 8601 basic format, valid in a Secret key name). */
export function basicIso(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

/** The file name of a key staged by a rotation. Kids are base64url, so the name stays in [-._a-zA-Z0-9]. */
export const stagedKeyFile = (stem: string, activateAt: number, kid: string): string => `${stem}.${basicIso(activateAt)}.${kid.slice(0, 12)}.key`;

const FILE_RE = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,200}$/;
const KID_RE = /^[A-Za-z0-9_-]{43}$/;

function time(v: unknown, what: string): number {
  const t = typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(v) ? Date.parse(v) : Number.NaN;
  if (!Number.isFinite(t)) throw new Error(`keyring: ${what} is not an ISO 8601 time`);
  return t;
}

/**
 * Parses and checks a manifest: known version, at least one key, plain file names, RFC 7638 kids, known
 * algorithms, valid times, no kid or file twice, retire after activation.
 * @throws Error starting "keyring:" naming the first problem.
 */
export function parseKeyring(text: string): Keyring {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error('keyring: not JSON');
  }
  const o = raw as { version?: unknown; keys?: unknown; revoked?: unknown };
  if (!o || typeof o !== 'object' || o.version !== KEYRING_VERSION) throw new Error(`keyring: version must be ${KEYRING_VERSION}`);
  if (!Array.isArray(o.keys) || o.keys.length === 0) throw new Error('keyring: keys must be a non-empty array');
  const kids = new Set<string>();
  const files = new Set<string>();
  const keys = o.keys.map((k: Record<string, unknown>, i): KeyringEntry => {
    const at = `keys[${i}]`;
    if (!k || typeof k !== 'object') throw new Error(`keyring: ${at} is not an object`);
    if (typeof k.file !== 'string' || !FILE_RE.test(k.file)) throw new Error(`keyring: ${at}.file must be a plain file name`);
    if (typeof k.kid !== 'string' || !KID_RE.test(k.kid)) throw new Error(`keyring: ${at}.kid must be an RFC 7638 SHA-256 thumbprint`);
    if (typeof k.alg !== 'string' || !(ALGORITHM_NAMES as readonly string[]).includes(k.alg)) throw new Error(`keyring: ${at}.alg is not a known algorithm`);
    if (kids.has(k.kid) || files.has(k.file)) throw new Error(`keyring: ${at} repeats a kid or a file`);
    kids.add(k.kid);
    files.add(k.file);
    const activateAt = time(k.activateAt, `${at}.activateAt`);
    const retireAt = k.retireAt === undefined || k.retireAt === null ? undefined : time(k.retireAt, `${at}.retireAt`);
    if (retireAt !== undefined && retireAt <= activateAt) throw new Error(`keyring: ${at}.retireAt must be after its activateAt`);
    const publishedAt = time(k.publishedAt, `${at}.publishedAt`);
    return { file: k.file, kid: k.kid, alg: k.alg as AlgName, activateAt, publishedAt, ...(retireAt === undefined ? {} : { retireAt }) };
  });
  const revokedRaw = o.revoked === undefined ? [] : o.revoked;
  if (!Array.isArray(revokedRaw)) throw new Error('keyring: revoked must be an array');
  const revoked = revokedRaw.map((r: Record<string, unknown>, i): RevokedKey => {
    if (!r || typeof r !== 'object' || typeof r.kid !== 'string' || !KID_RE.test(r.kid)) throw new Error(`keyring: revoked[${i}].kid must be a thumbprint`);
    return { kid: r.kid, revokedAt: time(r.revokedAt, `revoked[${i}].revokedAt`), reason: typeof r.reason === 'string' ? r.reason.slice(0, 200) : '' };
  });
  return { keys, revoked };
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The manifest text (stable member order, one key per line block), as `switchguard keys rotate` writes it. */
export function serializeKeyring(ring: Keyring): string {
  const doc = {
    version: KEYRING_VERSION,
    keys: ring.keys.map((k) => ({
      file: k.file,
      kid: k.kid,
      alg: k.alg,
      activateAt: iso(k.activateAt),
      ...(k.retireAt === undefined ? {} : { retireAt: iso(k.retireAt) }),
      publishedAt: iso(k.publishedAt),
    })),
    revoked: ring.revoked.map((r) => ({ kid: r.kid, revokedAt: iso(r.revokedAt), reason: r.reason })),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/**
 * Every key's state at `now`. The current key is the latest activated key that is not revoked (when none is
 * activated yet, the earliest one: something must sign); later keys are next; earlier ones are previous until
 * their retire time, then expired. Revoked kids are revoked whatever their times say.
 */
export function statesAt(ring: Keyring, now: number): KeyAt[] {
  const revoked = new Set(ring.revoked.map((r) => r.kid));
  const live = ring.keys.filter((k) => !revoked.has(k.kid));
  let current: KeyringEntry | undefined;
  for (const k of live) {
    if (k.activateAt > now) continue;
    if (current === undefined || k.activateAt > current.activateAt || (k.activateAt === current.activateAt && k.publishedAt > current.publishedAt)) current = k;
  }
  if (current === undefined) for (const k of live) if (current === undefined || k.activateAt < current.activateAt) current = k;
  return ring.keys.map((entry): KeyAt => {
    if (revoked.has(entry.kid)) return { entry, state: 'revoked' };
    if (entry === current) return { entry, state: 'current' };
    if (entry.activateAt > now) return { entry, state: 'next' };
    return { entry, state: entry.retireAt !== undefined && entry.retireAt <= now ? 'expired' : 'previous' };
  });
}

/** The next time after `now` at which some key's state changes (an activation or a retirement), or undefined. */
export function nextChangeAt(ring: Keyring, now: number): number | undefined {
  const revoked = new Set(ring.revoked.map((r) => r.kid));
  let next: number | undefined;
  for (const k of ring.keys) {
    if (revoked.has(k.kid)) continue;
    for (const t of [k.activateAt, k.retireAt]) if (t !== undefined && t > now && (next === undefined || t < next)) next = t;
  }
  return next;
}

/** States in which a key is published in the JWK Set: the one that signs, the one about to, and the retained ones. */
export const PUBLISHED_STATES: ReadonlySet<KeyState> = new Set(['current', 'next', 'previous']);
