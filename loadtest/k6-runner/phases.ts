// The k6 script's own scaling and phase functions (loadtest/k6/lib/scale.js: plain JavaScript without k6
// imports), loaded at run time so that the runner judges exactly the keys each k6 process judges.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROFILES_DIR, type Profile } from '../driver/profile.js';

export interface ScaleModule {
  scaleScenarios(s: Record<string, unknown>, rate: number, duration: number): Record<string, Record<string, any>>;
  peakPerSecond(s: unknown): number;
  withConnectPhase(s: Record<string, unknown>, seconds: number): Record<string, Record<string, any>>;
  withWarmup(s: Record<string, unknown>, seconds: number): Record<string, Record<string, any>>;
  warmupRequests(ratePerSecond: number, seconds: number): number;
  runThresholds<T>(thresholds: Readonly<Record<string, T>>, seconds: number): Record<string, T>;
  judgedThresholds<T>(thresholds: Readonly<Record<string, T>>, phaseSeconds: number): Record<string, T | string[]>;
  readonly EXHAUSTED: string;
  readonly CONNECT_SCENARIO: string;
}

export const loadScaleModule = async (): Promise<ScaleModule> => (await import(pathToFileURL(join(PROFILES_DIR, '..', 'lib', 'scale.js')).href)) as ScaleModule;

/** The profile's thresholds as every k6 process judges them (index.js): phases left out, running out of requests failed. */
export async function judgedThresholds(profile: Profile, phases: { connectSeconds: number; warmupSeconds: number }): Promise<Profile> {
  const scale = await loadScaleModule();
  return { ...profile, thresholds: scale.judgedThresholds(profile.thresholds, phases.connectSeconds + phases.warmupSeconds) as Profile['thresholds'] };
}
