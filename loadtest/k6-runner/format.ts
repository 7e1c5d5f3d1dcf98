// The merged figures printed in the layout of k6's end-of-test summary (k6 v0.48, no colours): checks
// first (✓ name, or ✗ name with "↳  P% — ✓ passes / ✗ fails"), then one line per metric, sorted by name
// with sub-metrics under their parent as "{ tag:value }", dots up to a common column, a ✓/✗ mark for
// metrics with thresholds, trends as stat=value columns, counters as "count rate/s", rates as
// "P% ✓ passes ✗ fails", gauges as "value min=… max=…"; durations as 1.2ms / 350µs / 1m2s, bytes as kB/MB
// (powers of 1000), rates truncated to two decimals.
import type { GroupSummary, MergedMetric } from './merge.js';

const PASS = '✓';
const FAIL = '✗';

/** Drops trailing zeros of a fixed-point rendering: 1.50 → 1.5, 2.00 → 2. */
const trimmed = (v: number, digits: number): string => String(Number.parseFloat(v.toFixed(digits)));
/** Truncates (not rounds) to `digits` decimals before trimming. */
const truncated = (v: number, digits: number): string => {
  const f = 10 ** digits;
  return trimmed(Math.trunc(v * f) / f, digits);
};

/** A duration given in milliseconds, as k6 prints it. */
export function humanDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 0.001) return `${Math.trunc(ms * 1e6)}ns`;
  if (ms < 1) return `${truncated(ms * 1000, 2)}µs`;
  if (ms < 1000) return `${truncated(ms, 2)}ms`;
  let out = `${truncated((ms % 60_000) / 1000, ms > 60_000 ? 0 : 2)}s`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes < 1) return out;
  out = `${minutes % 60}m${out}`;
  const hours = Math.trunc(minutes / 60);
  return hours < 1 ? out : `${hours}h${out}`;
}

/** A byte count in powers of 1000, one decimal below 10 (k6's data metrics). */
export function humanBytes(bytes: number): string {
  if (bytes < 10) return `${bytes} B`;
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  const e = Math.min(units.length - 1, Math.floor(Math.log(bytes) / Math.log(1000)));
  const v = Math.floor((bytes / 1000 ** e) * 10 + 0.5) / 10;
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[e]}`;
}

function humanValue(v: number, m: Pick<MergedMetric, 'type' | 'contains'>): string {
  if (m.type === 'rate') return `${(Math.trunc(v * 10_000) / 100).toFixed(2)}%`;
  if (m.contains === 'data') return humanBytes(v);
  if (m.contains === 'time') return humanDuration(v);
  return trimmed(v, 6);
}

/** The value columns of a non-trend metric: the main value, then its extras. */
function nonTrendColumns(m: MergedMetric): string[] {
  const v = m.values;
  if (m.type === 'counter') return [humanValue(v.count ?? 0, m), `${humanValue(v.rate ?? 0, m)}/s`];
  if (m.type === 'gauge') return [humanValue(v.value ?? 0, m), `min=${humanValue(v.min ?? 0, m)}`, `max=${humanValue(v.max ?? 0, m)}`];
  return [humanValue(v.rate ?? 0, m), `${PASS} ${v.passes ?? 0}`, `${FAIL} ${v.fails ?? 0}`];
}

function checkLines(group: GroupSummary, indent: string): string[] {
  const out: string[] = [];
  let inner = indent;
  if (group.name !== '') {
    out.push(`${indent}█ ${group.name}`, '');
    inner = `${indent}  `;
  }
  for (const c of group.checks) {
    if (c.fails === 0) out.push(`${inner}${PASS} ${c.name}`);
    else {
      const pct = Math.floor((100 * c.passes) / (c.passes + c.fails));
      out.push(`${inner}${FAIL} ${c.name}`, `${inner} ↳  ${pct}% — ${PASS} ${c.passes} / ${FAIL} ${c.fails}`);
    }
  }
  if (group.checks.length > 0) out.push('');
  for (const g of group.groups) out.push(...checkLines(g, inner));
  return out;
}

/** Parents by name, each followed by its sub-metrics by their tag text. */
function metricOrder(a: string, b: string): number {
  const pa = a.split('{', 1)[0] as string;
  const pb = b.split('{', 1)[0] as string;
  return pa === pb ? a.slice(pa.length).localeCompare(b.slice(pb.length)) : pa.localeCompare(pb);
}

const displayName = (key: string): string => {
  const i = key.indexOf('{');
  return i < 0 ? key : `{ ${key.slice(i + 1, -1)} }`;
};

/**
 * The summary text: checks, then metrics. `thresholdOk` gives, per metric key with thresholds, whether all
 * of them passed (the mark before the name).
 */
export function formatK6Summary(
  rootGroup: GroupSummary,
  metrics: readonly MergedMetric[],
  trendColumns: readonly string[],
  thresholdOk: ReadonlyMap<string, boolean> = new Map(),
): string {
  const lines = checkLines(rootGroup, '     ');
  const sorted = [...metrics].sort((a, b) => metricOrder(a.key, b.key));
  const width = (s: string) => [...s].length;
  const subIndent = (key: string) => (key.includes('{') ? '  ' : '');
  const nameWidth = Math.max(0, ...sorted.map((m) => width(subIndent(m.key) + displayName(m.key))));
  const trendCols = new Map<string, string[]>();
  const colWidths = trendColumns.map(() => 0);
  const other = new Map<string, string[]>();
  const otherWidths: number[] = [];
  for (const m of sorted) {
    if (m.type === 'trend') {
      const cols = trendColumns.map((c, i) => {
        const text = c === 'count' ? String(m.values.count ?? 0) : humanValue(m.values[c] ?? 0, m);
        colWidths[i] = Math.max(colWidths[i] as number, width(text));
        return text;
      });
      trendCols.set(m.key, cols);
    } else {
      const cols = nonTrendColumns(m);
      cols.forEach((c, i) => {
        otherWidths[i] = Math.max(otherWidths[i] ?? 0, width(c));
      });
      other.set(m.key, cols);
    }
  }
  const pad = (s: string, w: number) => s + ' '.repeat(Math.max(0, w - width(s)));
  for (const m of sorted) {
    const ok = thresholdOk.get(m.key);
    const mark = ok === undefined ? ' ' : ok ? PASS : FAIL;
    const name = displayName(m.key);
    const indent = subIndent(m.key);
    const dots = '.'.repeat(nameWidth - width(name) - width(indent) + 3);
    const trend = trendCols.get(m.key);
    const data = trend
      ? trend.map((t, i) => `${trendColumns[i]}=${pad(t, colWidths[i] as number)}`).join(' ')
      : (other.get(m.key) as string[]).map((c, i, all) => (i === all.length - 1 && all.length === 2 ? c : pad(c, otherWidths[i] as number))).join(' ');
    lines.push(`   ${indent}${mark} ${name}${dots}: ${data}`.trimEnd());
  }
  return lines.join('\n');
}
