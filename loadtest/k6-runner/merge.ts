// Merging the end-of-test summaries of the per-DFSP k6 processes (`k6 run --summary-export FILE`).
// The export (k6 v0.48 js/summary-wrapper.js) holds `root_group` (checks by name with passes/fails, groups
// by name) and `metrics`: a counter is {count, rate}, a rate {value, passes, fails}, a gauge
// {value, min, max}, a trend its summaryTrendStats; `thresholds` maps an expression to true when it
// FAILED in that process. Counters add up, rates are weighted by their samples (Σpasses / Σ(passes+fails)),
// gauges add up (the processes ran side by side: vus is the sum; a merged max is the sum of the maxima,
// an upper bound), and trends come from the raw samples (points.ts), never from the per-process percentiles.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { emptyPoints, type MetricInfo, type MetricType, type PointsResult, parseMetricKey, readPoints, trendStats, type ValueType } from './points.js';

export interface CheckCount {
  readonly name: string;
  passes: number;
  fails: number;
}

export interface GroupSummary {
  readonly name: string;
  readonly checks: CheckCount[];
  readonly groups: GroupSummary[];
}

/** One process's export, as read. */
export interface ProcessSummary {
  readonly id: string;
  readonly rootGroup: GroupSummary;
  readonly metrics: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** Seconds the test ran, from a counter's count/rate (the export drops `state.testRunDurationMs`). */
  readonly durationSeconds: number | undefined;
}

export interface MergedMetric {
  readonly key: string;
  readonly type: MetricType;
  readonly contains: ValueType;
  /** count/rate (counter), rate/passes/fails (rate), value/min/max (gauge), avg/min/med/max/count/p(N) (trend). */
  readonly values: Readonly<Record<string, number>>;
}

export interface MergedRun {
  readonly processes: readonly string[];
  readonly durationSeconds: number;
  readonly rootGroup: GroupSummary;
  readonly metrics: ReadonlyMap<string, MergedMetric>;
  /** Trend keys seen in a summary but without raw samples (no points file): not merged, reported as such. */
  readonly unmerged: readonly string[];
}

/** Default k6 metadata of the built-in metrics, for keys no points file declared. */
const BUILTIN_CONTAINS: Readonly<Record<string, ValueType>> = {
  data_sent: 'data',
  data_received: 'data',
  iteration_duration: 'time',
};

function readGroup(raw: unknown): GroupSummary {
  const g = (raw ?? {}) as { name?: string; checks?: unknown; groups?: unknown };
  // The export keys checks and groups by name (objects); the handleSummary form has arrays.
  const checks = Object.values((g.checks ?? {}) as Record<string, { name?: string; passes?: number; fails?: number }>).map((c) => ({
    name: String(c.name),
    passes: Number(c.passes ?? 0),
    fails: Number(c.fails ?? 0),
  }));
  const groups = Object.values((g.groups ?? {}) as Record<string, unknown>).map(readGroup);
  return { name: String(g.name ?? ''), checks, groups };
}

/** Reads one `--summary-export` file. */
function readSummaryExport(path: string, id: string): ProcessSummary {
  let raw: { root_group?: unknown; metrics?: Record<string, Record<string, unknown>> };
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
  if (!raw || typeof raw.metrics !== 'object') throw new Error(`${path}: not a k6 --summary-export file (no "metrics")`);
  let durationSeconds: number | undefined;
  for (const name of ['iterations', 'http_reqs', ...Object.keys(raw.metrics)]) {
    const m = raw.metrics[name];
    if (m && typeof m.count === 'number' && typeof m.rate === 'number' && m.count > 0 && m.rate > 0) {
      durationSeconds = m.count / m.rate;
      break;
    }
  }
  return { id, rootGroup: readGroup(raw.root_group), metrics: raw.metrics, durationSeconds };
}

/** The type of a metric in a summary export, from the shape of its values. */
function inferType(values: Readonly<Record<string, unknown>>): MetricType {
  if ('passes' in values && 'fails' in values) return 'rate';
  if ('count' in values && 'rate' in values) return 'counter';
  if ('value' in values && 'min' in values && 'max' in values && !('avg' in values)) return 'gauge';
  return 'trend';
}

function mergeGroups(groups: readonly GroupSummary[]): GroupSummary {
  const checks: CheckCount[] = [];
  const byName = new Map<string, CheckCount>();
  const sub = new Map<string, GroupSummary[]>();
  for (const g of groups) {
    for (const c of g.checks) {
      const seen = byName.get(c.name);
      if (seen) {
        seen.passes += c.passes;
        seen.fails += c.fails;
      } else {
        const copy = { name: c.name, passes: c.passes, fails: c.fails };
        byName.set(c.name, copy);
        checks.push(copy);
      }
    }
    for (const s of g.groups) sub.set(s.name, [...(sub.get(s.name) ?? []), s]);
  }
  return { name: groups[0]?.name ?? '', checks, groups: [...sub.values()].map(mergeGroups) };
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/**
 * Merges the processes' summaries with the trend samples of their raw outputs. `trendColumns` are the
 * statistics to compute for trends (index.js's summaryTrendStats).
 */
function mergeSummaries(summaries: readonly ProcessSummary[], points: PointsResult, trendColumns: readonly string[]): MergedRun {
  const keys = new Set<string>();
  for (const s of summaries) for (const k of Object.keys(s.metrics)) keys.add(k);
  for (const k of points.trends.keys()) keys.add(k);
  const durations = summaries.map((s) => s.durationSeconds).filter((d): d is number => d !== undefined);
  const durationSeconds = durations.length ? Math.max(...durations) : 0;
  const metrics = new Map<string, MergedMetric>();
  const unmerged: string[] = [];
  for (const key of [...keys].sort()) {
    const { name } = parseMetricKey(key);
    const present = summaries.map((s) => s.metrics[key]).filter((v): v is Readonly<Record<string, unknown>> => v !== undefined);
    const declared: MetricInfo | undefined = points.metrics.get(name);
    const type = declared?.type ?? (present[0] ? inferType(present[0]) : 'trend');
    const contains = declared?.contains ?? BUILTIN_CONTAINS[name] ?? (name.startsWith('http_req_') && type === 'trend' ? 'time' : 'default');
    let values: Record<string, number>;
    if (type === 'counter') {
      const count = present.reduce((a, v) => a + num(v.count), 0);
      values = { count, rate: durationSeconds > 0 ? count / durationSeconds : 0 };
    } else if (type === 'rate') {
      const passes = present.reduce((a, v) => a + num(v.passes), 0);
      const fails = present.reduce((a, v) => a + num(v.fails), 0);
      // No sample is no rate (k6 exports a threshold's sub-metric even when nothing matched it): judged as no data.
      values = passes + fails > 0 ? { rate: passes / (passes + fails), passes, fails } : { passes, fails };
    } else if (type === 'gauge') {
      values = {
        value: present.reduce((a, v) => a + num(v.value), 0),
        min: present.reduce((a, v) => a + num(v.min), 0),
        max: present.reduce((a, v) => a + num(v.max), 0),
      };
    } else {
      const samples = points.trends.get(key);
      if (!samples || samples.length === 0) {
        unmerged.push(key);
        continue;
      }
      values = trendStats(samples, trendColumns);
    }
    metrics.set(key, { key, type, contains, values });
  }
  return { processes: summaries.map((s) => s.id), durationSeconds, rootGroup: mergeGroups(summaries.map((s) => s.rootGroup)), metrics, unmerged };
}

/** Process ids of a results directory: every <id>.summary.json. */
export function resultIds(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.summary.json'))
    .map((f) => f.slice(0, -'.summary.json'.length))
    .sort();
}

/** The files the k6 processes of these identities leave in a results directory (summary, raw samples, log). */
export function heldResults(dir: string, ids: readonly string[]): string[] {
  if (!existsSync(dir)) return [];
  const own = new Set(ids.flatMap((id) => [`${id}.summary.json`, `${id}.points.json`, `${id}.points.json.gz`, `${id}.log`]));
  return readdirSync(dir)
    .filter((f) => own.has(f))
    .sort();
}

/** The raw-output file of a process, `<id>.points.json.gz` or `<id>.points.json`, if there is one. */
function pointsFileOf(dir: string, id: string): string | undefined {
  for (const f of [`${id}.points.json.gz`, `${id}.points.json`]) if (existsSync(join(dir, f))) return join(dir, f);
  return undefined;
}

/**
 * Reads and merges the results of the given processes in `dir` (<id>.summary.json, <id>.points.json[.gz]).
 * Sub-metrics of trends named in the summaries or in `extraKeys` (threshold keys) are computed from the
 * samples' tags.
 */
export async function mergeResults(
  dir: string,
  ids: readonly string[],
  trendColumns: readonly string[],
  extraKeys: readonly string[] = [],
): Promise<{ run: MergedRun; missingPoints: string[]; phases: ReadonlySet<string> }> {
  const summaries = ids.map((id) => readSummaryExport(join(dir, `${id}.summary.json`), id));
  const subKeys = new Set<string>(extraKeys.filter((k) => k.includes('{')));
  for (const s of summaries) for (const k of Object.keys(s.metrics)) if (k.includes('{')) subKeys.add(k);
  const points = emptyPoints();
  const missingPoints: string[] = [];
  for (const id of ids) {
    const f = pointsFileOf(dir, id);
    if (f) await readPoints(f, [...subKeys], points);
    else missingPoints.push(id);
  }
  // A sub-metric of a counter or rate that only a threshold names is not in the summaries: leave it to the
  // judgement (reported as not measured) rather than inventing a value.
  return { run: mergeSummaries(summaries, points, trendColumns), missingPoints, phases: points.phases };
}
