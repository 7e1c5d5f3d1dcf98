// `npm run loadtest:k6 -- --profile <name>`: a multi-DFSP k6 run in one command. k6 presents one client
// certificate per process (loadtest/k6/lib/env.js), so the runner signs a request set, cuts it by sender,
// starts one `k6 run` per DFSP identity with its share of the rate, waits for all of them, merges their
// summaries (trends from their raw samples) and judges the profile's thresholds on the merged totals.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { blockFor } from '../driver/prepare-set.js';
import { buildSchedules, loadProfile, PROFILES_DIR, type Profile, parseDuration } from '../driver/profile.js';
import { parseRunnerArgs, type RunnerArgs, USAGE } from './args.js';
import { describePlacement, k6Environment, type Placement, placement } from './cpus.js';
import { formatK6Summary } from './format.js';
import { describeHost, HostMonitor, type HostSummary, type MeasuredWindow, measuredWindow, summarise } from './host.js';
import { hasAbortOnFail, type Judgement, judge, thresholdPercentiles } from './judge.js';
import { checkK6, freePort, K6_THRESHOLDS_FAILED, K6Missing, launchAll, type ProcessResult } from './k6.js';
import { heldResults, type MergedRun, mergeResults, resultIds } from './merge.js';
import { judgedThresholds, loadScaleModule } from './phases.js';
import { buildPlan, type Identity, identitiesFromFile, identitiesFromKeys, type ProcessPlan } from './plan.js';
import { readSplitManifest, type SplitManifest } from './sets.js';
import { signApart } from './sign.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const SCRIPT = join(ROOT, 'loadtest', 'k6', 'index.js');

/** The trend columns of index.js's `summaryTrendStats` (read from the script, so the two cannot drift). */
export function scriptTrendStats(script = SCRIPT): string[] {
  const m = /const SUMMARY_TREND_STATS = \[([^\]]*)\]/.exec(readFileSync(script, 'utf8'));
  if (!m) throw new Error(`${script}: SUMMARY_TREND_STATS not found`);
  return [...(m[1] as string).matchAll(/'([^']+)'/g)].map((x) => x[1] as string);
}

/** The profile's total arrival rate per second: the sum of its scenarios' peaks. */
export function profilePeakRate(profile: Profile): number {
  let total = 0;
  for (const s of Object.values(profile.scenarios)) {
    const unit = s.timeUnit ? parseDuration(s.timeUnit) : 1000;
    const peak = s.executor === 'constant-arrival-rate' ? (s.rate ?? 0) : Math.max(s.startRate ?? 0, ...(s.stages ?? []).map((st) => st.target));
    total += (peak * 1000) / unit;
  }
  return total;
}

/**
 * The requests the k6 processes start in all: the profile's schedules at the run's rate and duration, plus
 * the warm-up's ramp on each constant-rate scenario (index.js withWarmup).
 */
export async function requestsStarted(
  profile: Profile,
  o: { totalRate: number; durationSeconds?: number | undefined; warmupSeconds: number },
): Promise<number> {
  const schedules = buildSchedules(profile, { rate: o.totalRate, durationSeconds: o.durationSeconds });
  const scale = await loadScaleModule();
  const peak = profilePeakRate(profile);
  const warmup = Object.values(profile.scenarios)
    .filter((s) => s.executor === 'constant-arrival-rate')
    .reduce(
      // Each constant scenario's share of the run's rate, as index.js scales it (lib/scale.js peakPerSecond).
      (a, s) => a + scale.warmupRequests((o.totalRate * scale.peakPerSecond(s)) / peak, o.warmupSeconds),
      0,
    );
  return schedules.reduce((a, s) => a + Math.ceil(s.startsBy(s.durationMs)), 0) + warmup;
}

/** Signs the set the run needs (all identities' keys) and cuts it into per-DFSP files in `dir`, in a child process (sign.ts). */
async function prepareSplit(profile: Profile, args: RunnerArgs, identities: readonly Identity[], totalRate: number, dir: string): Promise<SplitManifest> {
  const schedules = buildSchedules(profile, { rate: totalRate, durationSeconds: args.durationSeconds });
  const starts = await requestsStarted(profile, { totalRate, durationSeconds: args.durationSeconds, warmupSeconds: args.warmupSeconds });
  const env = schedules[0]?.env ?? {};
  const quotesOnly = env.QUOTES_ONLY === 'true';
  // A little to spare: each process stops at the end of its own part of the set.
  const needed = Math.ceil(starts * 1.02) + 16 * identities.length;
  await signApart({
    // A replayable quotes-only set need not cover the whole run.
    count: quotesOnly ? Math.min(needed, 20_000) : needed,
    signers: identities.map((id) => ({ fspId: id.fspId, jwsKey: id.jwsKey })),
    badShare: Number(env.BAD_SIGNATURE_SHARE ?? '0'),
    quotesOnly,
    block: blockFor(Math.max(...schedules.map((s) => s.rateAt(0)), 1), args.stepGapSeconds * 1000),
    skewSeconds: args.skewSeconds,
    ilpVersion: args.ilpVersion,
    dir,
  });
  return readSplitManifest(dir);
}

const quote = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

function printPlan(out: (line: string) => void, plans: readonly ProcessPlan[], args: RunnerArgs, bin: string): void {
  const w = Math.max(...plans.map((p) => p.fspId.length));
  for (const p of plans) out(`  ${p.fspId.padEnd(w)}  ${p.rate.padStart(9)}/s  pays/answers ${p.peers.join(',')}`);
  if (args.dryRun) for (const p of plans) out(`\n${[bin, ...p.args].map(quote).join(' ')}`);
}

/** The end of the run: the merged summary, the thresholds on the merged totals, each process's exit. */
export function formatReport(run: MergedRun, judgement: Judgement, results: readonly ProcessResult[], trendColumns: readonly string[]): string {
  const lines: string[] = [];
  lines.push(
    `merged summary of ${run.processes.length} k6 processes (${run.processes.join(', ')}), ${run.durationSeconds.toFixed(1)} s:`,
    '',
    formatK6Summary(run.rootGroup, [...run.metrics.values()], trendColumns, judgement.okByKey),
    '',
  );
  if (run.unmerged.length) lines.push(`not merged (no raw samples): ${run.unmerged.join(', ')}`, '');
  lines.push('thresholds on the merged totals:');
  for (const v of judgement.verdicts) {
    const actual = v.actual === undefined ? (v.note ?? 'no data') : String(Number(v.actual.toFixed(4)));
    lines.push(`  ${v.ok ? '✓' : '✗'} ${v.metric} ${v.expression} (${actual})`);
  }
  lines.push(...processLines(results));
  return lines.join('\n');
}

/** How each k6 process ended, one line each (after a 'k6 processes:' heading); none when there were none. */
function processLines(results: readonly ProcessResult[]): string[] {
  if (!results.length) return [];
  return [
    'k6 processes:',
    ...results.map((r) => {
      const what =
        r.code === 0
          ? 'ok'
          : r.code === K6_THRESHOLDS_FAILED
            ? 'its own share crossed a threshold (k6 exit 99; the merged totals decide)'
            : r.interrupted
              ? `interrupted (exit ${r.code ?? r.signal})`
              : `FAILED (exit ${r.code ?? r.signal})`;
      return `  ${r.fspId}: ${what}, ${r.seconds.toFixed(1)} s`;
    }),
  ];
}

/** CONNECT_SECONDS and WARMUP_SECONDS of a results directory's plan.json, when it records them. */
export function readPlanPhases(dir: string): { connectSeconds: number; warmupSeconds: number } | undefined {
  let plan: { connectSeconds?: unknown; warmupSeconds?: unknown };
  try {
    plan = JSON.parse(readFileSync(join(dir, 'plan.json'), 'utf8'));
  } catch {
    return undefined;
  }
  const ok = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
  return ok(plan.connectSeconds) && ok(plan.warmupSeconds) ? { connectSeconds: plan.connectSeconds, warmupSeconds: plan.warmupSeconds } : undefined;
}

async function mergeAndJudge(
  dir: string,
  ids: readonly string[],
  profile: Profile,
  results: readonly ProcessResult[],
  out: (s: string) => void,
  host?: HostSummary,
): Promise<{ passed: boolean; complete: boolean }> {
  const columns = scriptTrendStats();
  const wanted = [...new Set([...columns, ...thresholdPercentiles(profile.thresholds)])];
  const { run, missingPoints, phases } = await mergeResults(dir, ids, wanted, Object.keys(profile.thresholds));
  // Samples of a connection phase or warm-up judged without their phases (--merge-only with --connect 0
  // --warmup 0, or a plan.json saying so) would let the fast 404s and the lightly loaded ramp into the verdict.
  const phasedKeys = Object.keys(profile.thresholds).some((k) => /[{,]\s*phase\s*:/.test(k));
  if (!phasedKeys && (phases.has('connect') || phases.has('warmup'))) {
    out(
      'these results hold connection-phase or warm-up samples (phase tags), but the thresholds would be judged without phases: give the --connect and --warmup the run had (or its plan.json)',
    );
    return { passed: false, complete: true };
  }
  const judgement = judge(profile.thresholds, run);
  out(formatReport(run, judgement, results, columns));
  if (missingPoints.length) out(`no raw samples (<id>.points.json[.gz]) for ${missingPoints.join(', ')}: their trends are missing from the merge`);
  if (host) for (const line of describeHost(host)) out(line);
  writeFileSync(
    join(dir, 'merged.json'),
    JSON.stringify(
      {
        processes: results,
        durationSeconds: run.durationSeconds,
        metrics: Object.fromEntries(run.metrics),
        verdicts: judgement.verdicts,
        passed: judgement.passed,
        ...(host ? { loadGenerator: host } : {}),
      },
      null,
      2,
    ),
  );
  out(judgement.passed ? 'result: PASS (every threshold on the merged totals)' : 'result: FAIL (a threshold on the merged totals failed)');
  return { passed: judgement.passed, complete: missingPoints.length === 0 };
}

/** The whole command; returns the exit code (0 pass, 1 threshold failed, 2 usage/setup, 3 k6 failed or interrupted). */
export async function runK6Suite(argv: readonly string[], out: (s: string) => void = console.log, err: (s: string) => void = console.error): Promise<number> {
  let args: RunnerArgs;
  try {
    args = parseRunnerArgs(argv);
  } catch (e) {
    err(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.help || !args.profile) {
    err(USAGE);
    return args.help ? 0 : 2;
  }
  let profile: Profile;
  try {
    // Judged as each k6 process judges them: without the connection phase's samples (lib/scale.js).
    profile = await judgedThresholds(loadProfile(args.profile), args);
  } catch (e) {
    err((e as Error).message);
    return 2;
  }
  if (args.mergeOnly) {
    // The phases the processes ran with decide which samples the thresholds judge: read them from the run's plan.
    const phases = readPlanPhases(args.mergeOnly);
    if (phases) profile = await judgedThresholds(loadProfile(args.profile), phases);
    if (!existsSync(args.mergeOnly) || !statSync(args.mergeOnly).isDirectory()) {
      err(`--merge-only ${args.mergeOnly}: no such directory`);
      return 2;
    }
    const ids = resultIds(args.mergeOnly);
    if (ids.length === 0) {
      err(`${args.mergeOnly}: no <id>.summary.json files`);
      return 2;
    }
    try {
      const r = await mergeAndJudge(args.mergeOnly, ids, profile, [], out);
      return r.passed ? 0 : 1;
    } catch (e) {
      err(`merge: ${(e as Error).message}`);
      return 2;
    }
  }
  const bin = args.k6;
  let version = '(not checked: --dry-run)';
  let plans: ProcessPlan[];
  let outDir: string;
  let where: Placement;
  let window: MeasuredWindow;
  try {
    if (!args.dryRun) version = await checkK6(bin);
    const identities = args.identities ? identitiesFromFile(args.identities) : identitiesFromKeys(args.keysDir, args.fsps);
    const totalRate = args.rate ?? profilePeakRate(profile);
    const name = basename(args.profile).replace(/\.json$/, '');
    outDir = resolve(args.out ?? join(ROOT, 'loadtest', '.results', `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}`));
    if (existsSync(outDir) && !statSync(outDir).isDirectory()) throw new Error(`--out ${outDir} is not a directory`);
    // Two runs in one directory would interleave their k6 outputs, and old results would be merged as new.
    const held = heldResults(
      outDir,
      identities.map((i) => i.fspId),
    );
    if (held.length)
      throw new Error(`--out ${outDir} already holds a run's results (${held.slice(0, 3).join(', ')}${held.length > 3 ? ', …' : ''}): give another directory`);
    mkdirSync(outDir, { recursive: true });
    out(
      `k6 run of profile ${name} → ${args.target.host}:${args.target.port}: ${totalRate}/s over ${identities.length} DFSP identities, one k6 process each [${version}]`,
    );
    let manifest: SplitManifest;
    if (args.data) {
      manifest = readSplitManifest(args.data);
      // A set that runs out leaves the end of the run at a lower rate (prepared_requests_exhausted): refuse it.
      const started = await requestsStarted(profile, { totalRate, durationSeconds: args.durationSeconds, warmupSeconds: args.warmupSeconds });
      if (!manifest.reusable && manifest.total < started)
        throw new Error(
          `${args.data} holds ${manifest.total} requests; this run starts ${started} (${args.warmupSeconds} s warm-up included): prepare at least that many (docs/performance/README.md §3)`,
        );
    } else {
      const t = performance.now();
      manifest = await prepareSplit(profile, args, identities, totalRate, join(outDir, 'data'));
      out(`signed ${manifest.total} requests in ${((performance.now() - t) / 1000).toFixed(1)} s; Date headers valid until ${manifest.validUntil}`);
    }
    if (Date.parse(manifest.validUntil) < Date.now())
      out('warning: the prepared set is older than its skew window: k6 setup() will refuse it (IGNORE_SET_VALIDITY=true after raising the gateway skew)');
    // Each process gets its own REST API (k6's default 127.0.0.1:6565 would be taken by the first one):
    // they start paused and are resumed together once all have loaded their data.
    const apiAddresses = await Promise.all(identities.map(async () => `127.0.0.1:${await freePort()}`));
    const profilePath = resolve(args.profile.endsWith('.json') ? args.profile : join(PROFILES_DIR, `${args.profile}.json`));
    plans = buildPlan({
      profilePath,
      identities,
      manifest,
      totalRate,
      durationSeconds: args.durationSeconds,
      connectSeconds: args.connectSeconds,
      warmupSeconds: args.warmupSeconds,
      target: args.target,
      serverName: args.serverName,
      verifyServer: args.verifyServer,
      outDir,
      script: SCRIPT,
      extraEnv: args.env,
      extraArgs: args.k6Args,
      apiAddresses,
    });
    where = placement(plans.length);
    window = measuredWindow(buildSchedules(profile, { rate: totalRate, durationSeconds: args.durationSeconds }), args);
    writeFileSync(
      join(outDir, 'plan.json'),
      JSON.stringify(
        {
          k6: version,
          totalRate,
          connectSeconds: args.connectSeconds,
          warmupSeconds: args.warmupSeconds,
          cpus: where.cpus,
          goMaxProcs: where.goMaxProcs,
          processes: plans,
        },
        null,
        2,
      ),
    );
  } catch (e) {
    err(e instanceof K6Missing ? e.message : `setup: ${(e as Error).message}`);
    return 2;
  }
  printPlan(out, plans, args, bin);
  out(describePlacement(where, plans.length));
  if (args.dryRun) return 0;
  out(`results and k6 logs in ${outDir}`);
  const monitor = new HostMonitor(where.usable);
  const results = await launchAll({
    bin,
    plans,
    stopAllOnThresholdAbort: hasAbortOnFail(profile.thresholds),
    env: k6Environment(where),
    log: (line) => err(line),
    heartbeatSeconds: 15,
    onStarted: (pids) => monitor.start(pids),
  });
  const host = summarise(monitor.stop(), window, where.usable, window.ratePerSecond);
  const failed = results.filter((r) => r.code !== 0 && r.code !== K6_THRESHOLDS_FAILED);
  const ids = plans.map((p) => p.fspId).filter((id) => resultIds(outDir).includes(id));
  const lost = plans.filter((p) => !ids.includes(p.fspId)).map((p) => p.fspId);
  if (lost.length) err(`no summary from ${lost.join(', ')}: see their logs in ${outDir}`);
  if (ids.length === 0) {
    // Nothing to merge (every process was stopped before writing its summary): still say how each ended.
    for (const line of processLines(results)) out(line);
    out(`incomplete run (no summary from any of the ${plans.length} k6 processes): nothing to merge`);
    return 3;
  }
  let r: { passed: boolean; complete: boolean };
  try {
    r = await mergeAndJudge(outDir, ids, profile, results, out, host);
  } catch (e) {
    for (const line of processLines(results)) out(line);
    out(`incomplete run (the k6 outputs in ${outDir} could not be merged: ${(e as Error).message})`);
    return 3;
  }
  if (failed.length || lost.length || !r.complete) {
    const why = [
      failed.length ? `${failed.length} of ${plans.length} k6 processes did not finish normally` : '',
      lost.length ? `no summary from ${lost.join(', ')}` : '',
      r.complete ? '' : 'raw samples missing',
    ].filter(Boolean);
    out(`incomplete run (${why.join('; ')}): the figures above are not the whole run`);
    return 3;
  }
  return r.passed ? 0 : 1;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runK6Suite(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(e instanceof Error ? (e.stack ?? e.message) : e);
      process.exit(2);
    },
  );
}
