// The rate-limit flood measurement (issue 15; docs/performance/2026-11-29-traffic-control.md): the other DFSPs'
// latency with one limited DFSP absent, sending exactly at its limit, and flooding at N× its limit, in
// alternating rounds against a running topology (e.g. loadtest/topologies/hub.ts with RATE_LIMITS_PATH).
//
//   node --import tsx loadtest/flood-pairs.ts --target https://127.0.0.1:PORT --keys DIR [--rounds 5]
//     [--others perffsp-2,perffsp-3] [--rate 150] [--duration 20] [--warmup 3]
//     [--flooder perffsp-1] [--limit 50] [--factor 5] [--variants absent,limit,flood] [--gateway-pid P] [--json FILE]
//     [--quiet-wait S]   (before each run, wait up to S seconds for the machine to be under 15 % busy [180])
//
// Every run uses the Node driver (loadtest/driver/main.ts) on sets signed before any clock starts
// (prepare-set.ts): the others send quote→transfer journeys as in the earlier runs; the flooder sends
// POST /quotes only, one unique pre-signed request per start (the `from` sets), so the flood's client does no
// crypto but TLS during the run, and everything it sends beyond its limit is refused work only. The flooder's
// driver is started first; once its clock runs (it logs its preconnect), the measured run of the others starts.
// Variants rotate their order from round to round, so a drift of the machine's load spreads over all of them.
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
        '8',
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

const rows: Record<string, unknown>[] = [];
for (let r = 1; r <= rounds; r++) {
  const order = variants.map((_, i) => variants[(i + r - 1) % variants.length]!);
  for (const v of order) rows.push(await runOne(r, v));
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
for (const v of variants) {
  const of = rows.filter((x) => x.variant === v);
  const q = (k: 'p50' | 'p95' | 'p99') => of.map((x) => x[k] as number);
  console.log(
    `${v}: median p50 ${median(q('p50')).toFixed(2)} p95 ${median(q('p95')).toFixed(2)} p99 ${median(q('p99')).toFixed(2)} ms; ` +
      `p99 range ${Math.min(...q('p99')).toFixed(2)}–${Math.max(...q('p99')).toFixed(2)} ms over ${of.length} runs`,
  );
}
if (values.json) writeFileSync(values.json, JSON.stringify(rows, null, 2));
