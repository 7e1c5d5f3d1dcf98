// `npm run loadtest:k6` end to end with a fake k6 first on PATH (test/helpers/fake-k6.ts: k6's CLI flags
// and output formats, no network): the runner signs a set for three DFSP identities, starts one k6 per
// identity with its own certificate, data and share of the rate, waits, merges and judges.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { formatCpuList, ownCpus } from '../../../loadtest/k6-runner/cpus.js';
import { CONNECT_MS } from '../../helpers/fake-k6.js';
import { makeEcPkiDir } from '../../helpers/pki.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../../..');
const FSPS = ['perffsp-1', 'perffsp-2', 'perffsp-3'];

interface Recorded {
  argv: string[];
  env: Record<string, string>;
  startedAt: number;
  goMaxProcs: string | null;
  cpus: string | null;
}

function runRunner(
  args: readonly string[],
  env: Record<string, string>,
  wrap: readonly string[] = [],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const command = [...wrap, process.execPath, '--import', 'tsx', join(ROOT, 'loadtest/k6-runner/main.ts'), ...args];
    const child = spawn(command[0] as string, command.slice(1), {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

describe('k6 runner with a fake k6', () => {
  let dir: string;
  let keys: string;
  let bin: string;
  let profile: string;
  let strict: string;
  let env: Record<string, string>;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'sg-k6run-'));
    keys = makeEcPkiDir(FSPS);
    bin = join(dir, 'bin');
    // The fake k6 is a script named k6, first on PATH, as a real k6 would be.
    const fake = join(ROOT, 'test/helpers/fake-k6.ts');
    const tsx = join(ROOT, 'node_modules/tsx/dist/loader.mjs');
    mkdirSync(bin);
    writeFileSync(join(bin, 'k6'), `#!/bin/sh\nexec "${process.execPath}" --import "${tsx}" "${fake}" "$@"\n`, { mode: 0o755 });
    const scenarios = {
      quoteTransfer: { executor: 'constant-arrival-rate', exec: 'quoteTransfer', rate: 30, timeUnit: '1s', duration: '2s', preAllocatedVUs: 3, maxVUs: 9 },
    };
    profile = join(dir, 'profile.json');
    writeFileSync(
      profile,
      JSON.stringify({ scenarios, thresholds: { http_req_failed: ['rate<0.05'], http_req_duration: ['p(95)<100'], dropped_iterations: ['count==0'] } }),
    );
    strict = join(dir, 'strict.json');
    writeFileSync(strict, JSON.stringify({ scenarios, thresholds: { http_req_failed: ['rate<0.05'], http_req_duration: ['p(95)<25'] } }));
    env = { PATH: `${bin}:${process.env.PATH}`, K6_BINARY: '', FAKE_K6_SECONDS: '2' };
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (keys) rmSync(keys, { recursive: true, force: true });
  });

  const common = () => ['--keys', keys, '--fsps', FSPS.join(','), '--target', '10.9.8.7:9443'];

  test('one k6 process per identity, each with its own identity env, merged and judged: PASS, exit 0', async () => {
    const out = join(dir, 'pass');
    const record = join(dir, 'record-pass');
    // One in 8 of perffsp-2's requests takes 200 ms: its own p(95) crosses 100 ms (k6 exit 99), the
    // merged p(95) over all three does not (2 slow of 62). perffsp-3 takes 1.5 s longer to initialise.
    const behaviour = { 'perffsp-2': { slowEvery: 8 }, 'perffsp-3': { initMs: 1500 } };
    const r = await runRunner(['--profile', profile, ...common(), '--rate', '31', '--out', out], {
      ...env,
      K6_BINARY: 'k6',
      FAKE_K6_RECORD: record,
      FAKE_K6_BEHAVIOUR: JSON.stringify(behaviour),
    });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const rec = FSPS.map((f) => JSON.parse(readFileSync(join(record, `${f}.json`), 'utf8')) as Recorded);
    // Each process speaks for exactly one DFSP, with that DFSP's certificate, key and requests.
    assert.deepEqual(
      rec.map((x) => x.env.FSP_ID),
      FSPS,
    );
    for (const [i, x] of rec.entries()) {
      const fsp = FSPS[i] as string;
      assert.equal(x.env.CERT_FILE, join(keys, 'clients', `${fsp}.pem`));
      assert.equal(x.env.KEY_FILE, join(keys, 'clients', `${fsp}.key`));
      assert.equal(x.env.DATA_FILE, join(out, 'data', `${fsp}.json`));
      assert.equal(x.env.TARGET_HOST, '10.9.8.7');
      assert.equal(x.env.TARGET_PORT, '9443');
      assert.equal(x.env.INSECURE_SKIP_TLS_VERIFY, 'true');
      assert.equal(x.env.K6_PROFILE, profile);
      assert.deepEqual(
        x.env.PEERS?.split(','),
        FSPS.filter((f) => f !== fsp),
      );
      const data = JSON.parse(readFileSync(x.env.DATA_FILE as string, 'utf8')) as { requests: { fsp: string; headers: Record<string, string> }[] };
      assert.ok(data.requests.length > 0);
      for (const q of data.requests) {
        assert.equal(q.fsp, fsp);
        assert.equal(q.headers['fspiop-source'], fsp);
      }
      assert.deepEqual(x.argv.slice(0, 3), ['--quiet', '--paused', '--address']);
      assert.match(x.argv[3] as string, /^127\.0\.0\.1:\d+$/);
      assert.deepEqual(x.argv.slice(4, 9), ['--summary-export', join(out, `${fsp}.summary.json`), '--out', `json=${join(out, `${fsp}.points.json.gz`)}`, '-e']);
      assert.equal(x.argv.at(-1), join(ROOT, 'loadtest/k6/index.js'));
    }
    // Every process has its own REST API; all were resumed together, after the slowest was ready.
    assert.equal(new Set(rec.map((x) => x.argv[3])).size, 3);
    const starts = rec.map((x) => x.startedAt);
    assert.ok(Math.max(...starts) - Math.min(...starts) < 500, `started ${starts.map((t) => t - Math.min(...starts)).join(', ')} ms apart`);
    assert.match(r.stderr, /all 3 k6 processes initialised in \d+\.\d s; started together/);
    // 31/s over three identities in proportion to the requests each sends in the set, in thousandths.
    const rates = rec.map((x) => Number(x.env.RATE));
    assert.equal(
      rates.reduce((a, b) => a + Math.round(b * 1000), 0),
      31_000,
    );
    const counts = rec.map((x) => (JSON.parse(readFileSync(x.env.DATA_FILE as string, 'utf8')) as { requests: unknown[] }).requests.length);
    const total = counts.reduce((a, b) => a + b, 0);
    for (const [i, r] of rates.entries()) assert.ok(Math.abs(r - (31 * (counts[i] as number)) / total) <= 0.001, `${rates} for ${counts}`);
    // The merged totals: every process's requests (two connection-phase GET / each, the 15-s ramp's
    // requests and 2 s at the rate), in k6's summary layout, judged once on the held rate only.
    const held = rates.reduce((a, x) => a + Math.floor(x * 2), 0);
    const sent = rates.reduce((a, x) => a + 2 + Math.ceil((x * 15) / 2) + Math.floor(x * 2), 0);
    for (const x of rec) assert.deepEqual([x.env.CONNECT_SECONDS, x.env.WARMUP_SECONDS], ['5', '15']);
    assert.match(r.stdout, /merged summary of 3 k6 processes \(perffsp-1, perffsp-2, perffsp-3\)/);
    assert.match(r.stdout, new RegExp(`\\n {5}http_reqs\\.+: ${sent} `));
    assert.match(r.stdout, /\n {5}✓ \{ phase:run \}\.+: avg=/);
    assert.match(r.stdout, /✓ http_req_duration\{phase:run\} p\(95\)<100 \(\d+(\.\d+)?\)/);
    assert.match(r.stdout, /✓ dropped_iterations count==0 \(0\)/);
    assert.match(r.stdout, /✓ prepared_requests_exhausted count==0 \(0\)/);
    assert.match(r.stdout, /perffsp-2: its own share crossed a threshold \(k6 exit 99; the merged totals decide\)/);
    assert.match(r.stdout, /result: PASS/);
    const merged = JSON.parse(readFileSync(join(out, 'merged.json'), 'utf8'));
    assert.equal(merged.passed, true);
    assert.equal(merged.metrics.http_reqs.values.count, sent);
    // The connection phase's slow answers are in the totals but not in what the thresholds judged.
    assert.equal(merged.metrics.http_req_duration.values.max, CONNECT_MS);
    assert.ok(merged.metrics['http_req_duration{phase:run}'].values.max < CONNECT_MS);
    assert.equal(merged.metrics['http_req_duration{phase:run}'].values.count, held);
    assert.deepEqual(
      readdirSync(out)
        .filter((f) => f.endsWith('.summary.json'))
        .sort(),
      FSPS.map((f) => `${f}.summary.json`),
    );

    // The same results merged again without starting anything (the Kubernetes path).
    const again = await runRunner(['--profile', profile, '--merge-only', out], env);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, new RegExp(`http_reqs\\.+: ${sent} `));
    // Judged without the phases the run had, the fast 404s and the ramp would join the verdict: refused.
    const bare = join(dir, 'no-plan');
    mkdirSync(bare, { recursive: true });
    for (const f of readdirSync(out).filter((f) => /\.(summary|points)\.json(\.gz)?$/.test(f))) copyFileSync(join(out, f), join(bare, f));
    const unphased = await runRunner(['--profile', profile, '--merge-only', bare, '--connect', '0', '--warmup', '0'], env);
    assert.equal(unphased.code, 1, unphased.stdout);
    assert.match(unphased.stdout, /hold connection-phase or warm-up samples/);
    const phasedAgain = await runRunner(['--profile', profile, '--merge-only', bare], env);
    assert.equal(phasedAgain.code, 0, phasedAgain.stdout);
  });

  test('a threshold that fails on the merged totals fails the run: exit 1', async () => {
    const r = await runRunner(['--profile', strict, ...common(), '--rate', '30', '--out', join(dir, 'fail')], {
      ...env,
      FAKE_K6_BEHAVIOUR: JSON.stringify({ 'perffsp-3': { latencyMs: 60, failEvery: 4 } }),
    });
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /\n {5}✗ \{ phase:run \}\.+: avg=/);
    assert.match(r.stdout, /✗ http_req_duration\{phase:run\} p\(95\)<25 \(\d/);
    // One in four of perffsp-3's requests fails: about 1/12 of all held-rate requests.
    assert.match(r.stdout, /✗ http_req_failed\{phase:run\} rate<0\.05 \(0\.0[6-9]/);
    assert.match(r.stdout, /result: FAIL/);
  });

  test('a k6 process that fails stops the others and the run: exit 3', async () => {
    const r = await runRunner(['--profile', profile, ...common(), '--rate', '30', '--out', join(dir, 'broken')], {
      ...env,
      FAKE_K6_BEHAVIOUR: JSON.stringify({ 'perffsp-1': { sleepMs: 60_000 }, 'perffsp-2': { exit: 107 }, 'perffsp-3': { sleepMs: 60_000 } }),
    });
    assert.equal(r.code, 3, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /stopping the other k6 processes: perffsp-2 failed \(exit 107/);
    assert.match(r.stdout, /perffsp-2: FAILED \(exit 107\)/);
    // k6 ends with 105 after a SIGINT; one still starting up dies of it.
    assert.match(r.stdout, /perffsp-1: interrupted \(exit (105|SIGINT)\)/);
    assert.match(r.stdout, /incomplete run/);
  });

  test('raw outputs that cannot be merged make an incomplete run (exit 3) that names the file, not a stack trace', async () => {
    const out = join(dir, 'cut');
    const r = await runRunner(['--profile', profile, ...common(), '--rate', '31', '--connect', '0', '--warmup', '0', '--out', out], {
      ...env,
      K6_BINARY: 'k6',
      FAKE_K6_BEHAVIOUR: JSON.stringify({ 'perffsp-2': { cutLastPoint: true } }),
    });
    assert.equal(r.code, 3, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /k6 processes:\n {2}perffsp-1: ok/);
    assert.match(r.stdout, /incomplete run \(the k6 outputs in \S+ could not be merged: \S+perffsp-2\.points\.json\.gz: not k6 JSON output/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  test('without k6 the runner says how to get it: exit 2', async () => {
    const r = await runRunner(['--profile', profile, ...common()], { ...env, PATH: '/usr/bin:/bin', K6_BINARY: join(dir, 'nowhere', 'k6') });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /not found\nk6 is not installed[\s\S]*github\.com\/grafana\/k6\/releases[\s\S]*npm run loadtest/);
  });

  // taskset (util-linux) and /proc/self/status are Linux's; elsewhere there is nothing to confine with.
  const canPin = process.platform === 'linux' && spawnSync('taskset', ['-V']).status === 0;
  test("confined with taskset, every k6 process runs on the runner's CPUs with GOMAXPROCS shared out; an operator's GOMAXPROCS is kept", {
    skip: canPin ? false : 'needs Linux and taskset',
  }, async () => {
    // This test's own CPUs (the runner inherits them), and the last of them alone for the pinned run.
    const mine = ownCpus() ?? [];
    const last = String(mine.at(-1));
    const runs: { name: string; wrap: string[]; extra: Record<string, string>; cpus: string; gmp: string; line: string }[] = [
      {
        name: 'pinned',
        wrap: ['taskset', '-c', last],
        // An empty GOMAXPROCS is unset for Go and for the runner, whatever this test's environment holds.
        extra: { GOMAXPROCS: '' },
        cpus: last,
        gmp: '1',
        line: `on CPUs ${last} (1 of ${cpus().length}), GOMAXPROCS=1 each\n`,
      },
      { name: 'operator', wrap: [], extra: { GOMAXPROCS: '3' }, cpus: formatCpuList(mine), gmp: '3', line: 'GOMAXPROCS=3 each (set by you)' },
    ];
    for (const run of runs) {
      const out = join(dir, `cpus-${run.name}`);
      const record = join(dir, `record-cpus-${run.name}`);
      const r = await runRunner(
        ['--profile', profile, ...common(), '--rate', '31', '--connect', '0', '--warmup', '0', '--out', out],
        { ...env, K6_BINARY: 'k6', FAKE_K6_RECORD: record, ...run.extra },
        run.wrap,
      );
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      assert.ok(r.stdout.includes(`3 k6 processes `) && r.stdout.includes(run.line), r.stdout);
      const plan = JSON.parse(readFileSync(join(out, 'plan.json'), 'utf8')) as { cpus: string; goMaxProcs: string };
      assert.deepEqual({ cpus: plan.cpus, goMaxProcs: plan.goMaxProcs }, { cpus: run.cpus, goMaxProcs: run.gmp });
      for (const f of FSPS) {
        const x = JSON.parse(readFileSync(join(record, `${f}.json`), 'utf8')) as Recorded;
        assert.deepEqual({ cpus: x.cpus, goMaxProcs: x.goMaxProcs }, { cpus: run.cpus, goMaxProcs: run.gmp }, f);
      }
    }
  });

  test('--dry-run prints each process command without k6', async () => {
    const r = await runRunner(['--profile', profile, ...common(), '--rate', '30', '--out', join(dir, 'dry'), '--dry-run'], { ...env, PATH: '/usr/bin:/bin' });
    assert.equal(r.code, 0, r.stderr);
    for (const f of FSPS)
      assert.match(
        r.stdout,
        new RegExp(
          `\\nk6 run --quiet --paused --address 127\\.0\\.0\\.1:\\d+ --summary-export \\S+${f}\\.summary\\.json .*-e FSP_ID=${f} .*-e RATE=\\d+(\\.\\d+)? `,
        ),
      );
  });
});
