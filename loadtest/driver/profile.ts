// Load profiles: the k6 `options` JSON files in loadtest/k6/profiles/, read by the Node driver too, so
// that both tools run the same executors, rates and thresholds.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROFILES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../k6/profiles');

export interface Stage {
  readonly duration: string;
  readonly target: number;
}

/** The subset of a k6 arrival-rate scenario the driver understands. */
export interface ArrivalScenario {
  readonly executor: 'constant-arrival-rate' | 'ramping-arrival-rate';
  readonly exec?: string;
  readonly rate?: number;
  readonly startRate?: number;
  readonly timeUnit?: string;
  readonly duration?: string;
  readonly stages?: readonly Stage[];
  readonly preAllocatedVUs?: number;
  readonly maxVUs?: number;
  readonly env?: Readonly<Record<string, string>>;
  readonly tags?: Readonly<Record<string, string>>;
}

export type ThresholdSpec = string | { readonly threshold: string; readonly abortOnFail?: boolean };

export interface Profile {
  readonly name: string;
  readonly scenarios: Readonly<Record<string, ArrivalScenario>>;
  readonly thresholds: Readonly<Record<string, readonly ThresholdSpec[]>>;
}

/** A scenario reduced to what the scheduler needs: the arrival rate (per second) at time t. */
export interface Schedule {
  readonly scenario: string;
  readonly exec: string;
  readonly durationMs: number;
  readonly maxInFlight: number;
  readonly env: Readonly<Record<string, string>>;
  /** Arrivals per second at `ms` after start. */
  rateAt(ms: number): number;
  /** Expected number of starts from 0 to `ms` (the integral of rateAt). */
  startsBy(ms: number): number;
}

/** Parses k6 durations: '60s', '2m', '1m30s', '500ms', '1h'. */
export function parseDuration(text: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let consumed = 0;
  for (const m of text.matchAll(re)) {
    total += Number(m[1]) * (unit[m[2] as string] ?? 0);
    consumed += m[0].length;
  }
  if (consumed === 0 || consumed !== text.trim().length) throw new Error(`invalid duration: ${text}`);
  return total;
}

/** Loads a profile by name (loadtest/k6/profiles/<name>.json) or by path. */
export function loadProfile(nameOrPath: string): Profile {
  const path = existsSync(nameOrPath) ? nameOrPath : join(PROFILES_DIR, `${nameOrPath}.json`);
  if (!existsSync(path)) throw new Error(`profile not found: ${nameOrPath}`);
  const raw = JSON.parse(readFileSync(path, 'utf8')) as Partial<Profile>;
  if (!raw.scenarios || Object.keys(raw.scenarios).length === 0) throw new Error(`profile ${path} has no scenarios`);
  return { name: nameOrPath, scenarios: raw.scenarios, thresholds: raw.thresholds ?? {} };
}

export interface ScheduleOverrides {
  readonly durationSeconds?: number;
  readonly rate?: number;
}

/**
 * Turns every scenario of a profile into a Schedule. `--rate` replaces a constant rate, or scales a ramp
 * so that its peak equals the given rate; `--duration` replaces a constant duration or stretches a ramp.
 */
export function buildSchedules(profile: Profile, over: ScheduleOverrides = {}): Schedule[] {
  return Object.entries(profile.scenarios).map(([name, s]) => {
    const unitMs = s.timeUnit ? parseDuration(s.timeUnit) : 1000;
    const perSecond = (r: number) => (r * 1000) / unitMs;
    const maxInFlight = s.maxVUs ?? s.preAllocatedVUs ?? 100;
    const base = { scenario: name, exec: s.exec ?? 'default', maxInFlight, env: s.env ?? {} };
    if (s.executor === 'constant-arrival-rate') {
      const rate = over.rate ?? perSecond(s.rate ?? 0);
      const durationMs = over.durationSeconds !== undefined ? over.durationSeconds * 1000 : parseDuration(s.duration ?? '0s');
      if (!(rate > 0) || !(durationMs > 0)) throw new Error(`scenario ${name}: rate and duration must be > 0`);
      return { ...base, durationMs, rateAt: () => rate, startsBy: (ms: number) => (Math.min(ms, durationMs) * rate) / 1000 };
    }
    if (s.executor === 'ramping-arrival-rate') return ramp(base, s, perSecond, over);
    throw new Error(`scenario ${name}: executor ${String((s as { executor: unknown }).executor)} is not an open-model executor`);
  });
}

function ramp(
  base: Omit<Schedule, 'durationMs' | 'rateAt' | 'startsBy'>,
  s: ArrivalScenario,
  perSecond: (r: number) => number,
  over: ScheduleOverrides,
): Schedule {
  const stages = s.stages ?? [];
  if (stages.length === 0) throw new Error(`scenario ${base.scenario}: ramping-arrival-rate needs stages`);
  const peak = Math.max(perSecond(s.startRate ?? 0), ...stages.map((st) => perSecond(st.target)));
  const scale = over.rate !== undefined && peak > 0 ? over.rate / peak : 1;
  const rawTotal = stages.reduce((a, st) => a + parseDuration(st.duration), 0);
  const stretch = over.durationSeconds !== undefined ? (over.durationSeconds * 1000) / rawTotal : 1;
  // Piecewise-linear points (ms, rate/s), as k6 interpolates between stage targets.
  const pts: Array<[number, number]> = [[0, perSecond(s.startRate ?? 0) * scale]];
  let t = 0;
  for (const st of stages) {
    t += parseDuration(st.duration) * stretch;
    pts.push([t, perSecond(st.target) * scale]);
  }
  const rateAt = (ms: number): number => {
    for (let i = 1; i < pts.length; i++) {
      const [t1, r1] = pts[i] as [number, number];
      const [t0, r0] = pts[i - 1] as [number, number];
      if (ms <= t1) return t1 === t0 ? r1 : r0 + ((r1 - r0) * (ms - t0)) / (t1 - t0);
    }
    return 0;
  };
  const startsBy = (ms: number): number => {
    let acc = 0;
    for (let i = 1; i < pts.length; i++) {
      const [t1, r1] = pts[i] as [number, number];
      const [t0, r0] = pts[i - 1] as [number, number];
      if (ms <= t0) break;
      const end = Math.min(ms, t1);
      const rEnd = t1 === t0 ? r1 : r0 + ((r1 - r0) * (end - t0)) / (t1 - t0);
      acc += (((r0 + rEnd) / 2) * (end - t0)) / 1000;
    }
    return acc;
  };
  return { ...base, durationMs: t, rateAt, startsBy };
}
