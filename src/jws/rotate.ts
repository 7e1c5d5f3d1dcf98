// `switchguard keys rotate` (docs/jws.md, "Signing-key rotation"): stages the next signing key beside the current one
// with an activation time, or, in an emergency, replaces every key at once. The plan is computed from the
// keyring manifest (src/jws/keyring.ts) and applied through a KeyStore: a directory here, a Kubernetes Secret in
// src/cli/kube-secret.ts. New key files are written before the manifest that names them, and files are removed
// only after it, so a gateway reading at any moment sees a manifest whose files exist.
import { generateKeyPairSync } from 'node:crypto';
import { chmod, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { publicJwk } from './jwk.js';
import { type Keyring, type KeyringEntry, keyringPaths, PUBLISHED_STATES, parseKeyring, serializeKeyring, stagedKeyFile, statesAt } from './keyring.js';
import { parseSigningKey } from './signing-key.js';

/** The files of one signing key's directory (or Secret), by plain file name. */
export interface KeyStore {
  /** A file's bytes, or undefined when it does not exist. */
  get(name: string): Promise<Buffer | undefined>;
  /** Writes `put` in order (each file replaced atomically), then removes `remove`. */
  commit(put: readonly (readonly [string, Buffer])[], remove: readonly string[]): Promise<void>;
}

export const DAY_MS = 86_400_000;
/** Defaults that make a monthly rotation safe: peers have a day to fetch the next key, and a day to stop needing the old one. */
export const DEFAULT_PUBLISH_AHEAD_MS = 2 * DAY_MS;
export const DEFAULT_RETAIN_MS = 2 * DAY_MS;

export interface RotateOptions {
  /** JWS_SIGNING_KEY_PATH's file name (the store holds its directory). */
  readonly keyFile: string;
  readonly now: number;
  /** When the new key starts signing; default now + publishAheadMs. Ignored in an emergency (now). */
  readonly activateAt?: number;
  readonly publishAheadMs?: number;
  /** How long the key it replaces stays published after the activation. */
  readonly retainMs?: number;
  /** New key active now; every other key revoked (never published or used again) and its file removed. */
  readonly emergency?: boolean;
  /** Recorded with the revoked kids (emergency). */
  readonly reason?: string;
  /** The new private key (PEM); default a new key of `alg`. */
  readonly newKeyPem?: string | Buffer;
  /** Algorithm of a generated key; default the current key's (RS256: RSA 2048, ES256: EC P-256). */
  readonly alg?: 'RS256' | 'ES256';
}

export interface RotateResult {
  /** staged: a next key was added; emergency: a new key is current and the others revoked; unchanged: a next key was already staged. */
  readonly outcome: 'staged' | 'emergency' | 'unchanged';
  readonly ring: Keyring;
  /** The new key (staged, emergency) or the one already staged (unchanged). */
  readonly kid: string;
  readonly activateAt: number;
  readonly revoked: readonly string[];
  /** Files written, in order, and removed. */
  readonly written: readonly string[];
  readonly removed: readonly string[];
}

function generate(alg: 'RS256' | 'ES256'): Buffer {
  const pair = alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return Buffer.from(pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
}

/**
 * The keyring as it is now: the manifest, or (before the first rotation) the key file alone as the current key.
 * @throws Error when neither exists or they do not parse.
 */
export async function readKeyring(store: KeyStore, keyFile: string, now: number): Promise<{ ring: Keyring; manifest: boolean }> {
  const p = keyringPaths(keyFile);
  const text = await store.get(p.manifest);
  if (text !== undefined) return { ring: parseKeyring(text.toString('utf8')), manifest: true };
  const pem = await store.get(p.base);
  if (pem === undefined) throw new Error(`no signing key: neither ${p.manifest} nor ${p.base} exists`);
  const k = parseSigningKey(pem);
  const entry: KeyringEntry = { file: p.base, kid: publicJwk(k.key, k.alg.name).kid, alg: k.alg.name, activateAt: now, publishedAt: now };
  return { ring: { keys: [entry], revoked: [] }, manifest: false };
}

/**
 * Stages (or, in an emergency, installs) a new signing key and commits the new keyring to `store`.
 * @throws Error for an activation not in the future, a negative retention, a new key that is already known or
 * revoked, or a keyring that does not parse; nothing is written then.
 */
export async function rotateSigningKey(store: KeyStore, o: RotateOptions): Promise<RotateResult> {
  const { now } = o;
  const p = keyringPaths(o.keyFile);
  const { ring } = await readKeyring(store, o.keyFile, now);
  const states = statesAt(ring, now);
  const current = states.find((k) => k.state === 'current')?.entry;
  const staged = states.find((k) => k.state === 'next')?.entry;
  if (!o.emergency && staged !== undefined) {
    return { outcome: 'unchanged', ring, kid: staged.kid, activateAt: staged.activateAt, revoked: [], written: [], removed: [] };
  }
  const retainMs = o.retainMs ?? DEFAULT_RETAIN_MS;
  if (!(retainMs >= 0)) throw new Error('the retention must not be negative');
  const activateAt = o.emergency ? now : (o.activateAt ?? now + (o.publishAheadMs ?? DEFAULT_PUBLISH_AHEAD_MS));
  if (!o.emergency && !(activateAt > now)) throw new Error('the activation time must be in the future (use --emergency for a key active now)');

  const pem = o.newKeyPem === undefined ? generate(o.alg ?? (current?.alg === 'ES256' ? 'ES256' : 'RS256')) : Buffer.from(o.newKeyPem);
  const key = parseSigningKey(pem);
  const kid = publicJwk(key.key, key.alg.name).kid;
  if (ring.revoked.some((r) => r.kid === kid)) throw new Error(`key ${kid} was revoked; it is never used again`);
  if (ring.keys.some((k) => k.kid === kid)) throw new Error(`key ${kid} is already in the keyring`);
  const added: KeyringEntry = { file: stagedKeyFile(p.stem, activateAt, kid), kid, alg: key.alg.name, activateAt, publishedAt: now };

  let keys: KeyringEntry[];
  let revoked = ring.revoked;
  const newlyRevoked: string[] = [];
  if (o.emergency) {
    const already = new Set(ring.revoked.map((r) => r.kid));
    for (const k of ring.keys) if (!already.has(k.kid)) newlyRevoked.push(k.kid);
    revoked = [...ring.revoked, ...newlyRevoked.map((k) => ({ kid: k, revokedAt: now, reason: o.reason ?? 'emergency rotation' }))];
    keys = [added];
  } else {
    // Expired and revoked entries leave the manifest (the revoked list keeps the kids); the current key retires
    // `retainMs` after its successor activates.
    keys = states.filter((k) => PUBLISHED_STATES.has(k.state)).map(({ entry }) => (entry === current ? { ...entry, retireAt: activateAt + retainMs } : entry));
    keys.push(added);
  }
  const next: Keyring = { keys, revoked };

  const kept = new Set(keys.map((k) => k.file));
  const put: [string, Buffer][] = [[added.file, pem]];
  // JWS_SIGNING_KEY_PATH must keep naming a live key (start-up checks that it exists, and it is the fallback
  // without a manifest): when the keyring no longer lists it, it becomes a copy of the key signing now.
  if (!kept.has(p.base)) {
    const signingNow = statesAt(next, now).find((k) => k.state === 'current')!.entry;
    const bytes = signingNow === added ? pem : await store.get(signingNow.file);
    if (bytes === undefined) throw new Error(`${signingNow.file} is missing`);
    put.push([p.base, bytes]);
  }
  put.push([p.manifest, Buffer.from(serializeKeyring(next))]);
  const removed = ring.keys.map((k) => k.file).filter((f) => !kept.has(f) && f !== p.base);
  await store.commit(put, removed);
  return {
    outcome: o.emergency ? 'emergency' : 'staged',
    ring: next,
    kid,
    activateAt,
    revoked: newlyRevoked,
    written: put.map(([n]) => n),
    removed,
  };
}

/**
 * The signing key's directory as a KeyStore. Each file is written to a temporary name and renamed over the
 * old one (atomic on POSIX filesystems); new files get the mode of JWS_SIGNING_KEY_PATH (default 0600) so
 * the gateway can read what the rotation wrote.
 */
export function directoryKeyStore(dir: string, keyFile: string): KeyStore {
  const path = (name: string) => {
    if (name.includes('/') || name.includes('\\') || name.startsWith('.')) throw new Error(`not a plain file name: ${name}`);
    return join(dir, name);
  };
  return {
    async get(name) {
      return readFile(path(name)).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return undefined;
        throw e;
      });
    },
    async commit(put, remove) {
      const mode = ((await stat(join(dir, keyFile)).catch(() => undefined))?.mode ?? 0o600) & 0o777;
      for (const [name, bytes] of put) {
        const tmp = join(dir, `.${name}.${process.pid}.${Date.now()}.tmp`);
        const fh = await open(tmp, 'wx', 0o600);
        try {
          await fh.writeFile(bytes);
          await fh.sync();
        } finally {
          await fh.close();
        }
        await chmod(tmp, mode);
        await rename(tmp, path(name));
      }
      for (const name of remove)
        await unlink(path(name)).catch((e: NodeJS.ErrnoException) => {
          if (e.code !== 'ENOENT') throw e;
        });
    },
  };
}
