// k6 threshold expressions evaluated against the driver's results, so one profile file gates both tools.
import type { ThresholdSpec } from './profile.js';

/** Metric values the driver can provide, by k6 metric name and aggregation. */
export interface MetricSource {
  /**
   * Aggregations of a metric ('rate', 'count', 'p(99)', 'avg', 'max', …); undefined if not measured.
   * `key` is the threshold's metric as written, with its tag filter (`http_req_duration{status:200}`).
   */
  value(metric: string, aggregation: string, key: string): number | undefined;
}

export interface ThresholdResult {
  readonly metric: string;
  readonly expression: string;
  readonly actual: number | undefined;
  /** false = failed; undefined = the driver does not measure this metric (reported, never fails). */
  readonly ok: boolean | undefined;
}

const EXPR = /^\s*(p\(\d+(?:\.\d+)?\)|avg|min|max|med|count|rate|value)\s*(<=|>=|==|===|!=|<|>)\s*(-?\d+(?:\.\d+)?)\s*$/;

const CMP: Record<string, (a: number, b: number) => boolean> = {
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
  '==': (a, b) => a === b,
  '===': (a, b) => a === b,
  '!=': (a, b) => a !== b,
};

/** Parses one k6 threshold expression like `p(95)<50` or `rate<0.01`. Throws on syntax the driver cannot read. */
export function parseThreshold(expr: string): { aggregation: string; op: string; bound: number } {
  const m = EXPR.exec(expr);
  if (!m) throw new Error(`unsupported threshold expression: ${expr}`);
  return { aggregation: m[1] as string, op: m[2] as string, bound: Number(m[3]) };
}

/** Evaluates every threshold of a profile. `metric` is the bare name (the driver reads it for `name{tag:x}` too); `key` keeps the filter. */
export function evaluateThresholds(thresholds: Readonly<Record<string, readonly ThresholdSpec[]>>, src: MetricSource): ThresholdResult[] {
  const out: ThresholdResult[] = [];
  for (const [key, specs] of Object.entries(thresholds)) {
    const metric = key.replace(/\{.*\}$/, '');
    for (const spec of specs) {
      const expression = typeof spec === 'string' ? spec : spec.threshold;
      const { aggregation, op, bound } = parseThreshold(expression);
      const actual = src.value(metric, aggregation, key);
      const cmp = CMP[op] as (a: number, b: number) => boolean;
      out.push({ metric: key, expression, actual, ok: actual === undefined ? undefined : cmp(actual, bound) });
    }
  }
  return out;
}
