// Aggregations over a run: the k6-named metrics thresholds are evaluated against, and the breakpoint.
import type { Recorder } from './stats.js';
import { percentileOfSorted } from './stats.js';
import type { MetricSource } from './thresholds.js';

/** Maps k6 metric names onto the recorder (durations in ms, like k6). */
export function metricSource(rec: Recorder, durationMs: number): MetricSource {
  const seconds = Math.max(durationMs / 1000, 1e-9);
  const h = rec.histogram;
  const ms = (us: number) => us / 1000;
  return {
    value(metric, agg) {
      switch (metric) {
        case 'http_req_duration':
        case 'iteration_duration': {
          if (h.totalCount === 0) return undefined;
          const p = /^p\((\d+(?:\.\d+)?)\)$/.exec(agg);
          if (p) return ms(h.getValueAtPercentile(Number(p[1])));
          if (agg === 'avg') return ms(h.mean);
          if (agg === 'min') return ms(h.minNonZeroValue);
          if (agg === 'max') return ms(h.maxValue);
          if (agg === 'med') return ms(h.getValueAtPercentile(50));
          return undefined;
        }
        case 'http_req_failed':
          if (agg === 'rate') return rec.completed === 0 ? 1 : rec.failed / rec.completed;
          return agg === 'count' ? rec.failed : undefined;
        case 'checks':
          return agg === 'rate' ? (rec.completed === 0 ? 0 : 1 - rec.failed / rec.completed) : undefined;
        case 'dropped_iterations':
          if (agg === 'count') return rec.dropped;
          return agg === 'rate' ? rec.dropped / seconds : undefined;
        case 'http_reqs':
        case 'iterations':
          if (agg === 'count') return rec.completed;
          return agg === 'rate' ? rec.completed / seconds : undefined;
        default:
          return undefined;
      }
    },
  };
}

export interface WindowStat {
  readonly second: number;
  readonly rate: number;
  readonly p99Ms: number;
  readonly errorRate: number;
  readonly dropped: number;
}

export interface Breakpoint {
  /** Highest per-second start rate sustained before the first window that broke a criterion. */
  readonly rate: number;
  /** The first breaking window, if any. */
  readonly brokeAt: WindowStat | undefined;
  /** Single seconds that broke a criterion before the breakpoint (tolerated, and reported). */
  readonly tolerated: readonly WindowStat[];
  readonly windows: readonly WindowStat[];
}

/** Per-second windows; the first of two consecutive seconds breaking the p99/error/dropped criteria ends the search (second 0 ignored). */
export function findBreakpoint(rec: Recorder, crit: { p99Ms: number; maxErrorRate: number }): Breakpoint {
  const windows: WindowStat[] = rec.windows.map((w) => {
    const sorted = w.latencies.sort((a, b) => a - b);
    return {
      second: w.second,
      rate: w.started + w.dropped,
      p99Ms: percentileOfSorted(sorted, 99) / 1000,
      errorRate: w.completed === 0 ? 0 : w.failed / w.completed,
      dropped: w.dropped,
    };
  });
  const bad = (w: WindowStat | undefined): boolean => w !== undefined && (w.p99Ms > crit.p99Ms || w.errorRate >= crit.maxErrorRate || w.dropped > 0);
  let best = 0;
  let brokeAt: WindowStat | undefined;
  const tolerated: WindowStat[] = [];
  for (let i = 1; i < windows.length; i++) {
    const w = windows[i] as WindowStat;
    // Two failing seconds in a row: one stalled second on a shared machine is not a breakpoint.
    if (bad(w) && (bad(windows[i + 1]) || i === windows.length - 1)) {
      brokeAt = w;
      break;
    }
    if (!bad(w)) best = Math.max(best, w.rate);
    else tolerated.push(w);
  }
  return { rate: best, brokeAt, tolerated, windows };
}
