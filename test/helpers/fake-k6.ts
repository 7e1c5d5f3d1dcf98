// A stand-in for the k6 binary in tests (k6 is not installable here): `k6 version`, and `k6 run` with the
// flags the runner uses (--quiet, --summary-export FILE, --out json=FILE[.gz], -e K=V, the script). It
// checks what real k6 + loadtest/k6/index.js would refuse (no FSP_ID, missing certificate, a data file
// with requests of another DFSP, a RATE with more than 3 decimals), "sends" RATE × DURATION requests of its
// data file without a network, and writes its results in k6 v0.48's formats: the raw samples as JSON
// lines (`{"type":"Metric"…}` declarations and `{"metric":…,"type":"Point",…}` samples, easyjson field
// order, gzip for .gz) and the legacy `--summary-export` JSON (counters {count, rate}, rates
// {value, passes, fails}, gauges {value, min, max}, trends by summaryTrendStats, thresholds → true when
// failed, checks by name under root_group). Exit codes: 0, 99 when its own thresholds fail, 104 for a bad
// flag, 107 for what the script would throw, 105 after SIGINT.
//
// With --paused and --address it serves k6's REST API status (GET /v1/status: status 4 PausedBeforeRun
// once "initialised", PATCH {paused:false} resumes) and starts only when resumed, like k6.
// Behaviour per DFSP comes from FAKE_K6_BEHAVIOUR (JSON {fspId: {initMs, latencyMs, slowEvery, failEvery,
// exit, sleepMs, cutLastPoint}}) and each process records its argv, -e variables and the time it started sending in
// $FAKE_K6_RECORD/<fspId>.json, with the GOMAXPROCS it was given and the CPUs it may run on.
//   node --import tsx test/helpers/fake-k6.ts run --summary-export s.json --out json=p.json.gz -e FSP_ID=x index.js
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadScaleModule } from '../../loadtest/k6-runner/phases.js';
import { parseMetricKey } from '../../loadtest/k6-runner/points.js';

/** This process's `Cpus_allowed_list` (/proc/self/status), or null off Linux. */
function allowedCpus(): string | null {
  try {
    return /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? null;
  } catch {
    return null;
  }
}

export interface Sample {
  readonly metric: string;
  readonly value: number;
  readonly tags: Readonly<Record<string, string>>;
}

const METRICS: Readonly<Record<string, { type: 'counter' | 'gauge' | 'rate' | 'trend'; contains: 'default' | 'time' | 'data' }>> = {
  http_reqs: { type: 'counter', contains: 'default' },
  http_req_duration: { type: 'trend', contains: 'time' },
  http_req_waiting: { type: 'trend', contains: 'time' },
  http_req_failed: { type: 'rate', contains: 'default' },
  iterations: { type: 'counter', contains: 'default' },
  iteration_duration: { type: 'trend', contains: 'time' },
  data_sent: { type: 'counter', contains: 'data' },
  data_received: { type: 'counter', contains: 'data' },
  checks: { type: 'rate', contains: 'default' },
  vus: { type: 'gauge', contains: 'default' },
  dropped_iterations: { type: 'counter', contains: 'default' },
};

/** k6's JSON output lines for these samples: each metric declared once, before its first sample. */
export function jsonOutputLines(samples: readonly Sample[], start = Date.now()): string {
  const seen = new Set<string>();
  const lines: string[] = [];
  samples.forEach((s, i) => {
    if (!seen.has(s.metric)) {
      seen.add(s.metric);
      const m = METRICS[s.metric] ?? { type: 'counter', contains: 'default' };
      lines.push(
        JSON.stringify({ type: 'Metric', data: { name: s.metric, type: m.type, contains: m.contains, thresholds: [], submetrics: null }, metric: s.metric }),
      );
    }
    lines.push(JSON.stringify({ metric: s.metric, type: 'Point', data: { time: new Date(start + i).toISOString(), value: s.value, tags: s.tags } }));
  });
  return `${lines.join('\n')}\n`;
}

/** k6's trend percentile (linear interpolation between closest ranks), for one process's own summary. */
function kPercentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  if (sorted.length === 1) return sorted[0] as number;
  const i = (p / 100) * (sorted.length - 1);
  const lo = sorted[Math.floor(i)] as number;
  return lo + ((sorted[Math.ceil(i)] as number) - lo) * (i - Math.floor(i));
}

const TREND_STATS = ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'];

/** The duration of the fake's connection-phase requests: slow, so that a threshold that counted them would fail. */
export const CONNECT_MS = 5000;

/** A legacy `--summary-export` document for one process's samples (durationSeconds = its test run). */
export function summaryExport(
  samples: readonly Sample[],
  durationSeconds: number,
  checks: ReadonlyMap<string, { passes: number; fails: number }>,
  thresholds: Readonly<Record<string, readonly (string | { threshold: string })[]>> = {},
): Record<string, unknown> {
  const by = new Map<string, Sample[]>();
  const add = (key: string, s: Sample) => by.set(key, [...(by.get(key) ?? []), s]);
  // Sub-metrics: k6's own expected_response one, and every one a threshold names, from the samples' tags.
  const subs = ['http_req_duration{expected_response:true}', ...Object.keys(thresholds).filter((k) => k.includes('{'))].map((key) => ({
    key,
    ...parseMetricKey(key),
  }));
  for (const s of samples) {
    add(s.metric, s);
    for (const sub of subs) if (sub.name === s.metric && Object.entries(sub.tags).every(([k, v]) => s.tags[k] === v)) add(sub.key, s);
  }
  const metrics: Record<string, Record<string, unknown>> = {};
  for (const [key, list] of by) {
    const m = METRICS[key.split('{')[0] as string] ?? { type: 'counter' };
    const values = list.map((s) => s.value);
    if (m.type === 'counter') {
      const count = values.reduce((a, v) => a + v, 0);
      metrics[key] = { count, rate: count / durationSeconds };
    } else if (m.type === 'rate') {
      const passes = values.filter((v) => v !== 0).length;
      metrics[key] = { passes, fails: values.length - passes, value: passes / values.length };
    } else if (m.type === 'gauge') {
      metrics[key] = { value: values[values.length - 1], min: Math.min(...values), max: Math.max(...values) };
    } else {
      const sorted = [...values].sort((a, b) => a - b);
      const stats: Record<string, number> = {};
      for (const c of TREND_STATS) {
        if (c === 'avg') stats.avg = values.reduce((a, v) => a + v, 0) / values.length;
        else if (c === 'min') stats.min = sorted[0] as number;
        else if (c === 'max') stats.max = sorted[sorted.length - 1] as number;
        else if (c === 'med') stats.med = kPercentile(sorted, 50);
        else stats[c] = kPercentile(sorted, Number(c.slice(2, -1)));
      }
      metrics[key] = stats;
    }
  }
  for (const [key, specs] of Object.entries(thresholds)) {
    // k6 reports a metric that has thresholds even without samples (metrics/engine/engine.go, markObserved).
    if (!metrics[key]) metrics[key] = METRICS[parseMetricKey(key).name]?.type === 'counter' ? { count: 0, rate: 0 } : {};
    const values = metrics[key];
    const verdicts: Record<string, boolean> = {};
    for (const spec of specs) {
      const expr = typeof spec === 'string' ? spec : spec.threshold;
      const m = /^(\w+|p\([\d.]+\))\s*(<=|>=|==|<|>)\s*([\d.]+)$/.exec(expr.trim());
      if (!m) continue;
      const agg = m[1] === 'rate' && 'value' in values ? 'value' : (m[1] as string);
      const actual = Number(values[agg] ?? 0);
      const bound = Number(m[3]);
      const ok = { '<': actual < bound, '<=': actual <= bound, '>': actual > bound, '>=': actual >= bound, '==': actual === bound }[m[2] as '<'];
      verdicts[expr] = !ok; // the legacy export marks a FAILED threshold true
    }
    values.thresholds = verdicts;
  }
  const checkObjects = Object.fromEntries(
    [...checks].map(([name, c], i) => [name, { name, path: `::${name}`, id: `id${i}`, passes: c.passes, fails: c.fails }]),
  );
  return { root_group: { name: '', path: '', id: 'd41d8cd98f00b204e9800998ecf8427e', groups: {}, checks: checkObjects }, metrics };
}

/** A deterministic generator, seeded by the DFSP id, so every run of a test sees the same samples. */
function random(seed: string): () => number {
  let h = 2166136261;
  for (const c of seed) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return () => {
    h = Math.imul(h ^ (h >>> 15), 2246822507) ^ Math.imul(h ^ (h >>> 13), 3266489909);
    h ^= h >>> 16;
    return (h >>> 0) / 4294967296;
  };
}

interface Behaviour {
  /** Time to initialise (load data, init VUs) before the test could start. */
  initMs?: number;
  latencyMs?: number;
  /** Every n-th request takes 200 ms. */
  slowEvery?: number;
  failEvery?: number;
  exit?: number;
  sleepMs?: number;
  /** Ends its raw output with a trend sample cut short, as two processes writing one file leave it. */
  cutLastPoint?: boolean;
}

async function run(argv: string[]): Promise<number> {
  const env: Record<string, string> = {};
  let summary = '';
  let out = '';
  let script = '';
  let paused = false;
  let address = '';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--quiet' || a === '-q') continue;
    else if (a === '--paused' || a === '-p') paused = true;
    else if (a === '--address' || a === '-a') address = argv[++i] ?? '';
    else if (a === '--summary-export') summary = argv[++i] ?? '';
    else if (a.startsWith('--summary-export=')) summary = a.slice(17);
    else if (a === '--out' || a === '-o') out = argv[++i] ?? '';
    else if (a === '-e' || a === '--env') {
      const kv = argv[++i] ?? '';
      env[kv.slice(0, kv.indexOf('='))] = kv.slice(kv.indexOf('=') + 1);
    } else if (a.startsWith('-')) {
      console.error(`fake k6: unknown flag ${a}`);
      return 104;
    } else script = a;
  }
  if (!script || !existsSync(script)) {
    console.error(`fake k6: no script ${script}`);
    return 107;
  }
  const fsp = env.FSP_ID ?? '';
  const record = (extra: Record<string, unknown>) => {
    if (!process.env.FAKE_K6_RECORD) return;
    mkdirSync(process.env.FAKE_K6_RECORD, { recursive: true });
    // Where it ran, as a real k6 would: the process's GOMAXPROCS and the CPUs it may use (Linux).
    const placement = { goMaxProcs: process.env.GOMAXPROCS ?? null, cpus: allowedCpus() };
    writeFileSync(join(process.env.FAKE_K6_RECORD, `${fsp || 'unknown'}.json`), JSON.stringify({ argv, env, pid: process.pid, ...placement, ...extra }));
  };
  record({});
  const behaviour = ((JSON.parse(process.env.FAKE_K6_BEHAVIOUR ?? '{}') as Record<string, Behaviour>)[fsp] ?? {}) as Behaviour;
  let api: Server | undefined;
  let resume: () => void = () => {};
  const resumed = new Promise<void>((r) => {
    resume = r;
  });
  let initialised = false;
  if (address) {
    const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
    api = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => {
        body += d;
      });
      req.on('end', () => {
        if (req.url !== '/v1/status') {
          res.writeHead(404).end();
          return;
        }
        if (req.method === 'PATCH') {
          const want = JSON.parse(body) as { data?: { attributes?: { paused?: boolean } } };
          if (want.data?.attributes?.paused === false) {
            paused = false;
            resume();
          }
        }
        const status = !initialised ? 1 : paused ? 4 : 7;
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
        res.end(
          JSON.stringify({
            data: { type: 'status', id: 'default', attributes: { status, paused, vus: 0, 'vus-max': 1, stopped: false, running: !paused, tainted: false } },
          }),
        );
      });
    });
    await new Promise<void>((r) => api?.listen(port, host, r));
  }
  if (!fsp) return fail('FSP_ID is not set');
  for (const f of [env.CERT_FILE, env.KEY_FILE, env.DATA_FILE, env.K6_PROFILE]) if (!f || !existsSync(f)) return fail(`cannot open ${f}`);
  const rate = Number(env.RATE);
  if (!(rate > 0) || Math.abs(Math.round(rate * 1000) - rate * 1000) > 1e-6) return fail(`RATE: expected requests/s with at most 3 decimals, got ${env.RATE}`);
  const set = JSON.parse(readFileSync(env.DATA_FILE as string, 'utf8')) as {
    requests: { fsp: string; destination: string; kind: string; expectStatus: number; body: string }[];
  };
  const own = set.requests.filter((r) => r.fsp === fsp);
  if (own.length !== set.requests.length) return fail(`${env.DATA_FILE} has requests sent by another DFSP than ${fsp}`);
  const peers = (env.PEERS ?? '').split(',').filter(Boolean);
  if (peers.length && own.some((r) => !peers.includes(r.destination))) return fail('a request for a DFSP outside PEERS');
  if (behaviour.exit !== undefined && behaviour.exit !== 99) return fail(`behaviour: exit ${behaviour.exit}`, behaviour.exit);
  let interrupted = false;
  process.once('SIGINT', () => {
    interrupted = true;
    resume();
  });
  await new Promise((r) => setTimeout(r, behaviour.initMs ?? 0));
  initialised = true;
  if (paused) await resumed;
  const startedAt = Date.now();
  record({ startedAt });
  if (behaviour.sleepMs && !interrupted) {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, behaviour.sleepMs);
      process.once('SIGINT', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }
  const profile = JSON.parse(readFileSync(env.K6_PROFILE as string, 'utf8')) as { thresholds?: Record<string, (string | { threshold: string })[]> };
  const seconds = Number(env.DURATION ?? process.env.FAKE_K6_SECONDS ?? '1');
  // The phases of index.js (defaults 5 and 15): a slow GET / per VU (two here) tagged phase=connect, then the
  // ramp's requests tagged phase=warmup, then the held rate tagged phase=run; thresholds as index.js judges them.
  const connectSeconds = Number(env.CONNECT_SECONDS ?? '5');
  const warmupSeconds = Number(env.WARMUP_SECONDS ?? '15');
  const phased = connectSeconds + warmupSeconds > 0;
  const scale = await loadScaleModule();
  const thresholds = scale.judgedThresholds(profile.thresholds ?? {}, connectSeconds + warmupSeconds);
  const ramp = scale.warmupRequests(rate, warmupSeconds);
  const n = Math.min(own.length, ramp + Math.floor(interrupted ? (rate * seconds) / 2 : rate * seconds));
  const rnd = random(fsp);
  const samples: Sample[] = [];
  const checks = new Map<string, { passes: number; fails: number }>();
  if (connectSeconds > 0) {
    for (let v = 0; v < 2; v++) {
      const tags = { expected_response: 'true', status: '404', method: 'GET', name: 'connect', scenario: 'connect', phase: 'connect', fspId: fsp };
      samples.push(
        { metric: 'http_reqs', value: 1, tags },
        { metric: 'http_req_duration', value: CONNECT_MS, tags },
        { metric: 'http_req_failed', value: 0, tags },
        { metric: 'iterations', value: 1, tags: { scenario: 'connect', phase: 'connect', fspId: fsp } },
      );
    }
  }
  for (let i = 0; i < n; i++) {
    const r = own[i] as (typeof own)[number];
    const failed = behaviour.failEvery !== undefined && i % behaviour.failEvery === behaviour.failEvery - 1;
    const status = failed ? 500 : r.expectStatus;
    const slow = behaviour.slowEvery !== undefined && i % behaviour.slowEvery === behaviour.slowEvery - 1;
    const ms = slow ? 200 : (behaviour.latencyMs ?? 10) * (0.5 + rnd());
    const phase: Record<string, string> = phased ? { phase: i < ramp ? 'warmup' : 'run' } : {};
    const tags = { expected_response: String(!failed), status: String(status), method: 'POST', name: r.kind, scenario: 'quoteTransfer', fspId: fsp, ...phase };
    samples.push(
      { metric: 'http_reqs', value: 1, tags },
      { metric: 'http_req_duration', value: ms, tags },
      { metric: 'http_req_waiting', value: ms * 0.9, tags },
      { metric: 'http_req_failed', value: failed ? 1 : 0, tags },
      { metric: 'data_sent', value: r.body.length + 300, tags },
      { metric: 'data_received', value: 120, tags },
      { metric: 'checks', value: failed ? 0 : 1, tags: { ...tags, check: `${r.kind}_OK` } },
      { metric: 'iterations', value: 1, tags: { scenario: 'quoteTransfer', fspId: fsp, ...phase } },
      { metric: 'iteration_duration', value: ms + 0.2, tags: { scenario: 'quoteTransfer', fspId: fsp, ...phase } },
      { metric: 'vus', value: 1 + (i % 3), tags: { fspId: fsp } },
    );
    const c = checks.get(`${r.kind}_OK`) ?? { passes: 0, fails: 0 };
    if (failed) c.fails++;
    else c.passes++;
    checks.set(`${r.kind}_OK`, c);
  }
  const file = out.replace(/^json=/, '');
  if (file) {
    const cut = behaviour.cutLastPoint ? '{"metric":"http_req_duration","type":"Point","data":{"time":"20{"type":"Metric"}\n' : '';
    const text = jsonOutputLines(samples) + cut;
    writeFileSync(file, file.endsWith('.gz') ? gzipSync(text) : text);
  }
  const doc = summaryExport(samples, n / rate, checks, thresholds);
  if (summary) writeFileSync(summary, JSON.stringify(doc, null, 4));
  console.log(`fake k6: ${fsp} sent ${n} requests at ${rate}/s`);
  api?.close();
  if (interrupted) return 105;
  const crossed = Object.values(doc.metrics as Record<string, { thresholds?: Record<string, boolean> }>).some((m) =>
    Object.values(m.thresholds ?? {}).some(Boolean),
  );
  return behaviour.exit ?? (crossed ? 99 : 0);
}

function fail(message: string, code = 107): number {
  console.error(`fake k6: ${message}`);
  return code;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [cmd, ...rest] = process.argv.slice(2);
  if (cmd === 'version') {
    console.log('k6 v0.48.0 (fake for tests, go1.19.8, linux/amd64)');
    process.exit(0);
  }
  if (cmd !== 'run') {
    console.error(`fake k6: unsupported command ${cmd}`);
    process.exit(104);
  }
  run(rest).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(e);
      process.exit(107);
    },
  );
}
