// The plan of a multi-DFSP k6 run: the identities, each one's share of the rate, and the exact `k6 run`
// command (arguments and -e variables) of its process.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { SplitManifest } from './sets.js';

/** One DFSP as the gateway knows it: its id, mTLS client certificate and key, and JWS signing key. */
export interface Identity {
  readonly fspId: string;
  readonly cert: string;
  readonly key: string;
  /** Signs this DFSP's requests when the runner prepares the set; k6 itself never signs (v0.48 has no RS256). */
  readonly jwsKey: string;
}

/** The `switchguard pki init` layout: clients/<fsp>.pem|.key and jws-private/<fsp>.key under `keysDir`. */
export function identitiesFromKeys(keysDir: string, fsps: readonly string[]): Identity[] {
  const dir = resolve(keysDir);
  return checkIdentities(
    fsps.map((fspId) => ({
      fspId,
      cert: join(dir, 'clients', `${fspId}.pem`),
      key: join(dir, 'clients', `${fspId}.key`),
      jwsKey: join(dir, 'jws-private', `${fspId}.key`),
    })),
    `--keys ${keysDir}`,
  );
}

/** A JSON file `[{ "fspId", "cert", "key", "jwsKey" }, ...]`; relative paths are relative to the file. */
export function identitiesFromFile(path: string): Identity[] {
  const raw = JSON.parse(readFileSync(path, 'utf8')) as unknown;
  if (!Array.isArray(raw)) throw new Error(`${path}: expected a JSON array of {fspId, cert, key, jwsKey}`);
  const base = dirname(resolve(path));
  const ids = raw.map((e: unknown, i) => {
    const o = e as Record<string, unknown>;
    for (const k of ['fspId', 'cert', 'key', 'jwsKey']) {
      if (typeof o?.[k] !== 'string' || (o[k] as string).length === 0) throw new Error(`${path}: entry ${i} lacks "${k}"`);
    }
    return { fspId: o.fspId as string, cert: resolve(base, o.cert as string), key: resolve(base, o.key as string), jwsKey: resolve(base, o.jwsKey as string) };
  });
  return checkIdentities(ids, path);
}

function checkIdentities(ids: Identity[], source: string): Identity[] {
  if (ids.length === 0) throw new Error(`${source}: no identities`);
  const seen = new Set<string>();
  for (const id of ids) {
    if (!/^[A-Za-z0-9._-]+$/.test(id.fspId)) throw new Error(`${source}: "${id.fspId}" is not a usable FSP id`);
    if (seen.has(id.fspId)) throw new Error(`${source}: ${id.fspId} is listed twice`);
    seen.add(id.fspId);
    for (const p of [id.cert, id.key]) if (!existsSync(p)) throw new Error(`${source}: ${id.fspId}: ${p} does not exist`);
  }
  return ids;
}

/** Rates are split in thousandths of a request per second: fine enough that no process drifts from its share. */
const RATE_RESOLUTION = 1000;

/**
 * Splits a total rate (requests/s) over weights by largest remainder (Hamilton) in thousandths of a request
 * per second: every share is floor(total·w/W) thousandths plus one for the largest remainders (earlier
 * identities first on ties), so the shares add up to exactly `total`. Returns thousandths (integers);
 * 1000 over 7 equal weights is 142.857 ×6 and 142.858. Each process then runs at its share of the set's
 * requests, so the processes go through the pipelined journeys at one pace (a journey's steps are sent by
 * different processes about 1 s apart). A share of 0 is refused: k6 cannot run an arrival rate of 0.
 */
export function splitRate(total: number, weights: readonly number[]): number[] {
  const units = Math.round(total * RATE_RESOLUTION);
  if (!(total > 0) || Math.abs(units - total * RATE_RESOLUTION) > 1e-6)
    throw new Error(`the total rate must be positive with at most 3 decimals, got ${total}`);
  if (weights.length === 0 || weights.some((w) => !(w > 0))) throw new Error('every identity needs a positive weight');
  const sum = weights.reduce((a, w) => a + w, 0);
  const exact = weights.map((w) => (units * w) / sum);
  const shares = exact.map(Math.floor);
  let left = units - shares.reduce((a, s) => a + s, 0);
  const order = exact.map((x, i) => ({ i, r: x - Math.floor(x) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of order) {
    if (left === 0) break;
    shares[i] = (shares[i] as number) + 1;
    left--;
  }
  const zero = shares.indexOf(0);
  if (zero >= 0) throw new Error(`a total of ${total}/s leaves identity ${zero + 1} of ${weights.length} no requests: raise --rate or use fewer identities`);
  return shares;
}

/** Thousandths of a request per second as the RATE value (142857 → '142.857'). */
export const rateText = (thousandths: number): string => String(thousandths / RATE_RESOLUTION);

export interface ProcessPlan {
  readonly fspId: string;
  /** Requests/s of this process (its peak for a ramp), as passed in RATE (up to 3 decimals). */
  readonly rate: string;
  readonly peers: readonly string[];
  /** The -e variables, in order. */
  readonly env: Readonly<Record<string, string>>;
  /** Everything after the k6 binary: `run … index.js`. */
  readonly args: readonly string[];
  readonly summaryFile: string;
  readonly pointsFile: string;
  readonly logFile: string;
  /** k6's REST API of this process (host:port): it starts paused and is resumed with the others. */
  readonly apiAddress?: string;
}

export interface PlanOptions {
  /** Absolute path of the profile JSON (index.js opens it). */
  readonly profilePath: string;
  readonly identities: readonly Identity[];
  readonly manifest: SplitManifest;
  readonly totalRate: number;
  readonly durationSeconds?: number | undefined;
  /** CONNECT_SECONDS (index.js): the connection phase before the measured scenarios. */
  readonly connectSeconds: number;
  /** WARMUP_SECONDS (index.js): the ramp before each constant-rate scenario. */
  readonly warmupSeconds: number;
  readonly target: { readonly host: string; readonly port: number };
  readonly serverName?: string | undefined;
  readonly verifyServer: boolean;
  readonly outDir: string;
  /** Absolute path of loadtest/k6/index.js. */
  readonly script: string;
  readonly extraEnv?: Readonly<Record<string, string>>;
  readonly extraArgs?: readonly string[];
  /**
   * One REST API address per identity (127.0.0.1:port): every process starts with --paused and the runner
   * resumes them all at once when all are initialised (k6-runner/k6.ts), so no DFSP starts its share of the
   * journeys before the DFSPs that answer them are ready. Without it each process starts when it is ready.
   */
  readonly apiAddresses?: readonly string[];
}

/** File names inside the results directory; --merge-only and Kubernetes copies use the same. */
const resultFiles = (dir: string, fspId: string) => ({
  summaryFile: join(dir, `${fspId}.summary.json`),
  pointsFile: join(dir, `${fspId}.points.json.gz`),
  logFile: join(dir, `${fspId}.log`),
});

/** One process per identity, its rate proportional to the requests it sends in the set. */
export function buildPlan(o: PlanOptions): ProcessPlan[] {
  const senders = o.manifest.senders;
  const missing = o.identities.filter((id) => !senders[id.fspId]).map((id) => id.fspId);
  if (o.apiAddresses && o.apiAddresses.length !== o.identities.length) throw new Error('one API address per identity');
  if (missing.length) throw new Error(`the prepared set has no requests sent by ${missing.join(', ')}: prepare it for these identities`);
  const known = new Set(o.identities.map((id) => id.fspId));
  const extra = Object.keys(senders).filter((f) => !known.has(f));
  if (extra.length) throw new Error(`the prepared set has requests sent by ${extra.join(', ')}, which no identity speaks for: their journeys would break`);
  const rates = splitRate(
    o.totalRate,
    o.identities.map((id) => senders[id.fspId]?.requests ?? 0),
  );
  return o.identities.map((id, i) => {
    const sender = senders[id.fspId]!;
    const env: Record<string, string> = {
      K6_PROFILE: o.profilePath,
      FSP_ID: id.fspId,
      CERT_FILE: id.cert,
      KEY_FILE: id.key,
      DATA_FILE: sender.file,
      PEERS: sender.peers.join(','),
      RATE: rateText(rates[i] as number),
      TARGET_HOST: o.target.host,
      TARGET_PORT: String(o.target.port),
      INSECURE_SKIP_TLS_VERIFY: String(!o.verifyServer),
      CONNECT_SECONDS: String(o.connectSeconds),
      WARMUP_SECONDS: String(o.warmupSeconds),
    };
    if (o.durationSeconds) env.DURATION = String(o.durationSeconds);
    if (o.serverName) env.SERVER_NAME = o.serverName;
    Object.assign(env, o.extraEnv ?? {});
    const files = resultFiles(o.outDir, id.fspId);
    const apiAddress = o.apiAddresses?.[i];
    const args = [
      'run',
      '--quiet',
      ...(apiAddress ? ['--paused', '--address', apiAddress] : []),
      '--summary-export',
      files.summaryFile,
      '--out',
      `json=${files.pointsFile}`,
      ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]),
      ...(o.extraArgs ?? []),
      o.script,
    ];
    return { fspId: id.fspId, rate: rateText(rates[i] as number), peers: sender.peers, env, args, ...files, ...(apiAddress ? { apiAddress } : {}) };
  });
}
