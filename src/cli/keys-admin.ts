// `switchguard keys revoke | unrevoke | revocations`: operator commands over a running gateway's admin API
// (docs/jws.md, "Revoking a peer's key"), so that a revocation reaches every replica through the shared
// store exactly as POST /admin/keys/revocations does. The token is an operator token, read from the file of
// --token-file or from ADMIN_TOKEN in the environment: never from the command line, where `ps` shows it.
import { readFileSync } from 'node:fs';
import { type OptionsConfig, parseCommand, UsageError } from './args.js';
import type { CliIo } from './io.js';

const USAGE = `usage: switchguard keys revoke <fingerprint> --reason TEXT [--all-fsps] [--admin-url URL] [--token-file F]
       switchguard keys unrevoke <fingerprint> --reason TEXT [--admin-url URL] [--token-file F]
       switchguard keys revocations [--admin-url URL] [--token-file F]
  <fingerprint>: SPKI SHA-256 (64 hex digits, as GET /admin/keys lists) or RFC 7638 thumbprint
  --all-fsps: revoke a key that several FSPs list, for all of them (refused without it)
  --admin-url: the gateway's admin listener (default http://127.0.0.1:9464)
  token: --token-file, else ADMIN_TOKEN`;

const OPTIONS = {
  reason: { type: 'string' },
  'all-fsps': { type: 'boolean' },
  'admin-url': { type: 'string' },
  'token-file': { type: 'string' },
} as const satisfies OptionsConfig;

const line = (s: NodeJS.WritableStream, text: string) => void s.write(`${text}\n`);

/** Runs one keys admin command; exit code 0 ok, 1 refused by the gateway or unreachable, 2 usage. */
export async function keysAdminCommand(
  verb: 'revoke' | 'unrevoke' | 'revocations',
  argv: string[],
  io: CliIo,
  env: Readonly<Record<string, string | undefined>>,
): Promise<number> {
  let values: { reason?: string; 'all-fsps'?: boolean; 'admin-url'?: string; 'token-file'?: string };
  let positionals: string[];
  try {
    ({ values, positionals } = parseCommand(argv, OPTIONS, [], verb === 'revocations' ? 0 : 1));
    if (verb !== 'revocations' && (positionals.length !== 1 || values.reason === undefined)) throw new UsageError('a fingerprint and --reason are required');
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    line(io.stderr, `${e.message}\n${USAGE}`);
    return 2;
  }
  const token = values['token-file'] !== undefined ? readFileSync(values['token-file'], 'utf8').trim() : env.ADMIN_TOKEN;
  if (!token) {
    line(io.stderr, `no admin token: give --token-file or set ADMIN_TOKEN\n${USAGE}`);
    return 2;
  }
  const base = (values['admin-url'] ?? 'http://127.0.0.1:9464').replace(/\/$/, '');
  const fp = positionals[0] ?? '';
  const request =
    verb === 'revoke'
      ? { method: 'POST', path: '/admin/keys/revocations', body: { fingerprint: fp, reason: values.reason, ...(values['all-fsps'] ? { allFsps: true } : {}) } }
      : verb === 'unrevoke'
        ? { method: 'DELETE', path: `/admin/keys/revocations/${encodeURIComponent(fp)}`, body: { reason: values.reason } }
        : { method: 'GET', path: '/admin/keys/revocations', body: undefined };
  let res: Response;
  try {
    res = await fetch(base + request.path, {
      method: request.method,
      headers: { authorization: `Bearer ${token}`, ...(request.body ? { 'content-type': 'application/json' } : {}) },
      ...(request.body ? { body: JSON.stringify(request.body) } : {}),
    });
  } catch (e) {
    line(io.stderr, `switchguard: admin API at ${base} not reachable (${(e as Error).message})`);
    return 1;
  }
  const text = await res.text();
  if (!res.ok) {
    let why = text;
    try {
      why = (JSON.parse(text) as { errorInformation?: { errorDescription?: string } }).errorInformation?.errorDescription ?? text;
    } catch {
      // not an FSPIOP error body: print it as it is
    }
    line(io.stderr, `switchguard: ${request.method} ${request.path} refused: HTTP ${res.status} ${why}`);
    return 1;
  }
  const body = JSON.parse(text) as Record<string, unknown>;
  if (verb === 'revocations') {
    const list = body.revocations as { fingerprint: string; fspIds: string[]; reason: string; revokedAt: string }[];
    if (list.length === 0) line(io.stdout, 'no key is revoked');
    for (const r of list) line(io.stdout, `${r.fingerprint}  ${r.fspIds.join(',') || '-'}  ${r.revokedAt}  ${r.reason}`);
  } else if (verb === 'revoke') {
    const r = body.revocation as { fingerprint: string; fspIds: string[] };
    line(io.stdout, `${body.changed ? 'revoked' : 'already revoked'}: ${r.fingerprint} (${r.fspIds.join(',') || 'no key in force'})`);
  } else {
    line(io.stdout, `revocation lifted: ${(body.lifted as { fingerprint: string }).fingerprint}`);
  }
  return 0;
}
