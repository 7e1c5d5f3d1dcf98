// Command-line options of `npm run loadtest`, parsed once into a frozen object.
import { parseArgs } from 'node:util';

export interface DriverArgs {
  readonly profile: string;
  readonly target: string;
  readonly durationSeconds: number | undefined;
  readonly rate: number | undefined;
  readonly keysDir: string;
  readonly data: string | undefined;
  readonly gatewayPids: readonly number[];
  readonly fsps: readonly string[];
  readonly connections: number | undefined;
  readonly skewSeconds: number;
  readonly ilpVersion: '1' | '4';
  readonly json: string | undefined;
  /** With --json: also each measured second's latencies (for runs whose conditions change over time). */
  readonly windows: boolean;
  readonly warmupSeconds: number;
  readonly preconnect: boolean;
  readonly help: boolean;
}

export const USAGE = `usage: npm run loadtest -- --profile <name|path> [options]
  --profile NAME|PATH   k6 profile (loadtest/k6/profiles/NAME.json or a path)        [required]
  --target URL          system under test, loopback only        [https://127.0.0.1:8443]
  --duration S          override the scenario duration (seconds; stretches a ramp)
  --rate R              override the arrival rate per second (scales a ramp's peak)
  --keys DIR            PKI from \`switchguard pki init\`                                [keys]
  --data FILE           pre-signed set from \`npm run loadtest:prepare\`; default: prepared in-process before the clock starts
  --gateway-pid P[,P]   sample CPU/RSS of these pids and their children from /proc
  --fsps A,B            simulated DFSPs                                 [perffsp-1..perffsp-8]
  --connections N       keep-alive connections per DFSP        [maxVUs / DFSPs, at most 32]
  --skew S              the gateway's JWS_MAX_CLOCK_SKEW_SECONDS (validity of in-process sets) [300]
  --ilp-version 1|4     ILP packet version of in-process sets                            [1]
  --warmup S            run S seconds at the starting rate first, not recorded (JIT, pools)  [0]
  --no-preconnect       open client connections lazily during the run (default: all opened before the clock)
  --json FILE           also write the results as JSON
  --windows             with --json: add the clock's origin and every measured second's latencies (µs)
Exit code: 0 all thresholds passed, 1 a threshold failed, 2 usage or setup error.`;

const num = (v: string | undefined, what: string): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${what} must be a positive number`);
  return n;
};

/** Parses argv (without node and script). */
export function parseDriverArgs(argv: readonly string[]): DriverArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      profile: { type: 'string' },
      target: { type: 'string' },
      duration: { type: 'string' },
      rate: { type: 'string' },
      keys: { type: 'string' },
      data: { type: 'string' },
      'gateway-pid': { type: 'string' },
      fsps: { type: 'string' },
      connections: { type: 'string' },
      skew: { type: 'string' },
      'ilp-version': { type: 'string' },
      json: { type: 'string' },
      warmup: { type: 'string' },
      'no-preconnect': { type: 'boolean' },
      windows: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  const ilp = values['ilp-version'] ?? '1';
  if (ilp !== '1' && ilp !== '4') throw new Error('--ilp-version must be 1 or 4');
  return Object.freeze({
    profile: values.profile ?? '',
    target: values.target ?? 'https://127.0.0.1:8443',
    durationSeconds: num(values.duration, '--duration'),
    rate: num(values.rate, '--rate'),
    keysDir: values.keys ?? 'keys',
    data: values.data,
    gatewayPids: (values['gateway-pid'] ?? '')
      .split(',')
      .filter(Boolean)
      .map((p) => num(p, '--gateway-pid') as number),
    fsps: values.fsps ? values.fsps.split(',').filter(Boolean) : Array.from({ length: 8 }, (_, i) => `perffsp-${i + 1}`),
    connections: num(values.connections, '--connections'),
    skewSeconds: num(values.skew, '--skew') ?? 300,
    ilpVersion: ilp,
    json: values.json,
    windows: values.windows === true,
    warmupSeconds: values.warmup === undefined ? 0 : (num(values.warmup, '--warmup') as number),
    preconnect: values['no-preconnect'] !== true,
    help: values.help === true,
  });
}
