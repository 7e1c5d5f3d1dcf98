// The rate-limit flood measurement (issue 15; docs/performance/2026-11-29-traffic-control.md): the other DFSPs'
// latency with one limited DFSP absent, sending exactly at its limit, and flooding at N× its limit, in
// alternating rounds against a running topology (e.g. loadtest/topologies/hub.ts with RATE_LIMITS_PATH).
//
//   node --import tsx loadtest/flood-pairs.ts --target https://127.0.0.1:PORT --keys DIR [--rounds 5]
//     [--others perffsp-2,perffsp-3] [--rate 150] [--duration 20] [--warmup 3]
//     [--flooder perffsp-1] [--limit 50] [--factor 5] [--variants absent,limit,flood] [--gateway-pid P] [--json FILE]
//     [--quiet-wait S]   (before each run, wait up to S seconds for the machine to be under 15 % busy [180])
//     [--flood-connections N]   the flooder's keep-alive connections [8]
//     [--alternate S]    one long run per round instead: the flooder cycles through the variants every S seconds
//                        while the others run; each of their seconds counts for the variant it fell in
//
// Every run uses the Node driver (loadtest/driver/main.ts) on sets signed before any clock starts
// (prepare-set.ts): the others send quote→transfer journeys as in the earlier runs; the flooder sends
// POST /quotes only, one unique pre-signed request per start (the `from` sets), so the flood's client does no
// crypto but TLS during the run, and everything it sends beyond its limit is refused work only. The flooder's
// driver is started first; once its clock runs (it logs its preconnect), the measured run of the others starts.
// Variants rotate their order from round to round, so a drift of the machine's load spreads over all of them.
// With --alternate the variants interleave within one run instead (S seconds each, in turn): a drift of the
// machine's load (other work, a noisy neighbour of the VM) then falls on every variant alike. A second of the
// others' run is counted for a variant only when it lies wholly inside that variant's span, with 500 ms of
// margin before it (a refusal already queued at a switch has to drain) and 200 ms after it. On a VM, time the
// host gives to other guests (steal, /proc/stat) stalls every process alike for tens of milliseconds and
// dominates any p99; the alternating mode samples it every 100 ms and reports the figures twice: over every
// counted second, and over the seconds with at most STEAL_TICKS ticks stolen (the same filter for every variant).
// With held refusals (RATE_LIMIT_HOLD_MS, the default) the flooder's client keeps a backlog while it is held;
// it drains into the span after a flood, at no more than the DFSP's rate (docs/performance/2026-11-29-traffic-control.md).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { blockFor, buildPreparedSet, loadSigningKeys } from './driver/prepare-set.js';
import { ROOT } from './topologies/common.js';

const { values } = parseArgs({
  options: {
    target: { type: 'string' },
    keys: { type: 'string' },
    rounds: { type: 'string' },
    others: { type: 'string' },
    rate: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    flooder: { type: 'string' },
    limit: { type: 'string' },
    factor: { type: 'string' },
    variants: { type: 'string' },
    'gateway-pid': { type: 'string' },
    json: { type: 'string' },
    'quiet-wait': { type: 'string' },
    alternate: { type: 'string' },
    'flood-connections': { type: 'string' },
  },
  strict: true,
});
if (!values.target || !values.keys) {
  console.error('usage: node --import tsx loadtest/flood-pairs.ts --target URL --keys DIR [options] (see the header of this file)');
  process.exit(2);
}
const target = values.target;
const keysDir = values.keys;
const rounds = Number(values.rounds ?? 5);
const others = (values.others ?? 'perffsp-2,perffsp-3').split(',');
const rate = Number(values.rate ?? 150);
const duration = Number(values.duration ?? 20);
const warmup = Number(values.warmup ?? 3);
const flooder = values.flooder ?? 'perffsp-1';
const limit = Number(values.limit ?? 50);
const factor = Number(values.factor ?? 5);
/** The flooder's keep-alive connections (its client's pool). */
const floodConnections = values['flood-connections'] ?? '8';
type Variant = 'absent' | 'limit' | 'flood';
const variants = (values.variants ?? 'absent,limit,flood').split(',') as Variant[];
/** The flooder's driver starts this long before the others' and lasts their preparation, warm-up and run out. */
const LEAD_S = 2;
const SLACK_S = 8;

/** Busy share of all cores (0..1) between two readings of /proc/stat's first line. */
function cpuTimes(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}
const busyBetween = (a: ReturnType<typeof cpuTimes>, b: ReturnType<typeof cpuTimes>) => (b.busy - a.busy) / Math.max(1, b.total - a.total);
/** Waits (up to --quiet-wait seconds) until the machine is quiet: under 15 % busy over 2 s. Returns the last reading. */
async function waitQuiet(): Promise<number> {
  const deadline = performance.now() + Number(values['quiet-wait'] ?? 180) * 1000;
  for (;;) {
    const a = cpuTimes();
    await sleep(2000);
    const busy = busyBetween(a, cpuTimes());
    if (busy < 0.15 || performance.now() > deadline) return busy;
    console.error(`machine ${(busy * 100).toFixed(0)} % busy before the run: waiting`);
    await sleep(5000);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'sg-flood-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function driver(args: string[], onLine?: (line: string) => void): { done: Promise<number> } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'loadtest', 'driver', 'main.ts'), '--target', target, '--keys', keysDir, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let buf = '';
  child.stderr.on('data', (d: Buffer) => {
    buf += d.toString();
    let i = buf.indexOf('\n');
    while (i >= 0) {
      onLine?.(buf.slice(0, i));
      buf = buf.slice(i + 1);
      i = buf.indexOf('\n');
    }
  });
  return { done: new Promise((r) => child.on('exit', (c) => r(c ?? 1))) };
}

interface Digest {
  p50: number;
  p95: number;
  p99: number;
  completed: number;
  failed: number;
  responses: Record<string, number>;
  achievedRate: number;
  gateway?: { cpuPercent?: number } | null;
  loadAverage: number[];
}

async function runOne(round: number, variant: Variant): Promise<Record<string, unknown>> {
  const tag = `${round}-${variant}`;
  const quietSet = join(dir, `quiet-${tag}.json`);
  const floodSet = join(dir, `flood-${tag}.json`);
  // Sign both sets before any clock starts.
  const quiet = await buildPreparedSet({
    count: Math.ceil(rate * (duration + warmup)) + 16,
    keys: loadSigningKeys(keysDir, others),
    block: blockFor(rate),
  });
  writeFileSync(quietSet, JSON.stringify(quiet));
  const floodRate = variant === 'flood' ? limit * factor : limit;
  const floodSeconds = LEAD_S + SLACK_S + warmup + duration;
  if (variant !== 'absent') {
    const set = await buildPreparedSet({
      count: Math.ceil(floodRate * floodSeconds) + 16,
      keys: loadSigningKeys(keysDir, [flooder, ...others]),
      from: flooder,
      block: 64,
    });
    writeFileSync(floodSet, JSON.stringify(set));
  }
  await sleep(1000); // the previous run's windows end
  const idleCheck = await waitQuiet(); // and the signing (or other work on the machine) is over
  const load = loadavg();
  const cpu0 = cpuTimes();
  let flood: { done: Promise<number> } | undefined;
  let floodEnded = 0;
  if (variant !== 'absent') {
    let started!: () => void;
    const clock = new Promise<void>((r) => {
      started = r;
    });
    flood = driver(
      [
        '--profile',
        'smoke',
        '--data',
        floodSet,
        '--rate',
        String(floodRate),
        '--duration',
        String(floodSeconds),
        '--connections',
        floodConnections,
        '--json',
        join(dir, `flood-${tag}.out.json`),
      ],
      (line) => {
        if (line.includes('before the clock started')) started();
      },
    );
    void flood.done.then(() => {
      floodEnded = performance.now();
      started();
    });
    await clock;
    await sleep(LEAD_S * 1000);
  }
  const out = join(dir, `quiet-${tag}.out.json`);
  const args = ['--profile', 'smoke', '--data', quietSet, '--rate', String(rate), '--duration', String(duration), '--warmup', String(warmup), '--json', out];
  if (values['gateway-pid']) args.push('--gateway-pid', values['gateway-pid']);
  await driver(args).done;
  const quietEnded = performance.now();
  const machineBusy = busyBetween(cpu0, cpuTimes());
  if (flood) await flood.done;
  const d = JSON.parse(readFileSync(out, 'utf8')) as Digest;
  const f = flood ? (JSON.parse(readFileSync(join(dir, `flood-${tag}.out.json`), 'utf8')) as Digest) : undefined;
  const row = {
    round,
    variant,
    loadBefore: load.map((x) => Number(x.toFixed(2))),
    busyBefore: Number(idleCheck.toFixed(3)),
    /** Both cores' busy share from the flood's start to the end of the measured run (gateway, drivers, Redis and anything else). */
    machineBusy: Number(machineBusy.toFixed(3)),
    p50: d.p50,
    p95: d.p95,
    p99: d.p99,
    completed: d.completed,
    failed: d.failed,
    responses: d.responses,
    gatewayCpuPercent: d.gateway?.cpuPercent ?? null,
    flood: f
      ? {
          rate: floodRate,
          sent: f.completed,
          admitted: f.responses['202'] ?? 0,
          refused: f.responses['503 2005'] ?? 0,
          other: Object.fromEntries(Object.entries(f.responses).filter(([k]) => k !== '202' && k !== '503 2005')),
          seconds: floodSeconds,
          outlastedTheRun: floodEnded === 0 || floodEnded >= quietEnded,
        }
      : null,
  };
  console.log(JSON.stringify(row));
  return row;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
/** Nearest-rank percentile (ms) of latencies in µs. */
const pct = (sorted: readonly number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! / 1000 : Number.NaN;

interface WindowedDigest extends Digest {
  measuredEpochMs: number;
  windows: { second: number; latencies: number[] }[];
}
/** Steal ticks (1/100 s, all cores) a counted second and its margins may hold and still count as steal-free. */
const STEAL_TICKS = 2;
/** Samples /proc/stat's steal counter every 100 ms until stopped: [epoch ms, cumulative steal ticks]. */
function stealSampler(): { stop: () => Array<[number, number]> } {
  const samples: Array<[number, number]> = [];
  const read = () => {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    samples.push([performance.timeOrigin + performance.now(), f[7] ?? 0]);
  };
  read();
  const timer = setInterval(read, 100);
  return {
    stop: () => {
      clearInterval(timer);
      read();
      return samples;
    },
  };
}
/** Steal ticks between two epoch times, from the samples that bracket them. */
function stealBetween(samples: ReadonlyArray<[number, number]>, from: number, to: number): number {
  let a = samples[0]![1];
  let b = samples[samples.length - 1]![1];
  for (const [t, v] of samples) {
    if (t <= from) a = v;
    if (t >= to) {
      b = v;
      break;
    }
  }
  return b - a;
}
const RATE_OF: Record<Variant, number> = { absent: 0, limit, flood: limit * factor };
/** Margins around a counted second (see the head of this file). */
const BEFORE_MS = 500;
const AFTER_MS = 200;

/** One run in which the flooder cycles through the variants every `spanS` seconds; the others' seconds are sorted by variant. */
async function runAlternating(
  round: number,
  spanS: number,
): Promise<{ row: Record<string, unknown>; latencies: Map<Variant, number[]>; clean: Map<Variant, number[]> }> {
  const cycle = variants.map((_, i) => variants[(i + round - 1) % variants.length]!);
  const floodSeconds = LEAD_S + SLACK_S + warmup + duration;
  const spans = Math.ceil(floodSeconds / spanS);
  const stages: { duration: string; target: number }[] = [];
  let floodCount = 0;
  for (let k = 0; k < spans; k++) {
    const r = RATE_OF[cycle[k % cycle.length]!];
    if (k > 0) stages.push({ duration: '0s', target: r });
    stages.push({ duration: `${spanS}s`, target: r });
    floodCount += r * spanS;
  }
  const profile = join(dir, `alt-${round}.profile.json`);
  writeFileSync(
    profile,
    JSON.stringify({
      scenarios: {
        flood: {
          executor: 'ramping-arrival-rate',
          exec: 'quoteTransfer',
          startRate: RATE_OF[cycle[0]!],
          timeUnit: '1s',
          preAllocatedVUs: 20,
          maxVUs: 200,
          stages,
        },
      },
    }),
  );
  const quietSet = join(dir, `alt-${round}-quiet.json`);
  const floodSet = join(dir, `alt-${round}-flood.json`);
  const quiet = await buildPreparedSet({ count: Math.ceil(rate * (duration + warmup)) + 16, keys: loadSigningKeys(keysDir, others), block: blockFor(rate) });
  writeFileSync(quietSet, JSON.stringify(quiet));
  const set = await buildPreparedSet({ count: Math.ceil(floodCount) + 16, keys: loadSigningKeys(keysDir, [flooder, ...others]), from: flooder, block: 64 });
  writeFileSync(floodSet, JSON.stringify(set));
  await sleep(1000);
  const idleCheck = await waitQuiet();
  const cpu0 = cpuTimes();
  let started!: () => void;
  const clock = new Promise<void>((r) => {
    started = r;
  });
  const floodOut = join(dir, `alt-${round}-flood.out.json`);
  const flood = driver(['--profile', profile, '--data', floodSet, '--connections', floodConnections, '--json', floodOut, '--windows'], (line) => {
    if (line.includes('before the clock started')) started();
  });
  void flood.done.then(() => started());
  await clock;
  const steal = stealSampler();
  await sleep(LEAD_S * 1000);
  const out = join(dir, `alt-${round}-quiet.out.json`);
  const args = [
    '--profile',
    'smoke',
    '--data',
    quietSet,
    '--rate',
    String(rate),
    '--duration',
    String(duration),
    '--warmup',
    String(warmup),
    '--json',
    out,
    '--windows',
  ];
  if (values['gateway-pid']) args.push('--gateway-pid', values['gateway-pid']);
  await driver(args).done;
  const machineBusy = busyBetween(cpu0, cpuTimes());
  const stolen = steal.stop();
  await flood.done;
  const q = JSON.parse(readFileSync(out, 'utf8')) as WindowedDigest;
  const f = JSON.parse(readFileSync(floodOut, 'utf8')) as WindowedDigest;
  const spanMs = spanS * 1000;
  const latencies = new Map<Variant, number[]>(variants.map((v) => [v, []]));
  const clean = new Map<Variant, number[]>(variants.map((v) => [v, []]));
  const seconds = new Map<Variant, number>(variants.map((v) => [v, 0]));
  const cleanSeconds = new Map<Variant, number>(variants.map((v) => [v, 0]));
  for (const w of q.windows) {
    const start = q.measuredEpochMs + w.second * 1000 - BEFORE_MS;
    const end = q.measuredEpochMs + (w.second + 1) * 1000 + AFTER_MS;
    const from = start - f.measuredEpochMs;
    const to = end - f.measuredEpochMs;
    const k = Math.floor(from / spanMs);
    if (from < 0 || k !== Math.floor(to / spanMs) || k >= spans) continue;
    const v = cycle[k % cycle.length]!;
    latencies.get(v)!.push(...w.latencies);
    seconds.set(v, seconds.get(v)! + 1);
    if (stealBetween(stolen, start, end) <= STEAL_TICKS) {
      clean.get(v)!.push(...w.latencies);
      cleanSeconds.set(v, cleanSeconds.get(v)! + 1);
    }
  }
  const byVariant: Record<string, unknown> = {};
  for (const v of variants) {
    const xs = latencies.get(v)!.sort((a, b) => a - b);
    const cs = clean.get(v)!.sort((a, b) => a - b);
    byVariant[v] = {
      seconds: seconds.get(v),
      requests: xs.length,
      p50: pct(xs, 50),
      p95: pct(xs, 95),
      p99: pct(xs, 99),
      stealFree: { seconds: cleanSeconds.get(v), requests: cs.length, p50: pct(cs, 50), p95: pct(cs, 95), p99: pct(cs, 99) },
    };
  }
  const stealTicks = stolen[stolen.length - 1]![1] - stolen[0]![1];
  const row = {
    round,
    alternate: spanS,
    cycle,
    busyBefore: Number(idleCheck.toFixed(3)),
    machineBusy: Number(machineBusy.toFixed(3)),
    /** Ticks (1/100 s, summed over the cores) the host gave to others during the run. */
    stealTicks,
    completed: q.completed,
    failed: q.failed,
    responses: q.responses,
    gatewayCpuPercent: q.gateway?.cpuPercent ?? null,
    byVariant,
    flood: {
      sent: f.completed,
      admitted: f.responses['202'] ?? 0,
      refused: f.responses['503 2005'] ?? 0,
      other: Object.fromEntries(Object.entries(f.responses).filter(([k]) => k !== '202' && k !== '503 2005')),
    },
  };
  console.log(JSON.stringify(row));
  return { row, latencies, clean };
}

const rows: Record<string, unknown>[] = [];
if (values.alternate) {
  const spanS = Number(values.alternate);
  if (!(spanS >= 2)) throw new Error('--alternate takes seconds (at least 2)');
  const pooled = { all: new Map<Variant, number[]>(variants.map((v) => [v, []])), stealFree: new Map<Variant, number[]>(variants.map((v) => [v, []])) };
  const ratios = { all: [] as number[], stealFree: [] as number[] };
  for (let r = 1; r <= rounds; r++) {
    const { row, latencies, clean } = await runAlternating(r, spanS);
    rows.push(row);
    for (const [which, m] of [
      ['all', latencies],
      ['stealFree', clean],
    ] as const) {
      for (const v of variants) pooled[which].get(v)!.push(...m.get(v)!);
      if (m.get('flood')?.length && m.get('limit')?.length)
        ratios[which].push(
          pct(
            m.get('flood')!.sort((a, b) => a - b),
            99,
          ) /
            pct(
              m.get('limit')!.sort((a, b) => a - b),
              99,
            ),
        );
    }
  }
  for (const which of ['all', 'stealFree'] as const) {
    console.log(which === 'all' ? 'every counted second:' : `steal-free seconds (at most ${STEAL_TICKS} ticks stolen):`);
    for (const v of variants) {
      const xs = pooled[which].get(v)!.sort((a, b) => a - b);
      console.log(
        `  ${v}: ${xs.length} requests pooled over ${rounds} runs: p50 ${pct(xs, 50).toFixed(2)} p95 ${pct(xs, 95).toFixed(2)} p99 ${pct(xs, 99).toFixed(2)} ms`,
      );
    }
    const rs = ratios[which];
    if (rs.length) console.log(`  flood p99 ÷ at-limit p99, run by run: ${rs.map((x) => x.toFixed(2)).join(' ')}; median ${median(rs).toFixed(2)}`);
  }
} else {
  for (let r = 1; r <= rounds; r++) {
    const order = variants.map((_, i) => variants[(i + r - 1) % variants.length]!);
    for (const v of order) rows.push(await runOne(r, v));
  }
  for (const v of variants) {
    const of = rows.filter((x) => x.variant === v);
    const q = (k: 'p50' | 'p95' | 'p99') => of.map((x) => x[k] as number);
    console.log(
      `${v}: median p50 ${median(q('p50')).toFixed(2)} p95 ${median(q('p95')).toFixed(2)} p99 ${median(q('p99')).toFixed(2)} ms; ` +
        `p99 range ${Math.min(...q('p99')).toFixed(2)}–${Math.max(...q('p99')).toFixed(2)} ms over ${of.length} runs`,
    );
  }
}
if (values.json) writeFileSync(values.json, JSON.stringify(rows, null, 2));
