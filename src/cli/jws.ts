// `switchguard keys generate | sign | verify`: operator tools over the JWS modules (docs/jws.md §CLI).
// A request description is JSON: {"method", "url" or "path", "headers", "body"}; `body` is the exact
// wire text when it is a string, otherwise it is serialised with JSON.stringify.
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isGatewayError } from '../errors.js';
import { isValidFspId } from '../fspiop/headers.js';
import { KeyDirectory } from '../jws/key-directory.js';
import { parseKeyFileName } from '../jws/key-file.js';
import type { PayloadForm } from '../jws/payload-forms.js';
import { signRequest } from '../jws/sign.js';
import { parseSigningKey } from '../jws/signing-key.js';
import { headerGetter, verifyRequest } from '../jws/verify.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { type OptionsConfig, type Parsed, parseCommand, UsageError } from './args.js';
import type { CliIo } from './io.js';

const line = (s: NodeJS.WritableStream, text: string) => void s.write(`${text}\n`);

/** Parses `argv`, or prints `usage` (and why) and returns undefined. */
function parsed<T extends OptionsConfig>(
  argv: string[],
  options: T,
  io: CliIo,
  usage: string,
  lists: readonly (keyof T & string)[] = [],
): Parsed<T> | undefined {
  try {
    return parseCommand(argv, options, lists);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    line(io.stderr, `${e.message}\n${usage}`);
    return undefined;
  }
}

async function readInput(file: string | undefined, io: CliIo): Promise<string> {
  if (file && file !== '-') return readFileSync(file, 'utf8');
  const chunks: Buffer[] = [];
  for await (const c of io.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

interface RequestDescription {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
}

function parseDescription(text: string): RequestDescription {
  const d = JSON.parse(text) as Partial<RequestDescription> & { path?: string };
  const url = d.url ?? d.path;
  if (typeof d.method !== 'string' || typeof url !== 'string') throw new Error('request description needs "method" and "url" (or "path")');
  return { method: d.method, url, headers: d.headers ?? {}, body: d.body };
}

/**
 * `switchguard keys generate --dfsp ID… [--dir DIR] [--private-dir DIR] [--alg RS256|ES256] [--label L] [--force]`:
 * one key pair per FSP; public SPKI `<DIR>/<id>[.<label>].pem`, private PKCS#8 `<PRIVATE_DIR>/<id>[.<label>].key` (mode 0600).
 */
const KEYS_GENERATE_USAGE = 'usage: switchguard keys generate --dfsp ID… [--dir DIR] [--private-dir DIR] [--alg RS256|ES256] [--label L] [--force]';
const KEYS_GENERATE_OPTIONS = {
  dfsp: { type: 'string', multiple: true },
  alg: { type: 'string' },
  label: { type: 'string' },
  dir: { type: 'string' },
  'private-dir': { type: 'string' },
  force: { type: 'boolean' },
} as const;

export async function keysGenerate(argv: string[], io: CliIo): Promise<number> {
  const args = parsed(argv, KEYS_GENERATE_OPTIONS, io, KEYS_GENERATE_USAGE, ['dfsp']);
  if (args === undefined) return 2;
  const { values: v } = args;
  const ids = v.dfsp ?? [];
  const alg = v.alg ?? 'RS256';
  const label = v.label;
  const dir = resolve(v.dir ?? 'keys/jws');
  const privateDir = resolve(v['private-dir'] ?? 'keys/jws-private');
  if (ids.length === 0 || (alg !== 'RS256' && alg !== 'ES256')) {
    line(io.stderr, KEYS_GENERATE_USAGE);
    return 2;
  }
  for (const id of ids) {
    const stem = label ? `${id}.${label}` : id;
    const parsed = parseKeyFileName(`${stem}.pem`);
    if (!parsed || parsed.fspId !== id || parsed.label !== (label ?? '') || !isValidFspId(id) || label?.includes('/')) {
      line(io.stderr, `invalid FSP id or label: ${stem} (no dots in the id, no dots in the label)`);
      return 2;
    }
    const pub = join(dir, `${stem}.pem`);
    const priv = join(privateDir, `${stem}.key`);
    if (!v.force && (existsSync(pub) || existsSync(priv))) {
      line(io.stderr, `refusing to overwrite ${existsSync(pub) ? pub : priv} (use --force)`);
      return 1;
    }
    const pair = alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('rsa', { modulusLength: 2048 });
    mkdirSync(dir, { recursive: true });
    mkdirSync(privateDir, { recursive: true, mode: 0o700 });
    // A new file (mode 0600) renamed over the old one: --force over a key file left readable by others does not keep its mode.
    writeFileAtomic(priv, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
    // The public key too: a gateway reloading its key directory (src/jws/key-directory.ts) never reads a torn PEM.
    // Mode 0644 (the umask applies): the gateway may run as another user than the one generating keys.
    writeFileAtomic(pub, pair.publicKey.export({ type: 'spki', format: 'pem' }) as string, 0o644);
    line(io.stdout, `${id}: ${alg} public ${pub}, private ${priv}`);
  }
  return 0;
}

/**
 * `switchguard sign --key PEM --source ID [--destination ID] [--file F]`: reads a request description
 * and prints it signed (same JSON format, canonical body text, all headers to send).
 */
const SIGN_USAGE = 'usage: switchguard sign --key PEM --source ID [--destination ID] [--file F]   (request JSON on stdin or --file)';
const SIGN_OPTIONS = { key: { type: 'string' }, source: { type: 'string' }, destination: { type: 'string' }, file: { type: 'string' } } as const;

export async function signCommand(argv: string[], io: CliIo): Promise<number> {
  const args = parsed(argv, SIGN_OPTIONS, io, SIGN_USAGE);
  if (args === undefined) return 2;
  const { key: keyPath, source, destination, file } = args.values;
  if (!keyPath || !source) {
    line(io.stderr, SIGN_USAGE);
    return 2;
  }
  try {
    const req = parseDescription(await readInput(file, io));
    const headers: Record<string, string> = { ...req.headers, 'fspiop-source': source };
    if (destination) headers['fspiop-destination'] = destination;
    const json = typeof req.body === 'string' ? JSON.parse(req.body) : req.body;
    const out = signRequest({ method: req.method, url: req.url, headers, json }, parseSigningKey(readFileSync(keyPath)));
    const sent = { method: req.method.toUpperCase(), url: req.url, headers: { ...headers, ...out.headers }, body: out.body.toString('utf8') };
    line(io.stdout, JSON.stringify(sent, null, 2));
    return 0;
  } catch (e) {
    line(io.stderr, `sign failed: ${isGatewayError(e) ? `${e.code} ${e.detail ?? ''}` : (e as Error).message}`);
    return 1;
  }
}

/**
 * `switchguard verify --keys DIR [--file F] [--algorithms RS256,ES256] [--forms raw,sorted,insertion]`:
 * prints `valid (form=…, alg=…, key=…)` (exit 0) or `invalid: <GW code> <reason>` (exit 1).
 */
const VERIFY_USAGE = 'usage: switchguard verify --keys DIR [--file F] [--algorithms LIST] [--forms LIST]   (request JSON on stdin or --file)';
const VERIFY_OPTIONS = {
  keys: { type: 'string' },
  file: { type: 'string' },
  algorithms: { type: 'string' },
  forms: { type: 'string' },
} as const;

export async function verifyCommand(argv: string[], io: CliIo): Promise<number> {
  const args = parsed(argv, VERIFY_OPTIONS, io, VERIFY_USAGE);
  if (args === undefined) return 2;
  const { keys: dir, file } = args.values;
  if (!dir) {
    line(io.stderr, VERIFY_USAGE);
    return 2;
  }
  let req: RequestDescription;
  try {
    req = parseDescription(await readInput(file, io));
  } catch (e) {
    line(io.stderr, `cannot read the request: ${(e as Error).message}`);
    return 2;
  }
  const keys = await KeyDirectory.open({ dir, watch: false, rescanIntervalSeconds: 3600 });
  try {
    const body = req.body === undefined ? Buffer.alloc(0) : Buffer.from(typeof req.body === 'string' ? req.body : JSON.stringify(req.body), 'utf8');
    const algorithms = new Set((args.values.algorithms ?? 'RS256,ES256').split(','));
    const forms = (args.values.forms ?? 'raw,sorted,insertion').split(',') as PayloadForm[];
    const r = await verifyRequest({ method: req.method, path: req.url, header: headerGetter(req.headers), body }, (s) => keys.get(s), { algorithms, forms });
    line(io.stdout, `valid (form=${r.form}, alg=${r.alg}, key=${r.keyId})`);
    return 0;
  } catch (e) {
    line(io.stdout, isGatewayError(e) ? `invalid: ${e.code} ${e.detail ?? ''}`.trimEnd() : `invalid: ${(e as Error).message}`);
    return 1;
  } finally {
    keys.close();
  }
}
