// The load generator's own health during a run: how much CPU the k6 processes took of the CPUs they may use,
// how much the hypervisor took from the machine (steal), and how late the timers of a probe process fired. The
// probe shares k6's CPUs (the runner's children inherit its affinity), so a timer that fires late means k6's
// CPUs were short: busy with k6 (high k6 CPU), or not running at all (a stalled virtual machine: lag with no
// CPU used, or steal). k6 measures a request from its own clock, so a request it could not schedule is
// counted as a slow gateway answer; these figures say when a latency verdict is the load generator's
// (docs/performance/k6.md §2, "Sharing a machine"). Linux /proc only; elsewhere nothing is measured.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Schedule } from '../driver/profile.js';

/** utime + stime of a /proc/<pid>/stat line, in clock ticks (proc(5): fields 14 and 15). */
export function processTicks(stat: string): number {
  // Field 2 (comm) is in parentheses and may hold spaces or ')': the fields after it start after the LAST ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state), so field n is rest[n - 3].
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`not a /proc/<pid>/stat line: ${stat.slice(0, 80)}`);
  return utime + stime;
}

/** The machine's CPU time of the first line of /proc/stat (proc(5)), in clock ticks: all of it, and steal. */
export function machineTicks(procStat: string): { total: number; steal: number } {
  const line = procStat.split('\n', 1)[0] ?? '';
  const m = /^cpu\s+(.*)$/.exec(line);
  if (!m) throw new Error(`not /proc/stat: ${line.slice(0, 80)}`);
  // user nice system idle iowait irq softirq steal guest guest_nice; guest time is already in user and nice.
  const f = (m[1] as string).trim().split(/\s+/).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
  return { total, steal: f[7] ?? 0 };
}

/** One second of the run. */
export interface HostSecond {
  /** Seconds since the processes were started together (the end of this second). */
  readonly at: number;
  /** CPU the k6 processes used in this second, as a fraction of the CPUs they may use (1 = all of them). */
  readonly k6Cpu: number;
  /** Fraction of the machine's CPU time the hypervisor took (steal); 0 where the kernel reports none. */
  readonly steal: number;
  /** How late this runner's timers fired at worst in this second, in ms (event-loop delay, 10 ms resolution). */
  readonly lagMs: number;
}

/** When a second counts as one in which the load generator's CPUs were busy or held up. */
export const SHORT = { k6Cpu: 0.9, steal: 0.1, lagMs: 50 } as const;

export interface HostSummary {
  /** Seconds judged: those of the profile's measured window (after the connection phase and the warm-up) while every k6 process ran. */
  readonly seconds: number;
  readonly usableCpus: number;
  readonly k6CpuMean: number;
  readonly k6CpuMax: number;
  /** k6's CPU time per request sent in the judged seconds, in µs; undefined without a request count. */
  readonly k6MicrosPerRequest: number | undefined;
  readonly stealMean: number;
  readonly stealMax: number;
  readonly lagMaxMs: number;
  /** The judged seconds in which k6 used ≥ 90 % of its CPUs, steal was ≥ 10 % or a timer was ≥ 50 ms late. */
  readonly shortSeconds: readonly HostSecond[];
}

/** The seconds after the start that the thresholds judge, and the profile's mean request rate in them. */
export interface MeasuredWindow {
  readonly from: number;
  readonly to: number;
  readonly ratePerSecond: number | undefined;
}

/**
 * The profile's measured window: after the connection phase and the warm-up (k6/lib/scale.js), for as long as
 * its longest scenario runs; the rate is every scenario's starts over that time.
 */
export function measuredWindow(
  schedules: readonly Pick<Schedule, 'durationMs' | 'startsBy'>[],
  phases: { readonly connectSeconds: number; readonly warmupSeconds: number },
): MeasuredWindow {
  const from = phases.connectSeconds + phases.warmupSeconds;
  const seconds = Math.max(0, ...schedules.map((s) => s.durationMs / 1000));
  const starts = schedules.reduce((a, s) => a + s.startsBy(s.durationMs), 0);
  return { from, to: from + seconds, ratePerSecond: seconds > 0 ? starts / seconds : undefined };
}

/**
 * The judged seconds (those ending inside `window`, seconds since the start) summarised; undefined when none
 * was measured. `ratePerSecond`: the mean request rate the profile holds in the window, for k6's CPU per request.
 */
export function summarise(
  seconds: readonly HostSecond[],
  window: { readonly from: number; readonly to: number },
  usableCpus: number,
  ratePerSecond?: number,
): HostSummary | undefined {
  const judged = seconds.filter((s) => s.at > window.from && s.at <= window.to);
  if (judged.length === 0) return undefined;
  const sum = (f: (s: HostSecond) => number): number => judged.reduce((a, s) => a + f(s), 0);
  const max = (f: (s: HostSecond) => number): number => judged.reduce((a, s) => Math.max(a, f(s)), 0);
  const k6CpuMean = sum((s) => s.k6Cpu) / judged.length;
  return {
    seconds: judged.length,
    usableCpus,
    k6CpuMean,
    k6CpuMax: max((s) => s.k6Cpu),
    k6MicrosPerRequest: ratePerSecond && ratePerSecond > 0 ? (k6CpuMean * usableCpus * 1e6) / ratePerSecond : undefined,
    stealMean: sum((s) => s.steal) / judged.length,
    stealMax: max((s) => s.steal),
    lagMaxMs: max((s) => s.lagMs),
    shortSeconds: judged.filter((s) => s.k6Cpu >= SHORT.k6Cpu || s.steal >= SHORT.steal || s.lagMs >= SHORT.lagMs),
  };
}

const pct = (x: number): string => `${(x * 100).toFixed(x < 0.1 ? 1 : 0)} %`;

/** The operator's lines: what the load generator had, and a warning when it was short in any judged second. */
export function describeHost(h: HostSummary): string[] {
  const perRequest = h.k6MicrosPerRequest === undefined ? '' : `, ${Math.round(h.k6MicrosPerRequest)} µs per request`;
  const lines = [
    `load generator over ${h.seconds} measured s: k6 CPU ${pct(h.k6CpuMean)} of its ${h.usableCpus} CPU${h.usableCpus === 1 ? '' : 's'} (busiest second ${pct(h.k6CpuMax)})${perRequest}; steal ${pct(h.stealMean)} (max ${pct(h.stealMax)}); timers on its CPUs up to ${Math.round(h.lagMaxMs)} ms late`,
  ];
  if (h.shortSeconds.length > 0) {
    const shown = h.shortSeconds
      .slice(0, 5)
      .map((s) => `${Math.round(s.at)} s: k6 ${pct(s.k6Cpu)}, steal ${pct(s.steal)}, timers ${Math.round(s.lagMs)} ms late`)
      .join('; ');
    lines.push(
      `warning: the load generator's CPUs were busy or held up in ${h.shortSeconds.length} of ${h.seconds} measured seconds (${shown}${h.shortSeconds.length > 5 ? '; …' : ''}): requests k6 could not send or read on time then count as slow answers, so a latency threshold that failed may be the load generator's; give k6 CPUs of its own, or more of them (docs/performance/k6.md §2)`,
    );
  }
  return lines;
}

/** Clock ticks per second (sysconf(_SC_CLK_TCK)); 100 on every Linux Node runs on, read once with getconf. */
function clockTicks(): number {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isInteger(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
}

function readTicks(pids: readonly number[]): number | undefined {
  let t = 0;
  for (const pid of pids) {
    try {
      t += processTicks(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return undefined; // a process has ended: the run is over for this monitor
    }
  }
  return t;
}

function readMachine(): { total: number; steal: number } | undefined {
  try {
    return machineTicks(readFileSync('/proc/stat', 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * The lag probe: a bare Node process (no heap to collect, nothing else to do) that sleeps on the runner's CPUs,
 * which k6 shares, and writes once a second how late its timers fired at worst (ms). It runs apart from the
 * runner so that the runner's own pauses do not count; it exits when its stdin closes (the runner is gone).
 */
const PROBE = `
const { monitorEventLoopDelay } = require('node:perf_hooks');
const h = monitorEventLoopDelay({ resolution: 10 });
h.enable();
let last = performance.now();
setInterval(() => {
  const now = performance.now();
  process.stdout.write(Math.max(0, now - last - 1000, h.max / 1e6).toFixed(1) + '\\n');
  h.reset();
  last = now;
}, 1000);
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

/**
 * Samples every second from start() until stop() or until one of the processes is gone. Does nothing where
 * /proc is missing (not Linux).
 */
export class HostMonitor {
  private readonly seconds: HostSecond[] = [];
  private timer: NodeJS.Timeout | undefined;
  private probe: ChildProcess | undefined;
  /** The worst lag the probe reported since the last sample. */
  private lagMs = 0;

  constructor(private readonly usableCpus: number) {}

  /** The lag probe's pid while it runs (tests hold it up with SIGSTOP). */
  get probePid(): number | undefined {
    return this.probe?.pid;
  }

  start(pids: readonly number[]): void {
    const hz = clockTicks();
    const t0 = performance.now();
    let lastAt = t0;
    let lastTicks = readTicks(pids);
    let lastMachine = readMachine();
    if (lastTicks === undefined || lastMachine === undefined) return;
    const probe = spawn(process.execPath, ['-e', PROBE], { stdio: ['pipe', 'pipe', 'ignore'] });
    this.probe = probe;
    probe.on('error', () => {});
    probe.stdout.setEncoding('utf8').on('data', (d: string) => {
      for (const line of d.split('\n')) if (line !== '') this.lagMs = Math.max(this.lagMs, Number(line) || 0);
    });
    this.timer = setInterval(() => {
      const now = performance.now();
      const ticks = readTicks(pids);
      const machine = readMachine();
      if (ticks === undefined || machine === undefined || lastTicks === undefined || lastMachine === undefined) {
        this.stop();
        return;
      }
      const dt = (now - lastAt) / 1000;
      const dTotal = machine.total - lastMachine.total;
      this.seconds.push({
        at: (now - t0) / 1000,
        k6Cpu: (ticks - lastTicks) / hz / dt / this.usableCpus,
        steal: dTotal > 0 ? (machine.steal - lastMachine.steal) / dTotal : 0,
        lagMs: this.lagMs,
      });
      this.lagMs = 0;
      lastAt = now;
      lastTicks = ticks;
      lastMachine = machine;
    }, 1000);
  }

  stop(): readonly HostSecond[] {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.probe && this.probe.exitCode === null) {
      this.probe.stdin?.end();
      this.probe.kill();
    }
    this.probe = undefined;
    return this.seconds;
  }
}
