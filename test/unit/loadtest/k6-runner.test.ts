// The multi-DFSP k6 runner (loadtest/k6-runner/): argument parsing, the rate split, the per-process
// scaling of index.js (loadtest/k6/lib/scale.js, loaded as k6 would run it), merging summaries and raw
// samples, the judgement on merged totals and the k6-style summary text.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { PreparedRequest, PreparedSet } from '../../../loadtest/driver/dataset.js';
import { loadProfile } from '../../../loadtest/driver/profile.js';
import { parseRunnerArgs, parseTarget } from '../../../loadtest/k6-runner/args.js';
import {
  allowedCpusFromStatus,
  describePlacement,
  formatCpuList,
  goMaxProcs,
  k6Environment,
  parseCpuList,
  placement,
} from '../../../loadtest/k6-runner/cpus.js';
import { formatK6Summary, humanBytes, humanDuration } from '../../../loadtest/k6-runner/format.js';
import { judge } from '../../../loadtest/k6-runner/judge.js';
import { checkK6, K6Missing, parseK6Version } from '../../../loadtest/k6-runner/k6.js';
import { profilePeakRate, readPlanPhases, requestsStarted, runK6Suite, scriptTrendStats } from '../../../loadtest/k6-runner/main.js';
import { type MergedRun, mergeResults } from '../../../loadtest/k6-runner/merge.js';
import { judgedThresholds, loadScaleModule } from '../../../loadtest/k6-runner/phases.js';
import { buildPlan, identitiesFromKeys, rateText, splitRate } from '../../../loadtest/k6-runner/plan.js';
import { percentile, Samples } from '../../../loadtest/k6-runner/points.js';
import { readSplitManifest, splitBySender, writeSplitSets } from '../../../loadtest/k6-runner/sets.js';
import { jsonOutputLines, type Sample, summaryExport } from '../../helpers/fake-k6.js';
import { makeEcPkiDir } from '../../helpers/pki.js';

const tmp = mkdtempSync(join(tmpdir(), 'sg-k6runner-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

// The k6 module itself (no k6 imports): the same code k6 runs in each process.
const scale = await loadScaleModule();

describe('arguments', () => {
  test('defaults, and every option parsed once', () => {
    const d = parseRunnerArgs(['--profile', 'smoke'], {});
    assert.equal(d.profile, 'smoke');
    assert.deepEqual(d.target, { host: '127.0.0.1', port: 8443 });
    assert.equal(d.fsps.length, 8);
    assert.equal(d.fsps[7], 'perffsp-8');
    assert.equal(d.k6, 'k6');
    assert.equal(d.rate, undefined);
    assert.equal(d.verifyServer, false);
    assert.equal(d.stepGapSeconds, 1);
    assert.equal(parseRunnerArgs(['--step-gap', '2.5']).stepGapSeconds, 2.5);
    assert.equal(d.connectSeconds, 5);
    assert.equal(d.warmupSeconds, 15);
    assert.equal(parseRunnerArgs(['--warmup', '0']).warmupSeconds, 0);
    assert.equal(parseRunnerArgs(['--connect', '0']).connectSeconds, 0);
    assert.equal(parseRunnerArgs(['--connect', '12']).connectSeconds, 12);
    const a = parseRunnerArgs(
      [
        '--profile=target-1000',
        '--target',
        'https://gw.example:9443',
        '--rate',
        '1000',
        '--duration',
        '30',
        '--fsps',
        'a, b,c',
        '--env',
        'ABORT_ON_ERROR=true',
        '--env',
        'X=1=2',
        '--k6-arg=--no-connection-reuse',
        '--verify-server',
        '--dry-run',
      ],
      { K6_BINARY: '/opt/k6' },
    );
    assert.deepEqual(a.target, { host: 'gw.example', port: 9443 });
    assert.equal(a.rate, 1000);
    assert.equal(a.durationSeconds, 30);
    assert.deepEqual(a.fsps, ['a', 'b', 'c']);
    assert.deepEqual(a.env, { ABORT_ON_ERROR: 'true', X: '1=2' });
    assert.deepEqual(a.k6Args, ['--no-connection-reuse']);
    assert.equal(a.k6, '/opt/k6');
    assert.equal(a.verifyServer, true);
    assert.equal(a.dryRun, true);
    assert.equal(parseRunnerArgs(['--k6', './k6'], { K6_BINARY: '/opt/k6' }).k6, './k6');
  });

  test('targets: host:port, [v6]:port, https URL; anything else is refused', () => {
    assert.deepEqual(parseTarget('10.0.0.5:8443'), { host: '10.0.0.5', port: 8443 });
    assert.deepEqual(parseTarget('[::1]:8443'), { host: '::1', port: 8443 });
    assert.deepEqual(parseTarget('https://gw'), { host: 'gw', port: 443 });
    assert.throws(() => parseTarget('http://gw:80'), /https/);
    assert.throws(() => parseTarget('gw:8443/quotes'), /host and port only/);
  });

  test('bad values stop with a message', () => {
    assert.equal(parseRunnerArgs(['--rate', '12.5']).rate, 12.5);
    assert.throws(() => parseRunnerArgs(['--rate', '0']), /--rate must be a positive number/);
    assert.throws(() => parseRunnerArgs(['--duration', 'ten']), /--duration/);
    assert.throws(() => parseRunnerArgs(['--fsps', 'a', '--identities', 'x.json']), /alternatives/);
    assert.throws(() => parseRunnerArgs(['--fsps', 'a,a']), /twice/);
    assert.throws(() => parseRunnerArgs(['--env', 'NOVALUE']), /K=V/);
    assert.throws(() => parseRunnerArgs(['--ilp-version', '3']), /1 or 4/);
    assert.throws(() => parseRunnerArgs(['--connect=-1']), /--connect must be a whole number of seconds/);
    assert.throws(() => parseRunnerArgs(['--warmup', '2.5']), /--warmup must be a whole number of seconds/);
    // The runner signs and judges for its own phases: a per-process override would desynchronise them.
    assert.throws(() => parseRunnerArgs(['--env', 'WARMUP_SECONDS=60']), /use --connect or --warmup/);
    assert.throws(() => parseRunnerArgs(['--env', 'CONNECT_SECONDS=0']), /use --connect or --warmup/);
    assert.throws(() => parseRunnerArgs(['--bogus']), /Unknown option/);
  });
});

describe('rate split', () => {
  const sum = (xs: readonly number[]) => xs.reduce((a, x) => a + x, 0);

  test('1000 req/s over 7 identities sums exactly, in thousandths of a request per second', () => {
    const shares = splitRate(1000, [1, 1, 1, 1, 1, 1, 1]);
    assert.equal(sum(shares), 1_000_000);
    assert.deepEqual(shares, [142858, 142857, 142857, 142857, 142857, 142857, 142857]);
    assert.deepEqual(shares.map(rateText), ['142.858', '142.857', '142.857', '142.857', '142.857', '142.857', '142.857']);
    assert.deepEqual(splitRate(1000, Array(8).fill(1)).map(rateText), Array(8).fill('125'));
  });

  test('weights are the requests each identity sends; largest remainders get the spare units', () => {
    const shares = splitRate(1000, [8126, 8125, 8125, 8124, 8125, 8125, 8125, 8125]);
    assert.equal(sum(shares), 1_000_000);
    assert.ok(shares[0]! > shares[1]! && shares[1]! > shares[3]!, String(shares));
    assert.deepEqual(splitRate(50, [300, 100, 100]), [30000, 10000, 10000]);
    assert.deepEqual(splitRate(7, [1, 1, 1]), [2334, 2333, 2333]);
    assert.deepEqual(splitRate(50, Array(8).fill(1)).map(rateText), Array(8).fill('6.25'));
    for (let n = 1; n <= 40; n++) {
      const w = Array.from({ length: n }, (_, i) => 1000 + ((i * 37) % 11));
      assert.equal(sum(splitRate(1000, w)), 1_000_000, `n=${n}`);
      assert.equal(sum(splitRate(33.333, w)), 33_333, `n=${n}`);
    }
  });

  test('a share of zero, or more than 3 decimals, is refused', () => {
    assert.throws(() => splitRate(0.002, [1, 1, 1]), /identity 3 of 3 no requests/);
    assert.throws(() => splitRate(12.3456, [1, 1]), /at most 3 decimals/);
    assert.throws(() => splitRate(0, [1]), /positive/);
    assert.throws(() => splitRate(10, [1, 0]), /positive weight/);
  });

  test("index.js turns a process's RATE into k6's integer rate per timeUnit, exactly", () => {
    const p = loadProfile('target-1000');
    const at = (rate: number) => scale.scaleScenarios(p.scenarios as Record<string, unknown>, rate, 0).quoteTransfer as Record<string, unknown>;
    assert.deepEqual([at(125).rate, at(125).timeUnit], [125, '1s']);
    assert.deepEqual([at(142.857).rate, at(142.857).timeUnit], [142857, '1000s']);
    assert.deepEqual([at(6.25).rate, at(6.25).timeUnit], [25, '4s']);
  });

  test("index.js scales a constant profile to the process's RATE and its VUs in proportion", () => {
    const p = loadProfile('target-1000');
    const s = scale.scaleScenarios(p.scenarios as Record<string, unknown>, 142.857, 0).quoteTransfer as Record<string, unknown>;
    assert.equal((s.rate as number) / Number.parseFloat(s.timeUnit as string), 142.857);
    assert.equal(s.duration, '60s');
    assert.equal(s.preAllocatedVUs, Math.ceil(400 * 0.142857));
    assert.equal(s.maxVUs, Math.ceil(400 * 0.142857));
    assert.equal(s.exec, 'quoteTransfer');
    const same = scale.scaleScenarios(p.scenarios as Record<string, unknown>, 0, 0);
    assert.deepEqual(same, p.scenarios);
    assert.equal((scale.scaleScenarios(p.scenarios as Record<string, unknown>, 0, 20).quoteTransfer as Record<string, unknown>).duration, '20s');
  });

  test('a ramp split over 7 processes adds up to the profile at every stage, exactly', () => {
    const p = loadProfile('breakpoint');
    const [name, ramp] = Object.entries(p.scenarios)[0] as [string, Record<string, any>];
    const peak = scale.peakPerSecond(ramp);
    const shares = splitRate(peak, [1, 1, 1, 1, 1, 1, 1]);
    const parts = shares.map((r) => scale.scaleScenarios({ [name]: ramp }, r / 1000, 0)[name] as Record<string, any>);
    const perSecond = (s: Record<string, any>, v: number) => (v * 1000) / (Number.parseFloat(s.timeUnit) * 1000);
    for (const part of parts) for (const st of part.stages) assert.ok(Number.isInteger(st.target), 'k6 needs integer targets');
    const unit = ramp.timeUnit ? Number.parseFloat(ramp.timeUnit) : 1;
    const total = (pick: (s: Record<string, any>) => number) => parts.reduce((a, s) => a + perSecond(s, pick(s)), 0);
    assert.ok(Math.abs(total((s) => s.startRate) - ramp.startRate / unit) < 1e-9);
    ramp.stages.forEach((st: { target: number; duration: string }, i: number) => {
      assert.ok(Math.abs(total((s) => s.stages[i].target) - st.target / unit) < 1e-9, `stage ${i}`);
      for (const part of parts) assert.equal(part.stages[i].duration, st.duration);
    });
  });

  test("the runner's profile rate is the scripts' peak, for every profile", () => {
    for (const name of ['smoke', 'target-1000', 'bad-signatures', 'breakpoint', 'breakpoint-journey', 'soak']) {
      const p = loadProfile(name);
      const js = Object.values(p.scenarios).reduce((a, s) => a + scale.peakPerSecond(s), 0);
      assert.equal(profilePeakRate(p), js, name);
    }
  });
});

const req = (fsp: string, destination: string, kind: PreparedRequest['kind'], i: number): PreparedRequest => ({
  kind,
  method: kind.startsWith('post') ? 'POST' : 'PUT',
  path: `/x/${i}`,
  fsp,
  destination,
  headers: {},
  body: `{"i":${i}}`,
  expectStatus: 202,
});

describe('per-DFSP sets and the plan', () => {
  const set: PreparedSet = {
    version: 1,
    createdAt: '2026-11-29T10:00:00.000Z',
    validUntil: '2026-11-29T10:05:00.000Z',
    skewSeconds: 300,
    reusable: false,
    fsps: ['a', 'b', 'c'],
    ilpVersion: '1',
    badShare: 0,
    requests: [
      req('a', 'b', 'postQuotes', 0),
      req('b', 'a', 'putQuotes', 1),
      req('a', 'c', 'postQuotes', 2),
      req('c', 'a', 'putQuotes', 3),
      req('a', 'b', 'postTransfers', 4),
    ],
  };

  test('the set is cut by sender, each part in the set order, with its peers and weight', () => {
    const parts = splitBySender(set);
    assert.deepEqual(
      parts.get('a')?.requests.map((r) => r.path),
      ['/x/0', '/x/2', '/x/4'],
    );
    const dir = join(tmp, 'split');
    const m = writeSplitSets(set, dir);
    assert.deepEqual(m.senders.a, { file: 'a.json', requests: 3, peers: ['b', 'c'] });
    const read = readSplitManifest(dir);
    assert.equal(read.senders.c?.file, join(dir, 'c.json'));
    assert.equal(read.total, 5);
    assert.throws(() => readSplitManifest(join(tmp, 'nowhere')), /--split-dir/);
  });

  test('a set made beforehand that this run would use up is refused before k6 starts', async () => {
    const keys = makeEcPkiDir(['a', 'b', 'c']);
    const errors: string[] = [];
    try {
      const code = await runK6Suite(
        ['--profile', 'smoke', '--fsps', 'a,b,c', '--keys', keys, '--data', join(tmp, 'split'), '--dry-run', '--out', join(tmp, 'small')],
        () => {},
        (e) => errors.push(e),
      );
      assert.equal(code, 2);
      // smoke: 50/s for 3 s and a 15-s ramp to 50/s = 150 + 375 requests.
      assert.match(errors.join('\n'), /holds 5 requests; this run starts 525 \(15 s warm-up included\)/);
    } finally {
      rmSync(keys, { recursive: true, force: true });
    }
  });

  test('the requests a run starts: the held rate for the duration, plus the ramp', async () => {
    const p = loadProfile('target-1000');
    assert.equal(await requestsStarted(p, { totalRate: 1000, warmupSeconds: 15 }), 60_000 + 7_500);
    assert.equal(await requestsStarted(p, { totalRate: 700, durationSeconds: 30, warmupSeconds: 0 }), 21_000);
  });

  test('one process per identity: its own certificate, data, peers and rate share in -e, results per id', () => {
    const keys = makeEcPkiDir(['a', 'b', 'c']);
    try {
      const ids = identitiesFromKeys(keys, ['a', 'b', 'c']);
      const manifest = readSplitManifest(join(tmp, 'split'));
      const plans = buildPlan({
        profilePath: '/p/target-1000.json',
        identities: ids,
        manifest,
        totalRate: 100,
        target: { host: '10.0.0.5', port: 8443 },
        verifyServer: false,
        outDir: '/out',
        script: '/repo/loadtest/k6/index.js',
        extraEnv: { ABORT_ON_ERROR: 'true' },
        extraArgs: ['--no-connection-reuse'],
        connectSeconds: 7,
        warmupSeconds: 9,
      });
      assert.deepEqual(
        plans.map((p) => p.rate),
        ['60', '20', '20'],
      );
      const a = plans[0]!;
      assert.equal(a.env.FSP_ID, 'a');
      assert.equal(a.env.CERT_FILE, join(keys, 'clients', 'a.pem'));
      assert.equal(a.env.KEY_FILE, join(keys, 'clients', 'a.key'));
      assert.equal(a.env.DATA_FILE, join(tmp, 'split', 'a.json'));
      assert.equal(a.env.PEERS, 'b,c');
      assert.equal(a.env.RATE, '60');
      assert.equal(a.env.ABORT_ON_ERROR, 'true');
      assert.equal(a.env.CONNECT_SECONDS, '7');
      assert.equal(a.env.WARMUP_SECONDS, '9');
      assert.deepEqual(a.args.slice(0, 6), ['run', '--quiet', '--summary-export', '/out/a.summary.json', '--out', 'json=/out/a.points.json.gz']);
      assert.ok(a.args.includes('FSP_ID=a'));
      assert.equal(a.args.at(-2), '--no-connection-reuse');
      assert.equal(a.args.at(-1), '/repo/loadtest/k6/index.js');
      assert.throws(
        () =>
          buildPlan({
            profilePath: '',
            identities: ids.slice(0, 2),
            manifest,
            totalRate: 10,
            target: { host: 'h', port: 1 },
            verifyServer: false,
            outDir: '/o',
            script: 's',
            connectSeconds: 0,
            warmupSeconds: 0,
          }),
        /sent by c, which no identity speaks for/,
      );
      assert.throws(() => identitiesFromKeys(keys, ['a', 'zz']), /zz: .*does not exist/);
    } finally {
      rmSync(keys, { recursive: true, force: true });
    }
  });
});

/** Writes one fake process's results (summary export + raw samples) in k6's formats. */
function writeProcess(dir: string, id: string, durations: readonly number[], opts: { failed?: number; seconds?: number; drop?: number } = {}): void {
  const samples: Sample[] = [];
  const checks = new Map([['OK', { passes: 0, fails: 0 }]]);
  durations.forEach((ms, i) => {
    const failed = i < (opts.failed ?? 0);
    const tags = { expected_response: String(!failed), status: failed ? '500' : '202', fspId: id };
    samples.push(
      { metric: 'http_reqs', value: 1, tags },
      { metric: 'http_req_duration', value: ms, tags },
      { metric: 'http_req_failed', value: failed ? 1 : 0, tags },
      { metric: 'data_sent', value: 1000, tags },
      { metric: 'vus', value: 2, tags: {} },
      { metric: 'checks', value: failed ? 0 : 1, tags: { check: 'OK' } },
    );
    const c = checks.get('OK')!;
    if (failed) c.fails++;
    else c.passes++;
  });
  if (opts.drop) samples.push({ metric: 'dropped_iterations', value: opts.drop, tags: {} });
  writeFileSync(join(dir, `${id}.summary.json`), JSON.stringify(summaryExport(samples, opts.seconds ?? 10, checks, { http_req_duration: ['p(95)<1'] })));
  writeFileSync(join(dir, `${id}.points.json.gz`), gzipSync(jsonOutputLines(samples)));
}

describe('the connection phase (CONNECT_SECONDS)', () => {
  test('every VU the measured scenarios start with connects first; the measured scenarios start after it', () => {
    const p = loadProfile('target-1000');
    const scaled = scale.scaleScenarios(p.scenarios as Record<string, unknown>, 125, 0);
    const s = scale.withConnectPhase(scaled, 5);
    const c = s[scale.CONNECT_SCENARIO]!;
    assert.deepEqual(
      { executor: c.executor, exec: c.exec, vus: c.vus, iterations: c.iterations, maxDuration: c.maxDuration, tags: c.tags },
      { executor: 'per-vu-iterations', exec: 'connect', vus: 50, iterations: 1, maxDuration: '5s', tags: { phase: 'connect' } },
    );
    assert.equal(s.quoteTransfer!.startTime, '5000ms');
    assert.deepEqual(s.quoteTransfer!.tags, { phase: 'run' });
    assert.equal(s.quoteTransfer!.rate, scaled.quoteTransfer!.rate);
    // Two scenarios starting together: the phase connects both pools; a later start is shifted, not replaced.
    const two = scale.withConnectPhase({ a: { preAllocatedVUs: 3, startTime: '10s', tags: { x: 'y' } }, b: { vus: 4 } }, 2);
    assert.equal(two[scale.CONNECT_SCENARIO]!.vus, 7);
    assert.equal(two.a!.startTime, '12000ms');
    assert.deepEqual(two.a!.tags, { x: 'y', phase: 'run' });
    assert.deepEqual(scale.withConnectPhase(scaled, 0), scaled);
    assert.throws(() => scale.withConnectPhase({ connect: { vus: 1 } }, 5), /named connect/);
  });

  test('thresholds leave the phase out of HTTP and iteration metrics only; dropped_iterations keeps its key', () => {
    const t = {
      http_req_duration: ['p(95)<50'],
      'http_req_duration{request:postQuotes}': ['p(99)<80'],
      'http_req_failed{phase:connect}': ['rate<1'],
      http_reqs: ['count>0'],
      iterations: ['count>0'],
      dropped_iterations: ['count==0'],
      checks: ['rate>0.99'],
      fspiop_errors: ['count<1'],
    };
    assert.deepEqual(Object.keys(scale.runThresholds(t, 5)), [
      'http_req_duration{phase:run}',
      'http_req_duration{request:postQuotes,phase:run}',
      'http_req_failed{phase:connect}',
      'http_reqs{phase:run}',
      'iterations{phase:run}',
      // Executors emit dropped_iterations without the scenario's tags: {phase:run} would never match and
      // count==0 would pass on nothing.
      'dropped_iterations',
      'checks',
      'fspiop_errors',
    ]);
    assert.deepEqual(scale.runThresholds(t, 5)['http_req_duration{phase:run}'], ['p(95)<50']);
    assert.equal(scale.runThresholds(t, 0), t);
  });

  test('the runner judges the keys each k6 process judges', async () => {
    const judged = await judgedThresholds(loadProfile('target-1000'), { connectSeconds: 5, warmupSeconds: 0 });
    assert.deepEqual(Object.keys(judged.thresholds), [
      'http_req_failed{phase:run}',
      'http_req_duration{phase:run}',
      'dropped_iterations',
      // Every run also fails when a process ran out of prepared requests (lib/scale.js judgedThresholds).
      'prepared_requests_exhausted',
    ]);
    assert.deepEqual(judged.thresholds.prepared_requests_exhausted, ['count==0']);
    assert.deepEqual(Object.keys((await judgedThresholds(loadProfile('target-1000'), { connectSeconds: 0, warmupSeconds: 15 })).thresholds), [
      'http_req_failed{phase:run}',
      'http_req_duration{phase:run}',
      'dropped_iterations',
      'prepared_requests_exhausted',
    ]);
    assert.deepEqual(Object.keys((await judgedThresholds(loadProfile('target-1000'), { connectSeconds: 0, warmupSeconds: 0 })).thresholds), [
      'http_req_failed',
      'http_req_duration',
      'dropped_iterations',
      'prepared_requests_exhausted',
    ]);
    // --merge-only judges with the phases the run recorded in its plan.
    const dir = join(tmp, 'planned');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'plan.json'), JSON.stringify({ connectSeconds: 5, warmupSeconds: 15, processes: [] }));
    assert.deepEqual(readPlanPhases(dir), { connectSeconds: 5, warmupSeconds: 15 });
    writeFileSync(join(dir, 'plan.json'), JSON.stringify({ processes: [] }));
    assert.equal(readPlanPhases(dir), undefined);
    assert.equal(readPlanPhases(join(tmp, 'no-such-dir')), undefined);
  });

  test('the warm-up ramps a constant scenario up to its rate, then holds it for the whole duration', () => {
    const scaled = scale.scaleScenarios(loadProfile('target-1000').scenarios as Record<string, unknown>, 125, 0);
    const w = scale.withWarmup(scaled, 15).quoteTransfer!;
    assert.equal(w.executor, 'ramping-arrival-rate');
    assert.equal(w.startRate, 0);
    assert.deepEqual(w.stages, [
      { duration: '15s', target: scaled.quoteTransfer!.rate },
      { duration: '60s', target: scaled.quoteTransfer!.rate },
    ]);
    assert.equal(w.timeUnit, scaled.quoteTransfer!.timeUnit);
    assert.equal(w.rate, undefined);
    assert.equal(w.duration, undefined);
    assert.deepEqual(w.env, { WARMUP_MS: '15000' });
    assert.equal(w.exec, 'quoteTransfer');
    // A ramp is already gentle: left alone; no warm-up leaves everything as it was.
    const ramp = { executor: 'ramping-arrival-rate', stages: [{ duration: '10s', target: 5 }] };
    assert.equal(scale.withWarmup({ r: ramp }, 15).r, ramp);
    assert.deepEqual(scale.withWarmup(scaled, 0), scaled);
    // The set the runner signs covers the ramp: its area, rate × seconds / 2.
    assert.equal(scale.warmupRequests(1000, 15), 7500);
    assert.equal(scale.warmupRequests(125.5, 3), 189);
    assert.equal(scale.warmupRequests(1000, 0), 0);
  });
});

describe('merging the processes', () => {
  const COLUMNS = ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'];
  const dir = mkdtempSync(join(tmp, 'merge-'));
  // 1..1000 ms dealt unevenly over three processes: p is known exactly over all of them together.
  const all = Array.from({ length: 1000 }, (_, i) => i + 1);
  const parts = [all.filter((v) => v % 10 < 6), all.filter((v) => v % 10 >= 6 && v % 10 < 9), all.filter((v) => v % 10 === 9).map((v) => v * 3)];
  writeProcess(dir, 'a', parts[0]!, { failed: 6, seconds: 10 });
  writeProcess(dir, 'b', parts[1]!, { seconds: 10.5, drop: 4 });
  writeProcess(dir, 'c', parts[2]!, { failed: 1, seconds: 9.8 });
  let run: MergedRun;

  test('counters add up, rates are weighted by their samples, gauges add up, checks by name', async () => {
    ({ run } = await mergeResults(dir, ['a', 'b', 'c'], COLUMNS));
    assert.deepEqual(run.processes, ['a', 'b', 'c']);
    assert.equal(run.durationSeconds, 10.5);
    const v = (k: string) => run.metrics.get(k)?.values;
    assert.equal(v('http_reqs')?.count, 1000);
    assert.ok(Math.abs((v('http_reqs')?.rate as number) - 1000 / 10.5) < 1e-9);
    assert.equal(v('data_sent')?.count, 1_000_000);
    assert.equal(run.metrics.get('data_sent')?.contains, 'data');
    assert.equal(v('dropped_iterations')?.count, 4);
    // 7 failed of 1000: the weighted rate, not the mean of 6/600, 0/300 and 1/100.
    assert.deepEqual(v('http_req_failed'), { rate: 7 / 1000, passes: 7, fails: 993 });
    assert.deepEqual(v('vus'), { value: 6, min: 6, max: 6 });
    assert.deepEqual(run.rootGroup.checks, [{ name: 'OK', passes: 993, fails: 7 }]);
  });

  test('percentiles come from every raw sample, as one k6 process would compute them', () => {
    const d = run.metrics.get('http_req_duration')?.values as Record<string, number>;
    const reference = [...parts[0]!, ...parts[1]!, ...parts[2]!].sort((x, y) => x - y);
    // k6: rank p·(n−1), linear between neighbours (metrics/sink.go).
    const at = (p: number) => {
      const i = p * (reference.length - 1);
      return reference[Math.floor(i)]! + (reference[Math.ceil(i)]! - reference[Math.floor(i)]!) * (i - Math.floor(i));
    };
    assert.equal(d.count, 1000);
    for (const [col, p] of [
      ['med', 0.5],
      ['p(90)', 0.9],
      ['p(95)', 0.95],
      ['p(99)', 0.99],
    ] as const) {
      assert.ok(Math.abs((d[col] as number) - at(p)) < 1e-9, `${col}: ${d[col]} vs ${at(p)}`);
    }
    assert.equal(d.min, 1);
    assert.equal(d.max, 2997);
    assert.ok(Math.abs((d.avg as number) - reference.reduce((a, x) => a + x, 0) / 1000) < 1e-9);
    // What merging the summaries would have given instead: neither the mean nor the max of the p(95)s.
    const own = ['a', 'b', 'c'].map((id) => {
      const s = parts[['a', 'b', 'c'].indexOf(id)]!;
      const sorted = Float64Array.from(s).sort();
      return percentile(sorted, 95);
    });
    assert.notEqual(own.reduce((a, x) => a + x, 0) / 3, d['p(95)']);
    assert.notEqual(Math.max(...own), d['p(95)']);
  });

  test('sub-metrics are filtered by the tags of the raw samples', () => {
    const ok = run.metrics.get('http_req_duration{expected_response:true}')?.values as Record<string, number>;
    assert.equal(ok.count, 993);
    // a's failures were 1..5 and 10, c's was 27: the smallest successful duration is b's 6.
    assert.equal(ok.min, 6);
  });

  test('thresholds judged on the merged totals: pass and fail, and no data fails', () => {
    const pass = judge({ http_req_failed: ['rate<0.01'], http_req_duration: ['p(95)<2500', 'max<3000'], fspiop_errors: ['count==0'] }, run);
    assert.equal(pass.passed, true, JSON.stringify(pass.verdicts));
    // Every process's own p(95) is below 2500, and so is the merged one; p(99) is not.
    const fail = judge({ http_req_failed: ['rate<0.005'], 'http_req_duration{expected_response:true}': ['p(99)<2500'], dropped_iterations: ['count==0'] }, run);
    assert.equal(fail.passed, false);
    assert.deepEqual(
      fail.verdicts.map((v) => v.ok),
      [false, false, false],
    );
    assert.equal(fail.verdicts[2]?.actual, 4);
    assert.equal(fail.okByKey.get('http_req_failed'), false);
    const empty = judge({ iteration_duration: ['p(95)<100'], http_req_failed: ['rate<0.01'] }, { ...run, metrics: new Map() });
    assert.deepEqual(
      empty.verdicts.map((v) => [v.ok, v.note]),
      [
        [false, 'no data'],
        [false, 'no data'],
      ],
    );
  });

  test('a rate sub-metric that matched no sample is no data, never a passing 0 %', async () => {
    // k6 exports a threshold's sub-metric even when no sample matched it (all of them were warm-up, say).
    const dir = join(tmp, 'empty-rate');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'x.summary.json'),
      JSON.stringify({
        root_group: { name: '', checks: {}, groups: {} },
        metrics: { 'http_req_failed{phase:run}': { value: 0, passes: 0, fails: 0 }, http_reqs: { count: 10, rate: 1 } },
      }),
    );
    const { run: merged } = await mergeResults(dir, ['x'], ['p(95)']);
    const verdict = judge({ 'http_req_failed{phase:run}': ['rate<0.01'] }, merged);
    assert.equal(verdict.passed, false);
    assert.equal(verdict.verdicts[0]?.actual, undefined);
  });

  test('the merged figures are printed in the layout of k6 end-of-test summary', () => {
    const ok = judge({ http_req_failed: ['rate<0.01'], http_req_duration: ['p(95)<1'] }, run);
    const text = formatK6Summary(run.rootGroup, [...run.metrics.values()], COLUMNS, ok.okByKey);
    const lines = text.split('\n');
    assert.equal(lines[0], '     ✗ OK');
    assert.equal(lines[1], '      ↳  99% — ✓ 993 / ✗ 7');
    const find = (name: string) => lines.find((l) => l.includes(` ${name}.`)) ?? '';
    assert.match(find('http_reqs'), /^ {5}http_reqs\.+: 1000 +95\.238095\/s$/);
    assert.match(find('data_sent'), /^ {5}data_sent\.+: 1\.0 MB +95 kB\/s$/);
    assert.match(find('http_req_failed'), /^ {3}✓ http_req_failed\.+: 0\.70% +✓ 7 +✗ 993$/);
    assert.match(find('http_req_duration'), /^ {3}✗ http_req_duration\.+: avg=\S+ +min=1ms +med=\S+ +p\(90\)=\S+ +p\(95\)=\S+ +p\(99\)=\S+ +max=2\.99s$/);
    assert.match(text, /\n {7}\{ expected_response:true \}\.+: avg=/);
    // One column for every value: the colons line up.
    const colons = lines.filter((l) => l.startsWith('   ') && l.includes('..')).map((l) => l.indexOf('.:'));
    assert.equal(new Set(colons).size, 1);
  });

  test('durations and bytes are humanised like k6', () => {
    assert.equal(humanDuration(0), '0s');
    assert.equal(humanDuration(0.0005), '500ns');
    assert.equal(humanDuration(0.35), '350µs');
    // Truncated, not rounded.
    assert.equal(humanDuration(0.351299), '351.29µs');
    assert.equal(humanDuration(1.23456), '1.23ms');
    assert.equal(humanDuration(12.999), '12.99ms');
    assert.equal(humanDuration(1500), '1.5s');
    assert.equal(humanDuration(62_000), '1m2s');
    assert.equal(humanDuration(3_723_000), '1h2m3s');
    assert.equal(humanBytes(9), '9 B');
    assert.equal(humanBytes(1500), '1.5 kB');
    assert.equal(humanBytes(44_000), '44 kB');
    assert.equal(humanBytes(2_500_000), '2.5 MB');
  });

  test('samples keep growing past their first buffer', () => {
    const s = new Samples();
    for (let i = 5000; i > 0; i--) s.push(i);
    assert.equal(s.length, 5000);
    assert.equal(percentile(s.sorted(), 50), 2500.5);
  });
});

describe('finding k6', () => {
  test('versions: v0.48 and later pass, older or missing k6 says how to get it', async () => {
    assert.deepEqual(parseK6Version('k6 v0.48.0 (go1.19.8, linux/amd64)'), [0, 48, 0]);
    assert.deepEqual(parseK6Version('k6 v1.3.0 (commit/abc, go1.24.4, linux/amd64)'), [1, 3, 0]);
    assert.equal(parseK6Version('command not found'), undefined);
    await assert.rejects(
      checkK6(join(tmp, 'no-such-k6')),
      (e: unknown) => e instanceof K6Missing && /not found[\s\S]*grafana\/k6\/releases[\s\S]*--k6 PATH/.test(e.message),
    );
    const old = join(tmp, 'old-k6');
    writeFileSync(old, '#!/bin/sh\necho "k6 v0.45.1 (go1.20.8, linux/amd64)"\n', { mode: 0o755 });
    await assert.rejects(checkK6(old), /v0\.45\.1[\s\S]*need k6 v0\.48\.0 or later/);
    const ok = join(tmp, 'ok-k6');
    writeFileSync(ok, '#!/bin/sh\necho "k6 v0.48.0 (go1.19.8, linux/amd64)"\n', { mode: 0o755 });
    assert.match(await checkK6(ok), /v0\.48\.0/);
  });

  test("the summary columns are index.js's summaryTrendStats", () => {
    assert.deepEqual(scriptTrendStats(), ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max']);
  });
});

describe('where the k6 processes run', () => {
  test('CPU lists as Linux writes them: ranges, singles, round trip', () => {
    assert.deepEqual(parseCpuList('0-3,8,10-11'), [0, 1, 2, 3, 8, 10, 11]);
    assert.deepEqual(parseCpuList(' 1 '), [1]);
    assert.deepEqual(parseCpuList('3,1,1-2'), [1, 2, 3]);
    assert.equal(formatCpuList([0, 1, 2, 3, 8, 10, 11]), '0-3,8,10-11');
    assert.equal(formatCpuList([5]), '5');
    for (const bad of ['', '1-', 'a', '3-1', '1,,2', '-1']) assert.throws(() => parseCpuList(bad), /not a CPU list/, bad);
  });

  test('the allowed CPUs come from Cpus_allowed_list, not the hexadecimal mask beside it', () => {
    const status = 'Name:\tnode\nCpus_allowed:\tf\nCpus_allowed_list:\t0-1,3\nMems_allowed_list:\t0\n';
    assert.deepEqual(allowedCpusFromStatus(status), [0, 1, 3]);
    assert.equal(allowedCpusFromStatus('Name:\tnode\n'), undefined);
  });

  test("GOMAXPROCS: an equal share of the usable CPUs, at least 1; an operator's valid value is passed on untouched, one Go would ignore is replaced", () => {
    assert.equal(goMaxProcs(2, 8), 1);
    assert.equal(goMaxProcs(16, 8), 2);
    assert.equal(goMaxProcs(17, 8), 2);
    assert.equal(goMaxProcs(1, 1), 1);
    const set = placement(8, { GOMAXPROCS: '4' });
    assert.deepEqual([set.goMaxProcs, set.fromOperator, set.ignored], ['4', true, undefined]);
    assert.equal(k6Environment(set, { GOMAXPROCS: '4', A: 'b' }).GOMAXPROCS, '4');
    const ours = placement(8, {});
    assert.deepEqual([ours.fromOperator, ours.ignored], [false, undefined]);
    assert.deepEqual(k6Environment(ours, { A: 'b' }), { A: 'b', GOMAXPROCS: ours.goMaxProcs });
    // Go takes only a positive decimal integer; anything else means one thread per CPU, what the share avoids.
    for (const bad of ['0', '-2', 'two', '1.5', ' 2', '0x4']) {
      const p = placement(8, { GOMAXPROCS: bad });
      assert.deepEqual([p.fromOperator, p.ignored, p.goMaxProcs], [false, bad, ours.goMaxProcs], bad);
      assert.equal(k6Environment(p, { GOMAXPROCS: bad }).GOMAXPROCS, ours.goMaxProcs, bad);
      assert.match(
        describePlacement(p, 8),
        new RegExp(`your GOMAXPROCS=${JSON.stringify(bad).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not a positive integer, which Go ignores: replaced`),
        bad,
      );
    }
    assert.equal(placement(8, { GOMAXPROCS: '' }).ignored, undefined);
  });

  test('the line the operator reads: which CPUs of how many, and a hint whenever k6 may use more than one', () => {
    const base = { machineCpus: 2, goMaxProcs: '1', fromOperator: false, ignored: undefined };
    assert.equal(describePlacement({ ...base, cpus: '1', usable: 1 }, 8), '8 k6 processes on CPUs 1 (1 of 2), GOMAXPROCS=1 each');
    assert.match(
      describePlacement({ ...base, cpus: '0-1', usable: 2 }, 8),
      /^8 k6 processes on CPUs 0-1 \(2 of 2\), GOMAXPROCS=1 each; if the gateway runs on these CPUs too, give k6 CPUs of its own with taskset/,
    );
    // A container given 2 of a host's 64 CPUs shares them with whatever else runs in it: the hint too.
    assert.match(
      describePlacement({ ...base, machineCpus: 64, cpus: '10-11', usable: 2 }, 8),
      /on CPUs 10-11 \(2 of 64\).*if the gateway runs on these CPUs too/,
    );
    assert.equal(
      describePlacement({ cpus: undefined, usable: 1, machineCpus: 4, goMaxProcs: '2', fromOperator: true, ignored: undefined }, 2),
      '2 k6 processes on any CPU, GOMAXPROCS=2 each (set by you)',
    );
  });
});

describe('results directories', () => {
  test("a directory that already holds a run's k6 outputs is refused before anything is signed or started", async () => {
    const keys = makeEcPkiDir(['a', 'b']);
    const out = mkdtempSync(join(tmp, 'held-'));
    writeFileSync(join(out, 'a.log'), 'an earlier run\n');
    const errors: string[] = [];
    try {
      const code = await runK6Suite(
        ['--profile', 'smoke', '--fsps', 'a,b', '--keys', keys, '--dry-run', '--out', out],
        () => {},
        (e) => errors.push(e),
      );
      assert.equal(code, 2);
      assert.match(errors.join('\n'), /already holds a run's results \(a\.log\): give another directory/);
      assert.deepEqual(readdirSync(out), ['a.log']);
      // Files that are not these identities' k6 outputs (an operator's tee of the runner, an earlier plan) do not count.
      const own = mkdtempSync(join(tmp, 'own-'));
      writeFileSync(join(own, 'runner.log'), '');
      writeFileSync(join(own, 'plan.json'), '{}');
      writeFileSync(join(own, 'c.summary.json'), '{}');
      const lines: string[] = [];
      const ok = await runK6Suite(
        ['--profile', 'smoke', '--fsps', 'a,b', '--keys', keys, '--dry-run', '--out', own],
        (l) => lines.push(l),
        (e) => lines.push(e),
      );
      assert.equal(ok, 0, lines.join('\n'));
      // An --out that is a file, and a --merge-only directory that does not exist, are named as such.
      const file = join(own, 'runner.log');
      errors.length = 0;
      assert.equal(
        await runK6Suite(
          ['--profile', 'smoke', '--fsps', 'a,b', '--keys', keys, '--dry-run', '--out', file],
          () => {},
          (e) => errors.push(e),
        ),
        2,
      );
      assert.match(errors.join('\n'), /--out \S+runner\.log is not a directory/);
      errors.length = 0;
      assert.equal(
        await runK6Suite(
          ['--profile', 'smoke', '--merge-only', join(tmp, 'nowhere-at-all')],
          () => {},
          (e) => errors.push(e),
        ),
        2,
      );
      assert.match(errors.join('\n'), /^--merge-only \S+nowhere-at-all: no such directory$/);
    } finally {
      rmSync(keys, { recursive: true, force: true });
    }
  });

  test('outputs that cannot be merged (interleaved raw samples) end in one clear line, not a stack trace', async () => {
    const dir = mkdtempSync(join(tmp, 'bad-points-'));
    writeProcess(dir, 'a', [1, 2, 3]);
    // What two k6 processes writing one file leave: a trend sample cut short by the other's next line.
    const good = jsonOutputLines([{ metric: 'http_req_duration', value: 1, tags: {} }]);
    const cut = '{"metric":"http_req_duration","type":"Point","data":{"time":"2026-11-30T16:5{"type":"Metric"}\n';
    writeFileSync(join(dir, 'a.points.json.gz'), gzipSync(good + cut));
    const errors: string[] = [];
    const code = await runK6Suite(
      ['--profile', 'smoke', '--merge-only', dir],
      () => {},
      (e) => errors.push(e),
    );
    assert.equal(code, 2);
    assert.match(errors.join('\n'), /^merge: .*a\.points\.json\.gz: not k6 JSON output/);
  });
});
