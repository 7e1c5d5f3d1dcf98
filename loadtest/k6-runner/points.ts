// Raw samples of k6's JSON output (`k6 run --out json=FILE[.gz]`, one JSON object a line): every
// `{"type":"Metric"}` line declares a metric (type trend|counter|rate|gauge, contains time|data|default)
// and every `{"type":"Point"}` line is one sample with its tags
// (https://grafana.com/docs/k6/latest/results-output/real-time/json/). The runner keeps the samples of
// trend metrics, because percentiles of several processes cannot be merged from their summaries: the
// merged p(95) is computed from every process's raw durations, exactly as one k6 process would have.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';

export type MetricType = 'counter' | 'gauge' | 'rate' | 'trend';
export type ValueType = 'default' | 'time' | 'data';

export interface MetricInfo {
  readonly type: MetricType;
  readonly contains: ValueType;
}

/** A growable array of doubles (a soak run holds millions of samples). */
export class Samples {
  private buf = new Float64Array(1024);
  length = 0;

  push(v: number): void {
    if (this.length === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = v;
  }

  /** The samples sorted ascending (a copy). */
  sorted(): Float64Array {
    return this.buf.slice(0, this.length).sort();
  }
}

/** `name{tag:value,other:"x"}` → the bare name and the tag filter (k6's sub-metric syntax). */
export function parseMetricKey(key: string): { name: string; tags: Readonly<Record<string, string>> } {
  const i = key.indexOf('{');
  if (i < 0) return { name: key.trim(), tags: {} };
  if (!key.trimEnd().endsWith('}')) throw new Error(`malformed sub-metric: ${key}`);
  const tags: Record<string, string> = {};
  for (const part of key.slice(i + 1, key.trimEnd().length - 1).split(',')) {
    if (part.trim() === '') continue;
    const c = part.indexOf(':');
    if (c <= 0) throw new Error(`malformed sub-metric tag in ${key}`);
    tags[part.slice(0, c).trim()] = part
      .slice(c + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1');
  }
  return { name: key.slice(0, i).trim(), tags };
}

/** Metric declarations and the trend samples wanted, by metric key (a bare name or a sub-metric). */
export interface PointsResult {
  readonly metrics: Map<string, MetricInfo>;
  readonly trends: Map<string, Samples>;
  /** Point lines read (all metrics). */
  points: number;
  /** The `phase` tags seen on trend samples (connect, warmup, run: k6/lib/scale.js). */
  readonly phases: Set<string>;
}

export function emptyPoints(): PointsResult {
  return { metrics: new Map(), trends: new Map(), points: 0, phases: new Set() };
}

const POINT_PREFIX = /^\{"metric":"([^"]+)","type":"Point"/;

/**
 * Reads one k6 JSON output file (gzip when the name ends in .gz, as k6 writes it) into `into`: every
 * trend's samples under its bare name, and under each wanted sub-metric key whose tags they match.
 */
export async function readPoints(path: string, wantedSubMetrics: readonly string[], into: PointsResult = emptyPoints()): Promise<PointsResult> {
  const filters = new Map<string, { key: string; tags: [string, string][] }[]>();
  for (const key of wantedSubMetrics) {
    const { name, tags } = parseMetricKey(key);
    const list = filters.get(name) ?? [];
    list.push({ key, tags: Object.entries(tags) });
    filters.set(name, list);
  }
  const raw = createReadStream(path);
  const input = path.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  raw.on('error', (e) => input.destroy(e));
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  const samplesOf = (key: string): Samples => {
    let s = into.trends.get(key);
    if (!s) {
      s = new Samples();
      into.trends.set(key, s);
    }
    return s;
  };
  for await (const line of lines) {
    if (line.length === 0) continue;
    // k6 writes a Point as {"metric":…,"type":"Point",…}: skip non-trend samples without parsing them.
    const m = POINT_PREFIX.exec(line);
    if (m && into.metrics.get(m[1] as string)?.type !== 'trend') {
      into.points++;
      continue;
    }
    let o: { type?: string; metric?: string; data?: { type?: string; contains?: string; value?: number; tags?: Record<string, string> | null } };
    try {
      o = JSON.parse(line);
    } catch {
      throw new Error(`${path}: not k6 JSON output (line: ${line.slice(0, 80)})`);
    }
    if (o.type === 'Metric' && o.metric && o.data) {
      into.metrics.set(o.metric, { type: (o.data.type ?? 'counter') as MetricType, contains: (o.data.contains ?? 'default') as ValueType });
      continue;
    }
    if (o.type !== 'Point' || !o.metric || typeof o.data?.value !== 'number') continue;
    into.points++;
    if (into.metrics.get(o.metric)?.type !== 'trend') continue;
    samplesOf(o.metric).push(o.data.value);
    const tags = o.data.tags ?? {};
    if (tags.phase !== undefined) into.phases.add(tags.phase);
    const subs = filters.get(o.metric);
    if (subs) {
      for (const f of subs) if (f.tags.every(([k, v]) => tags[k] === v)) samplesOf(f.key).push(o.data.value);
    }
  }
  return into;
}

/** k6's percentile of sorted samples: linear interpolation between the closest ranks (metrics/sink.go, TrendSink.P). */
export function percentile(sorted: Float64Array, p: number): number {
  const n = sorted.length;
  if (n === 0) return 0;
  if (n === 1) return sorted[0] as number;
  const i = (p / 100) * (n - 1);
  const lo = sorted[Math.floor(i)] as number;
  const hi = sorted[Math.ceil(i)] as number;
  return lo + (hi - lo) * (i - Math.floor(i));
}

/** The trend statistics k6 reports (avg, min, med, max, count, p(N)) of a set of samples. */
export function trendStats(samples: Samples, columns: readonly string[]): Record<string, number> {
  const s = samples.sorted();
  let sum = 0;
  for (const v of s) sum += v;
  const out: Record<string, number> = {
    count: s.length,
    avg: s.length ? sum / s.length : 0,
    min: s.length ? (s[0] as number) : 0,
    max: s.length ? (s[s.length - 1] as number) : 0,
    med: percentile(s, 50),
  };
  for (const c of columns) {
    const m = /^p\((\d+(?:\.\d+)?)\)$/.exec(c);
    if (m) out[c] = percentile(s, Number(m[1]));
  }
  return out;
}
