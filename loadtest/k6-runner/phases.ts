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
  readonly CONNECT_SCENARIO: string;
}

export const loadScaleModule = async (): Promise<ScaleModule> => (await import(pathToFileURL(join(PROFILES_DIR, '..', 'lib', 'scale.js')).href)) as ScaleModule;

/** The profile's thresholds as every k6 process judges them with CONNECT_SECONDS and WARMUP_SECONDS. */
export async function judgedThresholds(profile: Profile, phases: { connectSeconds: number; warmupSeconds: number }): Promise<Profile> {
  const scale = await loadScaleModule();
  return { ...profile, thresholds: scale.runThresholds(profile.thresholds, phases.connectSeconds + phases.warmupSeconds) };
}
