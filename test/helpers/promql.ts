// Test helper: the metric names a PromQL expression reads, and the series names the registry exports.
import type { MetricsTelemetry } from '../../src/metrics/registry.js';

const KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'inf', 'nan']);

/** Metric names referenced by a PromQL expression (functions, keywords, labels and strings removed). */
export function metricNames(expr: string): string[] {
  const cleaned = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\$\{?\w+\}?/g, ' ')
    .replace(/(?<![A-Za-z0-9_:])\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?:ms|[smhdwy])*(?![A-Za-z0-9_:])/g, ' ');
  const names = new Set<string>();
  for (const m of cleaned.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?/g)) {
    const [, name, call] = m;
    if (name === undefined || call !== undefined || KEYWORDS.has(name.toLowerCase())) continue;
    names.add(name);
  }
  return [...names];
}

/** Every series name the registry can export: counters/gauges as is, histograms with _bucket/_sum/_count. */
export async function exportedNames(t: MetricsTelemetry): Promise<Set<string>> {
  const out = new Set<string>();
  for (const m of await t.registry.getMetricsAsJSON()) {
    out.add(m.name);
    if (String(m.type) === 'histogram' || String(m.type) === 'summary') for (const s of ['_bucket', '_sum', '_count']) out.add(m.name + s);
  }
  return out;
}
