// `npm run loadtest -- --profile <name>`: the Node open-model driver (no k6 needed).
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { type DriverArgs, parseDriverArgs, USAGE } from './args.js';
import { loadTlsMaterial } from './clients.js';
import { assertLoopback, loadPreparedSet, type PreparedSet } from './dataset.js';
import { blockFor, buildPreparedSet, loadSigningKeys } from './prepare-set.js';
import { buildSchedules, loadProfile, type Profile } from './profile.js';
import { type RunResult, runLoad } from './run.js';
import { formatSummary } from './summary.js';

/** Builds the request set a profile needs when no --data file is given (signing happens before the clock starts). */
export function prepareFor(profile: Profile, args: DriverArgs): Promise<PreparedSet> {
  const schedules = buildSchedules(profile, { durationSeconds: args.durationSeconds, rate: args.rate });
  const starts = schedules.reduce((a, s) => a + Math.ceil(s.startsBy(s.durationMs) + s.rateAt(0) * args.warmupSeconds), 0);
  const env = schedules[0]?.env ?? {};
  const quotesOnly = env.QUOTES_ONLY === 'true';
  const rate = Math.max(...schedules.map((s) => s.rateAt(0)), 1);
  return buildPreparedSet({
    // A replayable quotes-only set need not cover the whole run.
    count: quotesOnly ? Math.min(starts + 16, 20_000) : starts + 16,
    keys: loadSigningKeys(args.keysDir, args.fsps),
    badShare: Number(env.BAD_SIGNATURE_SHARE ?? '0'),
    quotesOnly,
    // 1 s between the steps of a journey at the starting rate.
    block: blockFor(rate),
    skewSeconds: args.skewSeconds,
    ilpVersion: args.ilpVersion,
  });
}

/** A JSON-friendly digest of a run (for --json and the benchmark reports). */
export function resultDigest(r: RunResult): Record<string, unknown> {
  const h = r.recorder.histogram;
  const p = (q: number) => (h.totalCount ? h.getValueAtPercentile(q) / 1000 : null);
  return {
    completed: r.recorder.completed,
    failed: r.recorder.failed,
    dropped: r.recorder.dropped,
    achievedRate: r.recorder.started / (Math.max(...r.schedules.map((s) => s.durationMs)) / 1000),
    p50: p(50),
    p95: p(95),
    p99: p(99),
    max: h.totalCount ? h.maxValue / 1000 : null,
    responses: Object.fromEntries(r.recorder.byStatus),
    gateway: r.gateway,
    driverCpuPercent: r.driver.cpuPercent,
    driverLoopDelayMaxMs: r.driver.loopDelayMaxMs,
    driverGc: r.driver.gc,
    loadAverage: loadavg(),
    breakpoint: r.breakpoint ? { rate: r.breakpoint.rate, brokeAt: r.breakpoint.brokeAt, tolerated: r.breakpoint.tolerated } : undefined,
    thresholds: r.thresholds,
    passed: r.passed,
  };
}

async function main(): Promise<number> {
  let args: DriverArgs;
  try {
    args = parseDriverArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.help || !args.profile) {
    console.error(USAGE);
    return args.help ? 0 : 2;
  }
  const profile = loadProfile(args.profile);
  assertLoopback(args.target);
  const t = performance.now();
  const requests = args.data ? loadPreparedSet(args.data) : await prepareFor(profile, args);
  console.error(
    `${requests.requests.length} requests ${args.data ? 'loaded' : 'signed'} in ${((performance.now() - t) / 1000).toFixed(1)} s; Date headers valid until ${requests.validUntil}`,
  );
  if (Date.parse(requests.validUntil) < Date.now())
    console.error('warning: the prepared set is older than the skew window; the gateway will reject it with 3105');
  const tls = new URL(args.target).protocol === 'https:' ? loadTlsMaterial(args.keysDir, requests.fsps) : undefined;
  const result = await runLoad({
    profile,
    overrides: { durationSeconds: args.durationSeconds, rate: args.rate },
    target: args.target,
    requests,
    tls,
    gatewayPids: args.gatewayPids,
    connectionsPerFsp: args.connections,
    warmupMs: args.warmupSeconds * 1000,
    preconnect: args.preconnect,
    log: (line) => console.error(line),
  });
  console.log(formatSummary(result, `${args.profile} → ${args.target}${args.warmupSeconds ? ` (after ${args.warmupSeconds} s warm-up)` : ''}`));
  if (args.json) {
    const digest = resultDigest(result);
    // Per-second latencies on the wall clock, for a run whose conditions alternate (loadtest/flood-pairs.ts --alternate).
    if (args.windows)
      Object.assign(digest, {
        measuredEpochMs: result.clockEpochMs + result.warmupMs,
        windows: result.recorder.windows.map((w) => ({ second: w.second, latencies: w.latencies })),
      });
    writeFileSync(args.json, JSON.stringify(digest, null, 2));
  }
  return result.passed ? 0 : 1;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(e instanceof Error ? e.message : e);
      process.exit(2);
    },
  );
}
