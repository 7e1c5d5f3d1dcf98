// The open-model run: starts are scheduled on a clock from the profile's arrival rate; a start that finds
// every slot (maxVUs) busy is counted as dropped, never queued (k6's dropped_iterations).
import { monitorEventLoopDelay, PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import { type Breakpoint, findBreakpoint, metricSource } from './analysis.js';
import { createClients, type TlsMaterial } from './clients.js';
import { assertLoopback, type PreparedRequest, type PreparedSet, requestAt } from './dataset.js';
import { type ProcSummary, startProcSampler } from './proc.js';
import { buildSchedules, type Profile, type Schedule, type ScheduleOverrides } from './profile.js';
import { fspiopErrorCode, Recorder } from './stats.js';
import { evaluateThresholds, type ThresholdResult } from './thresholds.js';

export interface RunOptions {
  readonly profile: Profile;
  readonly overrides?: ScheduleOverrides;
  /** Base URL of the system under test; must be loopback. */
  readonly target: string;
  readonly requests: PreparedSet;
  readonly tls?: TlsMaterial;
  /** Root pids whose CPU/RSS (with children) is sampled. */
  readonly gatewayPids?: readonly number[];
  readonly connectionsPerFsp?: number;
  readonly requestTimeoutMs?: number;
  /** How long in-flight requests may finish after the last start (k6 gracefulStop). */
  readonly gracefulStopMs?: number;
  readonly breakpoint?: { readonly p99Ms: number; readonly maxErrorRate: number };
  /** Warm-up before the measured run, at each scenario's starting rate; recorded apart and discarded. */
  readonly warmupMs?: number;
  readonly log?: (line: string) => void;
  /** Open every client connection before the clock starts (default true); see ClientSet.preconnect. */
  readonly preconnect?: boolean;
}

export interface RunResult {
  readonly recorder: Recorder;
  readonly elapsedMs: number;
  readonly schedules: readonly Schedule[];
  readonly gateway: ProcSummary | undefined;
  /** The driver's own CPU and event-loop delay (a stalled driver delays starts and inflates latency). */
  readonly driver: {
    readonly cpuPercent: number;
    readonly loopDelayP99Ms: number;
    readonly loopDelayMaxMs: number;
    /** The driver's own garbage collection during the measured run: pauses are stalls of the load generator. */
    readonly gc: { readonly count: number; readonly majorCount: number; readonly totalMs: number; readonly maxMs: number };
  };
  readonly thresholds: readonly ThresholdResult[];
  readonly breakpoint: Breakpoint | undefined;
  /** Client connections opened (and requests sent) before the clock started; 0 without preconnect. */
  readonly preconnected: number;
  /** Wall-clock time (ms since the epoch) of the schedule's origin; the measured run starts `warmupMs` later. */
  readonly clockEpochMs: number;
  readonly warmupMs: number;
  /** True when no threshold failed. */
  readonly passed: boolean;
}

/** Runs one profile against the target and returns the measurements; never throws for request failures. */
export async function runLoad(opts: RunOptions): Promise<RunResult> {
  const origin = assertLoopback(opts.target);
  const basePath = origin.pathname.replace(/\/$/, '');
  const schedules = buildSchedules(opts.profile, opts.overrides);
  const maxInFlightTotal = schedules.reduce((a, s) => a + s.maxInFlight, 0);
  // Capped: every new connection is a TLS handshake (an RSA signature with the client key) on the
  // driver's single thread; an uncapped pool answers rising latency with a handshake storm that stalls
  // the driver and the gateway alike. Requests beyond the cap wait in the pool (and count as in flight).
  const conns = opts.connectionsPerFsp ?? Math.min(32, Math.max(4, Math.ceil(maxInFlightTotal / Math.max(1, opts.requests.fsps.length))));
  const clients = createClients(origin, opts.tls, conns);
  let preconnected = 0;
  if (opts.preconnect !== false) {
    const t = performance.now();
    preconnected = await clients.preconnect(opts.requests.fsps, conns, `${basePath}/`);
    opts.log?.(`${preconnected} client connections opened in ${((performance.now() - t) / 1000).toFixed(1)} s before the clock started`);
  }
  const rec = new Recorder();
  const warm = new Recorder();
  const W = opts.warmupMs ?? 0;
  const timeoutMs = opts.requestTimeoutMs ?? 30_000;
  let next = 0;
  const t0 = performance.now();

  const send = (req: PreparedRequest, warmup: boolean, startedAt: number): Promise<void> => {
    const r = warmup ? warm : rec;
    const options: Dispatcher.RequestOptions = {
      path: basePath + req.path,
      method: req.method,
      headers: req.headers,
      body: req.body,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    };
    const sent = performance.now();
    const valid = req.expectStatus < 400;
    return clients
      .pool(req.fsp)
      .request(options)
      .then(
        async (res) => {
          const text = res.statusCode >= 400 ? await res.body.text() : await res.body.dump().then(() => '');
          const code = fspiopErrorCode(text);
          const expected = res.statusCode === req.expectStatus && (req.expectCode === undefined || req.expectCode === code);
          r.finish(startedAt, (performance.now() - sent) * 1000, { status: res.statusCode, code, expected }, valid);
        },
        (err: unknown) => {
          const code = (err as { code?: string }).code ?? 'ERR';
          r.finish(startedAt, (performance.now() - sent) * 1000, { status: 0, code, expected: false }, valid);
        },
      );
  };

  const runSchedule = (s: Schedule): Promise<void> =>
    new Promise((resolve) => {
      let launched = 0;
      let inFlight = 0;
      const pending = new Set<Promise<void>>();
      const r0 = s.rateAt(0);
      const warmStarts = Math.floor((r0 * W) / 1000);
      const startsBy = (ms: number): number => (ms < W ? (r0 * ms) / 1000 : (r0 * W) / 1000 + s.startsBy(ms - W));
      let prevNow = 0;
      const tick = (): void => {
        const now = performance.now() - t0;
        const due = Math.floor(startsBy(now));
        const first = launched;
        while (launched < due) {
          launched++;
          // Attribute by start number, not by tick time: start k is due at the k-th arrival, and after a
          // stalled tick the burst of late starts is spread back over the interval they were due in.
          const r = launched <= warmStarts ? warm : rec;
          const dueAt = prevNow + ((now - prevNow) * (launched - first)) / (due - first);
          const at = r === warm ? dueAt : Math.max(0, dueAt - W);
          if (inFlight >= s.maxInFlight) {
            r.drop(at);
            continue;
          }
          const req = requestAt(opts.requests, next++);
          if (!req) {
            r.exhausted++;
            r.drop(at);
            continue;
          }
          inFlight++;
          r.start(at);
          const p = send(req, r === warm, at).finally(() => {
            inFlight--;
            pending.delete(p);
          });
          pending.add(p);
        }
        prevNow = now;
        if (now < W + s.durationMs) {
          setTimeout(tick, 1);
          return;
        }
        const grace = new Promise<void>((r) => setTimeout(r, opts.gracefulStopMs ?? 10_000).unref());
        void Promise.race([Promise.allSettled([...pending]), grace]).then(() => resolve());
      };
      tick();
    });

  let sampler: ReturnType<typeof startProcSampler> | undefined;
  let cpu0 = process.cpuUsage();
  let tMeasured = t0;
  const loop = monitorEventLoopDelay({ resolution: 5 });
  const gc = { count: 0, majorCount: 0, totalMs: 0, maxMs: 0 };
  let gcOn = false;
  const gcObserver = new PerformanceObserver((list) => {
    if (!gcOn) return;
    for (const e of list.getEntries()) {
      gc.count++;
      if ((e as { detail?: { kind?: number } }).detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) gc.majorCount++;
      gc.totalMs += e.duration;
      gc.maxMs = Math.max(gc.maxMs, e.duration);
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  const warmTimer = setTimeout(() => {
    gcOn = true;
    loop.enable();
    sampler = opts.gatewayPids && opts.gatewayPids.length > 0 ? startProcSampler(opts.gatewayPids) : undefined;
    cpu0 = process.cpuUsage();
    tMeasured = performance.now();
  }, W);
  await Promise.all(schedules.map(runSchedule));
  clearTimeout(warmTimer);
  loop.disable();
  gcOn = false;
  gcObserver.disconnect();
  const elapsedMs = performance.now() - tMeasured;
  const gateway = sampler?.stop();
  const used = process.cpuUsage(cpu0);
  await clients.close().catch(() => undefined);
  const src = metricSource(rec, Math.max(...schedules.map((s) => s.durationMs)));
  const thresholds = evaluateThresholds(opts.profile.thresholds, src);
  const breakpoint =
    schedules.some((s) => s.rateAt(0) !== s.rateAt(s.durationMs / 2)) || opts.breakpoint
      ? findBreakpoint(rec, opts.breakpoint ?? { p99Ms: 50, maxErrorRate: 0.001 })
      : undefined;
  return {
    recorder: rec,
    elapsedMs,
    schedules,
    gateway,
    driver: {
      cpuPercent: ((used.user + used.system) / 1000 / elapsedMs) * 100,
      loopDelayP99Ms: loop.count > 0 ? loop.percentile(99) / 1e6 : 0,
      loopDelayMaxMs: loop.count > 0 ? loop.max / 1e6 : 0,
      gc,
    },
    thresholds,
    breakpoint,
    preconnected,
    clockEpochMs: performance.timeOrigin + t0,
    warmupMs: W,
    passed: thresholds.every((t) => t.ok !== false),
  };
}
