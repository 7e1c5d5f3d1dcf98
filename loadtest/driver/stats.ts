// Result recording: HDR latency histogram (µs), outcomes by HTTP status and FSPIOP error code, and
// per-second windows for breakpoint analysis.

import type { Histogram } from 'hdr-histogram-js';
import * as hdr from 'hdr-histogram-js';

export interface Window {
  readonly second: number;
  started: number;
  completed: number;
  failed: number;
  dropped: number;
  /** Latencies (µs) of this second; sorted when the window is summarised. */
  readonly latencies: number[];
}

export interface Outcome {
  readonly status: number;
  /** errorInformation.errorCode of an error body, or '' */
  readonly code: string;
  readonly expected: boolean;
}

export class Recorder {
  readonly histogram: Histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
  /** Latencies of expected-to-succeed requests only (the "valid requests" figure of a bad-signature mix). */
  readonly validHistogram: Histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
  readonly byStatus = new Map<string, number>();
  readonly unexpected = new Map<string, number>();
  readonly windows: Window[] = [];
  started = 0;
  completed = 0;
  failed = 0;
  dropped = 0;
  exhausted = 0;

  private window(ms: number): Window {
    const second = Math.floor(ms / 1000);
    while (this.windows.length <= second) {
      this.windows.push({ second: this.windows.length, started: 0, completed: 0, failed: 0, dropped: 0, latencies: [] });
    }
    return this.windows[second] as Window;
  }

  start(atMs: number): void {
    this.started++;
    this.window(atMs).started++;
  }

  drop(atMs: number): void {
    this.dropped++;
    this.window(atMs).dropped++;
  }

  /** Records a finished request; `startedAtMs` places it in the window of its start. */
  finish(startedAtMs: number, latencyUs: number, outcome: Outcome, validRequest: boolean): void {
    this.completed++;
    const us = Math.max(1, Math.round(latencyUs));
    this.histogram.recordValue(us);
    if (validRequest) this.validHistogram.recordValue(us);
    const w = this.window(startedAtMs);
    w.completed++;
    w.latencies.push(us);
    const key = outcome.code ? `${outcome.status} ${outcome.code}` : String(outcome.status);
    this.byStatus.set(key, (this.byStatus.get(key) ?? 0) + 1);
    if (!outcome.expected) {
      this.failed++;
      w.failed++;
      this.unexpected.set(key, (this.unexpected.get(key) ?? 0) + 1);
    }
  }
}

/** Pulls `errorInformation.errorCode` out of an FSPIOP error body; '' when absent or not JSON. */
export function fspiopErrorCode(body: string): string {
  if (body.length === 0 || body.length > 65536) return '';
  try {
    const parsed = JSON.parse(body) as { errorInformation?: { errorCode?: unknown } };
    const code = parsed?.errorInformation?.errorCode;
    return typeof code === 'string' ? code : '';
  } catch {
    return '';
  }
}

/** Nearest-rank percentile of a sorted array. */
export function percentileOfSorted(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx] as number;
}
