// Command-line options of `npm run loadtest:k6`, parsed once into a frozen object.
import { parseArgs } from 'node:util';

export interface RunnerArgs {
  readonly profile: string;
  readonly target: { readonly host: string; readonly port: number };
  readonly rate: number | undefined;
  readonly durationSeconds: number | undefined;
  readonly keysDir: string;
  readonly fsps: readonly string[];
  readonly identities: string | undefined;
  readonly data: string | undefined;
  readonly out: string | undefined;
  readonly k6: string;
  readonly serverName: string | undefined;
  readonly verifyServer: boolean;
  readonly skewSeconds: number;
  readonly stepGapSeconds: number;
  /** CONNECT_SECONDS of every process: the connection phase before the measured scenarios (0: none). */
  readonly connectSeconds: number;
  /** WARMUP_SECONDS of every process: the ramp before each constant-rate scenario holds its rate (0: none). */
  readonly warmupSeconds: number;
  readonly ilpVersion: '1' | '4';
  readonly env: Readonly<Record<string, string>>;
  readonly k6Args: readonly string[];
  readonly mergeOnly: string | undefined;
  readonly dryRun: boolean;
  readonly help: boolean;
}

export const USAGE = `usage: npm run loadtest:k6 -- --profile <name|path> [options]
One k6 process per DFSP identity (k6 presents one client certificate per process), the rate split
between them, their results merged and the profile's thresholds judged on the merged totals.
  --profile NAME|PATH    k6 profile (loadtest/k6/profiles/NAME.json or a path)            [required]
  --target HOST:PORT     the gateway's inbound (mTLS) listener; https://HOST:PORT also works [127.0.0.1:8443]
  --rate R               total arrival rate, requests/s (a ramp's peak; split in thousandths) [profile]
  --duration S           scenario duration in seconds (a ramp is stretched)                [profile]
  --keys DIR             PKI of \`switchguard pki init\`: clients/<fsp>.pem|.key, jws-private/<fsp>.key [keys]
  --fsps A,B,...         the DFSP identities, one k6 process each                 [perffsp-1..perffsp-8]
  --identities FILE      JSON [{"fspId","cert","key","jwsKey"}, ...] instead of --keys/--fsps (paths relative to FILE)
  --data DIR             per-DFSP sets of \`npm run loadtest:prepare -- --split-dir DIR\`; default: signed now, before k6 starts
  --out DIR              results: plan, per-process summaries, raw points, logs, merged summary [loadtest/.results/<profile>-<time>]
  --k6 PATH              the k6 binary                                              [$K6_BINARY or k6 on PATH]
  --server-name NAME     host name in the URLs (mapped to the target address), for a verified server certificate
  --verify-server        verify the gateway's certificate (k6 uses the system store and SSL_CERT_FILE)    [off]
  --skew S               the gateway's JWS_MAX_CLOCK_SKEW_SECONDS (validity of sets signed now)          [300]
  --ilp-version 1|4      ILP packet version of sets signed now                                            [1]
  --step-gap S           seconds between the steps of a journey in sets signed now (a journey's steps
                         come from different processes; raise it when latency approaches it)             [1]
  --connect S            seconds in which every VU opens its connection (one GET /) before the measured
                         scenarios; their samples are left out of the thresholds (0: none)             [5]
  --warmup S             seconds over which each constant-rate scenario ramps up to its rate before the
                         profile's duration at that rate; left out of the thresholds (0: none)          [15]
  --env K=V              an extra -e K=V for every k6 process (repeatable), e.g. ABORT_ON_ERROR=true
  --k6-arg=ARG           an extra argument for every \`k6 run\` (repeatable; with = when ARG starts with -)
  --merge-only DIR       start nothing: merge <fsp>.summary.json and <fsp>.points.json[.gz] in DIR
                         (e.g. copied from Kubernetes TestRuns) and judge --profile's thresholds
  --dry-run              print the plan (each process's k6 command) and exit
The k6 processes run on this runner's CPUs, with GOMAXPROCS shared out unless set: on a machine shared with
the gateway, give k6 cores of its own, e.g. \`taskset -c 1 npm run loadtest:k6 -- …\` (docs/performance/k6.md §2).
Exit code: 0 every merged threshold passed, 1 a merged threshold failed, 2 usage or setup error
(k6 missing, bad identities or data), 3 a k6 process failed or the run was interrupted.`;

const positive = (v: string | undefined, what: string, integer = false): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)))
    throw new Error(`${what} must be a positive ${integer ? 'integer' : 'number'}, got ${v}`);
  return n;
};

const PHASE_VARIABLES = new Set(['CONNECT_SECONDS', 'WARMUP_SECONDS', 'WARMUP_MS']);

/** A whole number of seconds, 0 or more. */
const seconds = (v: string | undefined, what: string): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || v.trim() === '') throw new Error(`${what} must be a whole number of seconds (0 or more), got ${v}`);
  return n;
};

/** `host:port`, `[v6]:port` or `https://host:port` → host and port. */
export function parseTarget(text: string): { host: string; port: number } {
  const url = new URL(text.includes('://') ? text : `https://${text}`);
  if (url.protocol !== 'https:') throw new Error(`--target: the gateway's inbound listener is https, got ${text}`);
  if (url.pathname !== '/' || url.search) throw new Error(`--target: host and port only, got ${text}`);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return { host, port: url.port ? Number(url.port) : 443 };
}

/** Parses argv (without node and script). */
export function parseRunnerArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = process.env): RunnerArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      profile: { type: 'string' },
      target: { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      keys: { type: 'string' },
      fsps: { type: 'string' },
      identities: { type: 'string' },
      data: { type: 'string' },
      out: { type: 'string' },
      k6: { type: 'string' },
      'server-name': { type: 'string' },
      'verify-server': { type: 'boolean' },
      skew: { type: 'string' },
      'step-gap': { type: 'string' },
      connect: { type: 'string' },
      warmup: { type: 'string' },
      'ilp-version': { type: 'string' },
      env: { type: 'string', multiple: true },
      'k6-arg': { type: 'string', multiple: true },
      'merge-only': { type: 'string' },
      'dry-run': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  const ilp = values['ilp-version'] ?? '1';
  if (ilp !== '1' && ilp !== '4') throw new Error('--ilp-version must be 1 or 4');
  if (values.identities && values.fsps) throw new Error('--identities and --fsps are alternatives: give one');
  const extraEnv: Record<string, string> = {};
  for (const kv of values.env ?? []) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new Error(`--env expects K=V, got ${kv}`);
    // The runner judges and signs for its own phases: they are options, never per-process overrides.
    if (PHASE_VARIABLES.has(kv.slice(0, i))) throw new Error(`--env ${kv.slice(0, i)}: use --connect or --warmup`);
    extraEnv[kv.slice(0, i)] = kv.slice(i + 1);
  }
  const fsps = values.fsps
    ? values.fsps
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : Array.from({ length: 8 }, (_, i) => `perffsp-${i + 1}`);
  if (new Set(fsps).size !== fsps.length) throw new Error('--fsps lists a DFSP twice');
  return Object.freeze({
    profile: values.profile ?? '',
    target: parseTarget(values.target ?? '127.0.0.1:8443'),
    rate: positive(values.rate, '--rate'),
    durationSeconds: positive(values.duration, '--duration', true),
    keysDir: values.keys ?? 'keys',
    fsps,
    identities: values.identities,
    data: values.data,
    out: values.out,
    k6: values.k6 || env.K6_BINARY || 'k6',
    serverName: values['server-name'],
    verifyServer: values['verify-server'] === true,
    skewSeconds: positive(values.skew, '--skew', true) ?? 300,
    stepGapSeconds: positive(values['step-gap'], '--step-gap') ?? 1,
    connectSeconds: seconds(values.connect, '--connect') ?? 5,
    warmupSeconds: seconds(values.warmup, '--warmup') ?? 15,
    ilpVersion: ilp,
    env: Object.freeze(extraEnv),
    k6Args: Object.freeze([...(values['k6-arg'] ?? [])]),
    mergeOnly: values['merge-only'],
    dryRun: values['dry-run'] === true,
    help: values.help === true,
  });
}
