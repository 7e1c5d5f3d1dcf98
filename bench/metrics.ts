// Scrape-time benchmark of the metrics registry (docs/operations.md): 1000 DFSPs' worth of series, then the time to
// render the Prometheus text exposition, which is what /metrics does. Target: p99 under 100 ms.
// Also measures the hot-path cost of one telemetry call. Run: node --import tsx bench/metrics.ts
import { pathToFileURL } from 'node:url';
import { createTelemetry } from '../src/metrics/registry.js';

const ROUTES = [
  'POST /transfers',
  'PUT /transfers/{ID}',
  'POST /quotes',
  'PUT /quotes/{ID}',
  'GET /parties/{Type}/{ID}',
  'PUT /parties/{Type}/{ID}',
  'PUT /transfers/{ID}/error',
  'POST /fxQuotes',
];
const REASONS = ['GW_JWS_BAD_SIGNATURE', 'GW_JWS_KEY_UNKNOWN', 'GW_JWS_HEADER_MISMATCH'];

export interface MetricsBench {
  readonly dfsps: number;
  readonly series: number;
  readonly bytes: number;
  readonly scrapeMs: { p50: number; p99: number; max: number };
  readonly jwsVerifyCallNs: number;
  readonly requestCallNs: number;
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

export async function run(options: { dfsps?: number; scrapes?: number } = {}): Promise<MetricsBench> {
  const dfsps = options.dfsps ?? 1000;
  const scrapes = options.scrapes ?? 50;
  const t = createTelemetry();
  const ids = Array.from({ length: dfsps }, (_, i) => `dfsp${i + 1}`);
  t.knownPeers(ids);
  // Every DFSP: verifications ok and failed under several reasons, key and upstream series.
  ids.forEach((id, i) => {
    t.jwsVerify({ source: id, outcome: 'ok', form: 'raw', seconds: 0.0005 });
    for (const reason of REASONS) t.jwsVerify({ source: id, outcome: 'failed', reason, seconds: 0.0005 });
    t.upstream({ target: id, outcome: i % 10 ? 'ok' : 'error', seconds: 0.01 });
    t.expiry({ kind: 'jws_key', file: `/keys/jws/${id}.pem`, notAfter: 1_900_000_000 + i });
  });
  for (const route of ROUTES)
    for (const code of ['', '3105', '3100', '2003']) {
      t.request({ listener: 'inbound', route, method: route.split(' ')[0]!, status: 202, fspiopCode: code, seconds: 0.01 });
    }

  const first = await t.metricsText();
  const series = first.split('\n').filter((l) => l && !l.startsWith('#')).length;
  const times: number[] = [];
  for (let i = 0; i < scrapes; i++) {
    const s = performance.now();
    await t.metricsText();
    times.push(performance.now() - s);
  }
  times.sort((a, b) => a - b);

  const N = 200_000;
  let s = process.hrtime.bigint();
  for (let i = 0; i < N; i++) t.jwsVerify({ source: ids[i % dfsps]!, outcome: 'ok', form: 'raw', seconds: 0.0005 });
  const jwsVerifyCallNs = Number(process.hrtime.bigint() - s) / N;
  s = process.hrtime.bigint();
  for (let i = 0; i < N; i++) t.request({ listener: 'inbound', route: ROUTES[i & 7]!, method: 'POST', status: 202, fspiopCode: '', seconds: 0.01 });
  const requestCallNs = Number(process.hrtime.bigint() - s) / N;

  const result = {
    dfsps,
    series,
    bytes: Buffer.byteLength(first),
    scrapeMs: { p50: round(pct(times, 50)), p99: round(pct(times, 99)), max: round(times.at(-1)!) },
    jwsVerifyCallNs: Math.round(jwsVerifyCallNs),
    requestCallNs: Math.round(requestCallNs),
  };
  console.log(`Metrics scrape with ${dfsps} DFSPs: ${series} series, ${(result.bytes / 1024).toFixed(0)} KiB`);
  console.log(
    `  scrape (registry.metrics(), ${scrapes} runs): p50 ${result.scrapeMs.p50} ms, p99 ${result.scrapeMs.p99} ms, max ${result.scrapeMs.max} ms (target p99 < 100 ms)`,
  );
  console.log(`  hot path: jwsVerify ${result.jwsVerifyCallNs} ns/call, request ${result.requestCallNs} ns/call`);
  return result;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await run();
