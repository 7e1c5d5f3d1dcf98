// A real Mojaloop sdk-scheme-adapter (devDependency @mojaloop/sdk-scheme-adapter 18.0.2, which nests
// sdk-standard-components 17.4) run as an operator runs it: `node src/index.js` in a child process, configured
// by environment variables only (its src/config.js). Two test-only additions, both in sdk-loopback.cjs: its
// listeners bind free ports on 127.0.0.1 (reported over IPC) and the child ends by itself when the test process
// goes away or a deadline passes. Also here: the small DFSP backend the SDK calls (BACKEND_ENDPOINT: its
// "simple" backend API, GET /parties, POST /quoterequests, POST /transfers) and the clean-up of the SDK's Redis
// keys (the SDK has no key prefix: it gets a logical database of its own, and only the keys of the ids a test
// saw are deleted there, never a FLUSHALL/FLUSHDB).
import { type ChildProcess, fork, spawnSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';

const require = createRequire(import.meta.url);
/** src/index.js of the SDK (its package "main"). */
const SDK_ENTRY = require.resolve('@mojaloop/sdk-scheme-adapter');
const PRELOAD = fileURLToPath(new URL('./sdk-loopback.cjs', import.meta.url));
/** The native grpc 1.24 module the SDK loads at start-up (sdk-scheme-adapter → central-services-shared → event-sdk). */
const GRPC = createRequire(createRequire(SDK_ENTRY).resolve('@mojaloop/event-sdk')).resolve('grpc');

let sdkNode: string | undefined;
/**
 * The Node binary the SDK runs on: one that can load its grpc binary, which `npm ci` built for the Node it ran
 * under (Node 20 ABI here; grpc 1.24 does not build for Node 24, and the SDK declares node 16). Tried in order:
 * SDK_NODE, the Node running the tests, every `node` on PATH. The SDK is a separate program, as in a deployment.
 */
function nodeForSdk(): string {
  if (sdkNode) return sdkNode;
  const onPath = (process.env.PATH ?? '').split(delimiter).map((d) => join(d, 'node'));
  const candidates = [process.env.SDK_NODE, process.execPath, ...onPath].filter((c): c is string => Boolean(c));
  const tried = new Set<string>();
  for (const c of candidates) {
    let real: string;
    try {
      real = realpathSync(c);
    } catch {
      continue;
    }
    if (tried.has(real)) continue;
    tried.add(real);
    if (spawnSync(real, ['-e', 'require(process.argv[1])', GRPC], { stdio: 'ignore', timeout: 20_000 }).status === 0) {
      sdkNode = real;
      return real;
    }
  }
  throw new Error(`no Node binary here loads ${GRPC} (tried ${[...tried].join(', ')}): run npm ci with install scripts, or set SDK_NODE`);
}

/** Port placeholders that sdk-loopback.cjs replaces by free loopback ports (never bound by a test: below 1024). */
const ROLE_PORTS = { inbound: 1, outbound: 2, metrics: 3 } as const;
type Role = keyof typeof ROLE_PORTS;

export interface SdkAdapterOptions {
  /** DFSP_ID. */
  readonly dfspId: string;
  /** PEER_ENDPOINT: host:port, no scheme (the SDK prefixes http:// or https:// from OUTBOUND_MUTUAL_TLS_ENABLED). */
  readonly peerEndpoint: string;
  /** BACKEND_ENDPOINT: host:port of the DFSP backend (plain HTTP). */
  readonly backendEndpoint: string;
  /** CACHE_URL (redis://host:port/db). */
  readonly cacheUrl: string;
  /** Inbound server TLS (mTLS required from the caller: the SDK's INBOUND_MUTUAL_TLS_ENABLED). */
  readonly inboundTls?: { readonly caPath: string; readonly certPath: string; readonly keyPath: string };
  /** Client certificate towards PEER_ENDPOINT (OUTBOUND_MUTUAL_TLS_ENABLED). */
  readonly outboundTls?: { readonly caPath: string; readonly certPath: string; readonly keyPath: string };
  /** JWS_SIGNING_KEY_PATH (RSA: the SDK signs RS256 only); signing is off without it. */
  readonly jwsSigningKeyPath?: string;
  /** JWS_VERIFICATION_KEYS_DIRECTORY (<fspId>.pem); inbound verification is off without it. */
  readonly jwsKeysDir?: string;
  /** Any further SDK variable (AUTO_ACCEPT_QUOTES, REQUEST_PROCESSING_TIMEOUT_SECONDS, …); wins over the above. */
  readonly env?: Record<string, string>;
  /** The child exits by itself after this long at the latest (default 120 s). */
  readonly maxLifetimeMs?: number;
  /** Start-up deadline (default 40 s: the SDK loads for 2 to 3 s of CPU, more on a busy machine). */
  readonly startTimeoutMs?: number;
}

export interface SdkAdapter {
  readonly dfspId: string;
  readonly child: ChildProcess;
  readonly ports: { readonly inbound: number; readonly outbound: number };
  /** The outbound ("simple") API, plain HTTP on loopback. */
  readonly outboundUrl: string;
  /** What the SDK logged (stdout and stderr, the last 2 MB). */
  output(): string;
  close(): Promise<void>;
}

/** The SDK's environment for these options: every variable it reads from src/config.js that a test sets. */
function sdkEnv(o: SdkAdapterOptions): Record<string, string> {
  const env: Record<string, string> = {
    DFSP_ID: o.dfspId,
    PEER_ENDPOINT: o.peerEndpoint,
    BACKEND_ENDPOINT: o.backendEndpoint,
    CACHE_URL: o.cacheUrl,
    INBOUND_LISTEN_PORT: String(ROLE_PORTS.inbound),
    OUTBOUND_LISTEN_PORT: String(ROLE_PORTS.outbound),
    METRICS_SERVER_LISTEN_PORT: String(ROLE_PORTS.metrics),
    INBOUND_MUTUAL_TLS_ENABLED: String(o.inboundTls !== undefined),
    OUTBOUND_MUTUAL_TLS_ENABLED: String(o.outboundTls !== undefined),
    JWS_SIGN: String(o.jwsSigningKeyPath !== undefined),
    VALIDATE_INBOUND_JWS: String(o.jwsKeysDir !== undefined),
    AUTO_ACCEPT_PARTY: 'true',
    AUTO_ACCEPT_QUOTES: 'true',
    LOG_INDENT: '0',
  };
  if (o.inboundTls)
    Object.assign(env, { IN_CA_CERT_PATH: o.inboundTls.caPath, IN_SERVER_CERT_PATH: o.inboundTls.certPath, IN_SERVER_KEY_PATH: o.inboundTls.keyPath });
  if (o.outboundTls)
    Object.assign(env, { OUT_CA_CERT_PATH: o.outboundTls.caPath, OUT_CLIENT_CERT_PATH: o.outboundTls.certPath, OUT_CLIENT_KEY_PATH: o.outboundTls.keyPath });
  if (o.jwsSigningKeyPath) env.JWS_SIGNING_KEY_PATH = o.jwsSigningKeyPath;
  if (o.jwsKeysDir) env.JWS_VERIFICATION_KEYS_DIRECTORY = o.jwsKeysDir;
  return { ...env, ...o.env };
}

/**
 * Starts the SDK as a child process and resolves once its inbound and outbound listeners are bound. The
 * child's working directory is the system temp dir, so a stray `.env` (read by its dotenv) is never picked up.
 */
export function startSdkAdapter(o: SdkAdapterOptions): Promise<SdkAdapter> {
  const roles = Object.entries(ROLE_PORTS)
    .map(([role, port]) => `${port}=${role}`)
    .join(',');
  const child = fork(SDK_ENTRY, [], {
    execPath: nodeForSdk(),
    cwd: tmpdir(),
    env: { PATH: process.env.PATH ?? '', ...sdkEnv(o), SG_LISTEN_ROLES: roles, SG_MAX_LIFETIME_MS: String(o.maxLifetimeMs ?? 120_000) },
    execArgv: ['--require', PRELOAD],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString('utf8');
    if (out.length > 2_000_000) out = out.slice(-1_000_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const bound = new Map<Role, number>();
  return new Promise<SdkAdapter>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sdk-scheme-adapter ${o.dfspId} did not start within ${o.startTimeoutMs ?? 40_000} ms:\n${out.slice(-4000)}`));
    }, o.startTimeoutMs ?? 40_000);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`sdk-scheme-adapter ${o.dfspId} exited (${code}) during start-up:\n${out.slice(-4000)}`));
    });
    child.on('message', (m: { type?: string; role?: Role; port?: number }) => {
      if (m.type !== 'listening' || m.role === undefined || m.port === undefined) return;
      bound.set(m.role, m.port);
      if (!bound.has('inbound') || !bound.has('outbound')) return;
      clearTimeout(timer);
      const ports = { inbound: bound.get('inbound')!, outbound: bound.get('outbound')! };
      resolve({
        dfspId: o.dfspId,
        child,
        ports,
        outboundUrl: `http://127.0.0.1:${ports.outbound}`,
        output: () => out,
        async close() {
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill('SIGTERM'); // the SDK stops its servers and exits 0 on SIGTERM
          const t = setTimeout(() => child.kill('SIGKILL'), 3000);
          await exited;
          clearTimeout(t);
        },
      });
    });
  });
}

/** A request the backend received, with its parsed JSON body. */
export interface BackendCall {
  readonly method: string;
  readonly path: string;
  readonly body: any;
}

/** What the backend answers: a status and a JSON body (or undefined for none). */
export type BackendAnswer = { status: number; body?: unknown };
export type BackendHandler = (call: BackendCall) => BackendAnswer | undefined;

export interface SdkBackend {
  /** host:port, the form BACKEND_ENDPOINT takes. */
  readonly endpoint: string;
  readonly calls: BackendCall[];
  /** Overrides the default answers for matching calls (return undefined to fall through); cleared by reset(). */
  use(h: BackendHandler): void;
  reset(): void;
  close(): Promise<void>;
}

/**
 * The DFSP backend of the SDK's "simple" backend API: every party exists (its name from the identifier), every
 * quote is accepted at the requested amount with no fees, every transfer is accepted. Handlers given with use()
 * answer first (errors, rejections).
 */
export async function startSdkBackend(): Promise<SdkBackend> {
  const calls: BackendCall[] = [];
  let handlers: BackendHandler[] = [];
  const fallback = (c: BackendCall): BackendAnswer => {
    const party = /^\/parties\/([^/]+)\/([^/]+)$/.exec(c.path);
    if (c.method === 'GET' && party) {
      return { status: 200, body: { idType: party[1], idValue: party[2], displayName: `Party ${party[2]}`, firstName: 'Test', lastName: party[2] } };
    }
    if (c.method === 'POST' && c.path === '/quoterequests') {
      return {
        status: 200,
        body: { quoteId: c.body.quoteId, transactionId: c.body.transactionId, transferAmount: c.body.amount, transferAmountCurrency: c.body.currency },
      };
    }
    if (c.method === 'POST' && c.path === '/transfers') return { status: 200, body: { homeTransactionId: `home-${c.body.transferId}` } };
    return { status: 404, body: { statusCode: '3000', message: `no route ${c.method} ${c.path}` } };
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const call: BackendCall = { method: req.method ?? 'GET', path: (req.url ?? '/').split('?')[0]!, body: text ? JSON.parse(text) : undefined };
      calls.push(call);
      let answer: BackendAnswer | undefined;
      for (const h of handlers) {
        answer = h(call);
        if (answer) break;
      }
      answer ??= fallback(call);
      const body = answer.body === undefined ? '' : JSON.stringify(answer.body);
      res.writeHead(answer.status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
      res.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    endpoint: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    use(h) {
      handlers.push(h);
    },
    reset() {
      handlers = [];
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** REDIS_URL (or the local Redis) with the logical database the SDKs of a test get to themselves. */
export function sdkCacheUrl(db: number): string {
  const u = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  u.pathname = `/${db}`;
  return u.toString();
}

/**
 * Deletes the SDK's keys of these ids in its database: every key whose name contains one of them (the SDK
 * names its state `transferModel_out_<transferId>`, `transferModel_in_<transferId>`, `quoteResponse_<quoteId>`,
 * …). Keys of other ids, and other databases, are left alone. Returns how many keys were deleted.
 */
export async function deleteSdkKeys(cacheUrl: string, ids: Iterable<string>): Promise<number> {
  const wanted = [...new Set(ids)].filter((id) => id.length >= 8);
  if (wanted.length === 0) return 0;
  const r = new Redis(cacheUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await r.connect();
    let deleted = 0;
    for (const id of wanted) {
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await r.scan(cursor, 'MATCH', `*${id.replace(/[*?[\]\\]/g, '\\$&')}*`, 'COUNT', 1000);
        cursor = next;
        keys.push(...batch);
      } while (cursor !== '0');
      if (keys.length) deleted += await r.del(...keys);
    }
    return deleted;
  } finally {
    r.disconnect();
  }
}
