// `switchguard keys rotate | status` (docs/jws.md, "Signing-key rotation"; docs/operations.md runbooks): the signing
// keyring of JWS_SIGNING_KEY_PATH, in its directory or in the Kubernetes Secret the gateways mount as that
// directory. The planning is src/jws/rotate.ts; this file parses options, applies the safety floors and
// reports (stdout, and audit records to --audit-log).
import { readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { nextChangeAt, statesAt } from '../jws/keyring.js';
import {
  DEFAULT_PUBLISH_AHEAD_MS,
  DEFAULT_RETAIN_MS,
  directoryKeyStore,
  type KeyStore,
  type RotateOptions,
  readKeyring,
  rotateSigningKey,
} from '../jws/rotate.js';
import { createAuditLog } from '../logging/audit.js';
import { type OptionsConfig, parseCommand, UsageError } from './args.js';
import type { CliIo } from './io.js';
import { inClusterApi, secretKeyStore } from './kube-secret.js';

const line = (s: NodeJS.WritableStream, text: string) => void s.write(`${text}\n`);

const MINUTE = 60_000;
/** Below these a rotation is refused without --emergency: peers cache published keys for up to 5 minutes (JWKS_MAX_AGE_SECONDS). */
const MIN_LEAD_MS = 10 * MINUTE;
const MIN_RETAIN_MS = 10 * MINUTE;
/** Below these a warning is printed: peers that take keys by hand, or fetch them rarely, may not keep up. */
const SAFE_MS = 24 * 60 * MINUTE;

/** "2d", "36h", "90m", "600s" → milliseconds. */
export function parseDuration(text: string, what: string): number {
  const m = /^(\d+)(s|m|h|d)$/.exec(text.trim());
  if (!m) throw new UsageError(`${what}: expected a duration like 2d, 36h, 90m or 600s (got '${text}')`);
  return Number(m[1]) * { s: 1000, m: MINUTE, h: 60 * MINUTE, d: 24 * 60 * MINUTE }[m[2] as 's' | 'm' | 'h' | 'd'];
}

const STORE_OPTIONS = {
  key: { type: 'string' },
  'kubernetes-secret': { type: 'string' },
  namespace: { type: 'string' },
} as const satisfies OptionsConfig;

type StoreValues = { key?: string; 'kubernetes-secret'?: string; namespace?: string };

/** The keyring's store: the key's directory, or the named Secret (in-cluster credentials). */
async function openStore(v: StoreValues): Promise<{ store: KeyStore; keyFile: string; where: string; close(): Promise<void> }> {
  if (!v.key) throw new UsageError('--key is required (the JWS_SIGNING_KEY_PATH of the gateways, or its file name in the Secret)');
  const keyFile = basename(v.key);
  const secret = v['kubernetes-secret'];
  if (secret !== undefined) {
    const api = inClusterApi(process.env, v.namespace);
    const store = await secretKeyStore(api, secret);
    return { store, keyFile, where: `secret ${api.namespace}/${secret}`, close: () => store.close() };
  }
  const dir = dirname(resolve(v.key));
  return { store: directoryKeyStore(dir, keyFile), keyFile, where: dir, close: async () => {} };
}

const iso = (ms: number | undefined) => (ms === undefined ? '-' : new Date(ms).toISOString());

const ROTATE_USAGE = `usage: switchguard keys rotate --key PATH [--activate-at ISO-TIME | --publish-ahead DURATION] [--retain DURATION]
                            [--alg RS256|ES256] [--new-key PEM] [--emergency [--reason TEXT]]
                            [--kubernetes-secret NAME [--namespace NS]] [--audit-log stdout|stderr|off|PATH]
  defaults: --publish-ahead 2d, --retain 2d (at least 10m each; a warning under 1d); DURATION is Ns, Nm, Nh or Nd`;
const ROTATE_OPTIONS = {
  ...STORE_OPTIONS,
  'activate-at': { type: 'string' },
  'publish-ahead': { type: 'string' },
  retain: { type: 'string' },
  alg: { type: 'string' },
  'new-key': { type: 'string' },
  emergency: { type: 'boolean' },
  reason: { type: 'string' },
  'audit-log': { type: 'string' },
} as const satisfies OptionsConfig;

/**
 * `switchguard keys rotate`: stages the next signing key with an activation time (every gateway publishes it at
 * once and signs with it from that time), or with --emergency makes a new key current now and revokes the
 * others. A run while a next key is staged changes nothing (exit 0), so a scheduled job may retry freely.
 */
export async function keysRotate(argv: string[], io: CliIo, now: () => number = Date.now): Promise<number> {
  let v: StoreValues & { 'new-key'?: string; 'audit-log'?: string };
  let o: Omit<RotateOptions, 'keyFile'>;
  try {
    const parsed = parseCommand(argv, ROTATE_OPTIONS).values;
    v = parsed;
    o = rotateOptionsOf(parsed, now(), io);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    line(io.stderr, `${e.message}\n${ROTATE_USAGE}`);
    return 2;
  }
  let opened: Awaited<ReturnType<typeof openStore>> | undefined;
  try {
    const newKeyPem = v['new-key'] === undefined ? undefined : readFileSync(v['new-key']);
    opened = await openStore(v);
    const { store, keyFile, where } = opened;
    const r = await rotateSigningKey(store, { ...o, keyFile, ...(newKeyPem ? { newKeyPem } : {}) });
    if (r.outcome === 'unchanged') {
      line(io.stdout, `unchanged: key ${r.kid} is already staged, active from ${iso(r.activateAt)} (${where})`);
      return 0;
    }
    const added = r.ring.keys.find((k) => k.kid === r.kid);
    const audit = createAuditLog(
      { auditLog: v['audit-log'] ?? 'stdout' },
      { onWriteError: (err) => line(io.stderr, `audit record not written: ${String(err)}`) },
    );
    for (const kid of r.revoked) audit.record({ event: 'signing_key_revoked', actor: 'cli', kid, reason: o.reason ?? 'emergency rotation' });
    audit.record({ event: 'signing_key_staged', actor: 'cli', kid: r.kid, activateAt: iso(r.activateAt), ...(added ? { file: added.file } : {}) });
    await audit.close();
    if (r.outcome === 'emergency') {
      line(io.stdout, `emergency: key ${r.kid} is current now; revoked ${r.revoked.join(', ') || 'nothing'} (${where})`);
      line(io.stdout, 'every gateway signs with it as soon as it sees the files; peers fetching /.well-known/jwks.json have it within 5 minutes');
    } else {
      line(io.stdout, `staged: key ${r.kid} (${added?.alg}) published now, signing from ${iso(r.activateAt)} (${where})`);
      const previous = r.ring.keys.find((k) => k.retireAt !== undefined && k.retireAt > r.activateAt);
      if (previous) line(io.stdout, `previous key ${previous.kid} stays published until ${iso(previous.retireAt)}`);
    }
    if (r.removed.length) line(io.stdout, `removed ${r.removed.join(', ')}`);
    return 0;
  } catch (e) {
    line(io.stderr, e instanceof UsageError ? `${e.message}\n${ROTATE_USAGE}` : `keys rotate failed: ${(e as Error).message}`);
    if (e instanceof UsageError) return 2;
    return 1;
  } finally {
    await opened?.close();
  }
}

/** The rotation options from the command line, with the safety floors and warnings. @throws UsageError */
function rotateOptionsOf(
  v: { 'activate-at'?: string; 'publish-ahead'?: string; retain?: string; alg?: string; emergency?: boolean; reason?: string },
  t: number,
  io: CliIo,
): Omit<RotateOptions, 'keyFile'> {
  const emergency = v.emergency === true;
  if (v['activate-at'] !== undefined && v['publish-ahead'] !== undefined) throw new UsageError('give --activate-at or --publish-ahead, not both');
  if (emergency && (v['activate-at'] !== undefined || v['publish-ahead'] !== undefined))
    throw new UsageError('--emergency activates now: no --activate-at or --publish-ahead');
  if (v.alg !== undefined && v.alg !== 'RS256' && v.alg !== 'ES256') throw new UsageError('--alg must be RS256 or ES256');
  if (v.reason !== undefined && !emergency) throw new UsageError('--reason goes with --emergency');
  const activateAt = v['activate-at'] === undefined ? undefined : Date.parse(v['activate-at']);
  if (activateAt !== undefined && !Number.isFinite(activateAt)) throw new UsageError(`--activate-at: not an ISO 8601 time (got '${v['activate-at']}')`);
  const lead =
    activateAt !== undefined
      ? activateAt - t
      : v['publish-ahead'] !== undefined
        ? parseDuration(v['publish-ahead'], '--publish-ahead')
        : DEFAULT_PUBLISH_AHEAD_MS;
  const retainMs = v.retain !== undefined ? parseDuration(v.retain, '--retain') : DEFAULT_RETAIN_MS;
  if (!emergency && lead < MIN_LEAD_MS)
    throw new UsageError(
      'the activation must be at least 10 minutes ahead: peers cache published keys for up to 5 minutes (use --emergency for a key active now)',
    );
  if (retainMs < MIN_RETAIN_MS) throw new UsageError('--retain must be at least 10m: messages signed just before the activation are still in flight');
  if (!emergency && lead < SAFE_MS)
    line(io.stderr, 'warning: the activation is less than a day ahead; peers that fetch keys rarely or by hand may not have it in time');
  if (retainMs < SAFE_MS) line(io.stderr, 'warning: the previous key is retained for less than a day');
  return {
    now: t,
    activateAt: t + lead,
    retainMs,
    emergency,
    ...(v.reason !== undefined ? { reason: v.reason } : {}),
    ...(v.alg === 'RS256' || v.alg === 'ES256' ? { alg: v.alg } : {}),
  };
}

const STATUS_USAGE = 'usage: switchguard keys status --key PATH [--json] [--kubernetes-secret NAME [--namespace NS]]';
const STATUS_OPTIONS = { ...STORE_OPTIONS, json: { type: 'boolean' } } as const satisfies OptionsConfig;

/** `switchguard keys status`: every key of the keyring with its state now, times and file; revoked kids last. */
export async function keysStatus(argv: string[], io: CliIo, now: () => number = Date.now): Promise<number> {
  let v: ReturnType<typeof parseCommand<typeof STATUS_OPTIONS>>['values'];
  try {
    v = parseCommand(argv, STATUS_OPTIONS).values;
    if (!v.key) throw new UsageError('--key is required');
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    line(io.stderr, `${e.message}\n${STATUS_USAGE}`);
    return 2;
  }
  let opened: Awaited<ReturnType<typeof openStore>> | undefined;
  try {
    opened = await openStore(v);
    const { store, keyFile, where } = opened;
    const t = now();
    const { ring, manifest } = await readKeyring(store, keyFile, t);
    const rows = statesAt(ring, t)
      .filter((k) => k.state !== 'revoked')
      .map(({ entry, state }) => ({
        state,
        kid: entry.kid,
        alg: entry.alg,
        activateAt: manifest ? iso(entry.activateAt) : '-',
        retireAt: iso(entry.retireAt),
        file: entry.file,
      }));
    const revoked = ring.revoked.map((r) => ({ state: 'revoked', kid: r.kid, revokedAt: iso(r.revokedAt), reason: r.reason }));
    const change = nextChangeAt(ring, t);
    if (v.json) {
      line(io.stdout, JSON.stringify({ where, keys: rows, revoked, nextChange: change === undefined ? null : iso(change) }, null, 2));
      return 0;
    }
    line(io.stdout, `${where}${manifest ? '' : ' (no keyring yet: the key file is the one key)'}`);
    const table = [['STATE', 'KID', 'ALG', 'ACTIVATION', 'RETIRE', 'FILE'], ...rows.map((r) => [r.state, r.kid, r.alg, r.activateAt, r.retireAt, r.file])];
    const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
    for (const r of table)
      line(
        io.stdout,
        r
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd(),
      );
    for (const r of revoked) line(io.stdout, `revoked  ${r.kid}  at ${r.revokedAt}${r.reason ? `: ${r.reason}` : ''}`);
    if (change !== undefined) line(io.stdout, `next change: ${iso(change)}`);
    else if (!rows.some((r) => r.state === 'next')) line(io.stdout, 'no next key staged');
    return 0;
  } catch (e) {
    line(io.stderr, `keys status failed: ${(e as Error).message}`);
    return 1;
  } finally {
    await opened?.close();
  }
}
