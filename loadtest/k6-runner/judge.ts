// The profile's thresholds judged on the merged totals (one verdict for the whole multi-DFSP run), with
// the k6 expressions the Node driver reads too (loadtest/driver/thresholds.ts).

import type { ThresholdSpec } from '../driver/profile.js';
import { evaluateThresholds, parseThreshold } from '../driver/thresholds.js';
import type { MergedRun } from './merge.js';

export interface Verdict {
  readonly metric: string;
  readonly expression: string;
  readonly actual: number | undefined;
  readonly ok: boolean;
  /** Why a threshold without data fails. */
  readonly note?: string;
}

export interface Judgement {
  readonly verdicts: readonly Verdict[];
  readonly passed: boolean;
  /** Per metric key with thresholds: did all of them pass (the ✓/✗ of the summary line). */
  readonly okByKey: ReadonlyMap<string, boolean>;
}

type Thresholds = Readonly<Record<string, readonly ThresholdSpec[]>>;

/** Percentile aggregations the thresholds use (p(99.9)…), computed beside the summary columns. */
export function thresholdPercentiles(thresholds: Thresholds): string[] {
  const out = new Set<string>();
  for (const specs of Object.values(thresholds)) {
    for (const spec of specs) {
      const { aggregation } = parseThreshold(typeof spec === 'string' ? spec : spec.threshold);
      if (aggregation.startsWith('p(')) out.add(aggregation);
    }
  }
  return [...out];
}

export const hasAbortOnFail = (thresholds: Thresholds): boolean =>
  Object.values(thresholds).some((specs) => specs.some((s) => typeof s !== 'string' && s.abortOnFail === true));

/**
 * Judges every threshold on the merged run. A metric no process reported counts 0 for `count` (nothing
 * happened: `dropped_iterations` is only emitted when an iteration is dropped); any other aggregation of
 * a metric without data FAILS, unlike k6, which lets a threshold on an empty trend or rate pass: a run
 * that measured nothing has not shown that the gateway meets its targets.
 */
export function judge(thresholds: Thresholds, run: MergedRun): Judgement {
  const results = evaluateThresholds(thresholds, {
    value(_metric, aggregation, key) {
      const m = run.metrics.get(key);
      if (!m) return aggregation === 'count' ? 0 : undefined;
      if (aggregation === 'rate' && m.type === 'counter') return m.values.rate;
      return m.values[aggregation];
    },
  });
  const verdicts: Verdict[] = results.map((r) =>
    r.ok === undefined
      ? { ...r, ok: false, note: run.metrics.has(r.metric) ? `${r.metric} has no ${r.expression.split(/[<>=!]/)[0]} value` : 'no data' }
      : { ...r, ok: r.ok },
  );
  const okByKey = new Map<string, boolean>();
  for (const v of verdicts) okByKey.set(v.metric, (okByKey.get(v.metric) ?? true) && v.ok);
  return { verdicts, passed: verdicts.every((v) => v.ok), okByKey };
}
