// Samples CPU time and RSS of the process(es) under test from /proc (Linux), including their children,
// so a gateway running WORKERS processes is measured as a whole.

import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let clkTck = 100;
try {
  clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  // getconf missing: Linux's USER_HZ is 100 on every mainstream kernel.
}

export interface ProcSample {
  /** utime + stime of all sampled processes, in ms. */
  readonly cpuMs: number;
  /** Sum of VmRSS, bytes. */
  readonly rssBytes: number;
  readonly pids: number;
}

/** Reads utime+stime (ms) of one pid from /proc/<pid>/stat; undefined if the process is gone. */
export function readCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) may contain spaces and parentheses: split after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state); utime is field 14, stime field 15.
    return ((Number(rest[11]) + Number(rest[12])) * 1000) / clkTck;
  } catch {
    return undefined;
  }
}

/** Reads VmRSS (bytes) of one pid from /proc/<pid>/status. */
export function readRssBytes(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** The pid and all its descendants (via /proc/<pid>/task/<tid>/children). */
function withDescendants(pid: number): number[] {
  const all: number[] = [];
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop() as number;
    all.push(p);
    try {
      for (const tid of readdirSync(`/proc/${p}/task`)) {
        const kids = readFileSync(`/proc/${p}/task/${tid}/children`, 'utf8').trim();
        if (kids) for (const k of kids.split(/\s+/)) stack.push(Number(k));
      }
    } catch {
      // process exited between reads
    }
  }
  return all;
}

/** One sample over the given root pids and their descendants. */
function sampleProcs(rootPids: readonly number[]): ProcSample {
  let cpuMs = 0;
  let rssBytes = 0;
  let pids = 0;
  for (const root of rootPids) {
    for (const pid of withDescendants(root)) {
      const cpu = readCpuMs(pid);
      const rss = readRssBytes(pid);
      if (cpu === undefined || rss === undefined) continue;
      cpuMs += cpu;
      rssBytes += rss;
      pids++;
    }
  }
  return { cpuMs, rssBytes, pids };
}

export interface ProcSummary {
  /** Average CPU over the run, in % of one core. */
  readonly cpuPercent: number;
  readonly rssStartBytes: number;
  readonly rssEndBytes: number;
  readonly rssMaxBytes: number;
  readonly pids: number;
}

/** Samples periodically until stopped; stop() returns the averages over the sampled interval. */
export function startProcSampler(rootPids: readonly number[], intervalMs = 1000): { stop(): ProcSummary } {
  const first = sampleProcs(rootPids);
  const t0 = performance.now();
  let last = first;
  let rssMax = first.rssBytes;
  const timer = setInterval(() => {
    last = sampleProcs(rootPids);
    rssMax = Math.max(rssMax, last.rssBytes);
  }, intervalMs);
  timer.unref();
  return {
    stop(): ProcSummary {
      clearInterval(timer);
      last = sampleProcs(rootPids);
      rssMax = Math.max(rssMax, last.rssBytes);
      const wall = performance.now() - t0;
      return {
        cpuPercent: wall > 0 ? ((last.cpuMs - first.cpuMs) / wall) * 100 : 0,
        rssStartBytes: first.rssBytes,
        rssEndBytes: last.rssBytes,
        rssMaxBytes: rssMax,
        pids: last.pids,
      };
    },
  };
}
