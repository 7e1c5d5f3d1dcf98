// Finding k6 (`k6 version`) and running one `k6 run` per identity, each with its own log file.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ProcessPlan } from './plan.js';

/** Oldest k6 the scripts are written for (the generation Mojaloop's performance lab pins). */
const MIN_K6 = [0, 48, 0] as const;

const K6_HELP = `k6 is not installed (or not where --k6 / K6_BINARY points). Get k6 v0.48 or later:
  - Debian/Ubuntu: Grafana's apt repository, then \`apt-get install k6\` (https://grafana.com/docs/k6/latest/set-up/install-k6/)
  - a release binary: https://github.com/grafana/k6/releases/tag/v0.48.0 (k6-v0.48.0-linux-amd64.tar.gz), put it on PATH
  - Docker: grafana/k6:0.48.0 (mount this repository and the keys, and pass --k6 with a wrapper script)
  - Go: \`go install go.k6.io/k6@v0.48.0\`
then run this command again, or give the binary with --k6 PATH. Without k6, \`npm run loadtest\` runs the same
profiles with the Node driver.`;

export class K6Missing extends Error {}

/** Parses `k6 version` output ("k6 v0.48.0 (go1.19.8, linux/amd64)") into [major, minor, patch]. */
export function parseK6Version(text: string): [number, number, number] | undefined {
  const m = /\bv?(\d+)\.(\d+)\.(\d+)/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

const atLeast = (v: readonly number[], min: readonly number[]): boolean => {
  for (let i = 0; i < min.length; i++) if ((v[i] ?? 0) !== min[i]) return (v[i] ?? 0) > (min[i] as number);
  return true;
};

/** Runs `<bin> version`; throws K6Missing with how to get k6 when it cannot run or is too old. */
export function checkK6(bin: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(bin, ['version'], { timeout: 20_000 }, (err, stdout, stderr) => {
      if (err) {
        const code = (err as NodeJS.ErrnoException).code;
        const why = code === 'ENOENT' ? `${bin}: not found` : code === 'EACCES' ? `${bin}: not executable` : `\`${bin} version\` failed: ${err.message.trim()}`;
        reject(new K6Missing(`${why}\n${K6_HELP}`));
        return;
      }
      const text = `${stdout}${stderr}`.trim();
      const v = parseK6Version(text);
      if (!v) reject(new K6Missing(`\`${bin} version\` printed "${text}", not a k6 version\n${K6_HELP}`));
      else if (!atLeast(v, MIN_K6)) reject(new K6Missing(`${text}: the scripts need k6 v${MIN_K6.join('.')} or later\n${K6_HELP}`));
      else resolve(text);
    });
  });
}

/** A free TCP port on 127.0.0.1 (for a k6 REST API). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/** k6's ExecutionStatus once its VUs are initialised and it waits for a resume (lib/execution.go, k6 v0.48). */
const K6_PAUSED_BEFORE_RUN = 4;

async function apiStatus(address: string): Promise<{ status: number; paused: boolean } | undefined> {
  try {
    const res = await fetch(`http://${address}/v1/status`, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) return undefined;
    const body = (await res.json()) as { data?: { attributes?: { status?: number; paused?: boolean } } };
    const a = body.data?.attributes;
    return a && typeof a.status === 'number' ? { status: a.status, paused: a.paused === true } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Waits until every paused k6 reports PausedBeforeRun on its REST API (VUs initialised, data loaded),
 * then resumes them all at once (PATCH /v1/status {paused: false}), as the k6 operator's starter does for
 * the instances of one TestRun. Returns false when `abandon()` says a process is gone or time ran out.
 */
async function startTogether(plans: readonly ProcessPlan[], abandon: () => boolean, log: (line: string) => void, timeoutMs = 600_000): Promise<boolean> {
  const t0 = performance.now();
  const ready = new Set<string>();
  while (ready.size < plans.length) {
    if (abandon()) return false;
    if (performance.now() - t0 > timeoutMs) {
      log(
        `k6 processes not initialised after ${timeoutMs / 1000} s: ${plans
          .filter((p) => !ready.has(p.fspId))
          .map((p) => p.fspId)
          .join(', ')}`,
      );
      return false;
    }
    await Promise.all(
      plans
        .filter((p) => !ready.has(p.fspId))
        .map(async (p) => {
          const s = await apiStatus(p.apiAddress as string);
          if (s?.paused && s.status >= K6_PAUSED_BEFORE_RUN) ready.add(p.fspId);
        }),
    );
    if (ready.size < plans.length) await sleep(200);
  }
  if (abandon()) return false;
  const body = JSON.stringify({ data: { type: 'status', id: 'default', attributes: { paused: false } } });
  const resumed = await Promise.all(
    plans.map((p) =>
      fetch(`http://${p.apiAddress}/v1/status`, {
        method: 'PATCH',
        body,
        headers: { 'content-type': 'application/json' },
        signal: AbortSignal.timeout(5000),
      }).then(
        (r) => r.ok,
        () => false,
      ),
    ),
  );
  const failed = plans.filter((_, i) => !resumed[i]).map((p) => p.fspId);
  if (failed.length) {
    log(`could not resume ${failed.join(', ')}`);
    return false;
  }
  log(`all ${plans.length} k6 processes initialised in ${((performance.now() - t0) / 1000).toFixed(1)} s; started together`);
  return true;
}

export interface ProcessResult {
  readonly fspId: string;
  /** Exit code, or null when ended by a signal. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly seconds: number;
  /** Stopped by the runner (another process failed, or the operator pressed Ctrl-C). */
  readonly interrupted: boolean;
}

/** k6 exit codes (errext/exitcodes): 99 = its own thresholds failed; the runner judges the merged ones. */
export const K6_THRESHOLDS_FAILED = 99;

export interface LaunchOptions {
  readonly bin: string;
  readonly plans: readonly ProcessPlan[];
  /** Stop the others when one process ends with 99 early (a profile with abortOnFail thresholds). */
  readonly stopAllOnThresholdAbort: boolean;
  readonly log?: (line: string) => void;
  /** Environment of the k6 processes (default: this process's). */
  readonly env?: NodeJS.ProcessEnv;
  /** Seconds between "still running" lines; 0 = none. */
  readonly heartbeatSeconds?: number;
  /** Called once every process runs: after they were resumed together, or once all are spawned when none is paused. */
  readonly onStarted?: (pids: readonly number[]) => void;
}

/**
 * Starts every process, resumes them together when they run paused (startTogether), waits for all of
 * them, and interrupts the rest (SIGINT: k6 stops gracefully and still writes its summary) when one fails
 * or when the operator interrupts the runner.
 */
export async function launchAll(o: LaunchOptions): Promise<ProcessResult[]> {
  const log = o.log ?? (() => {});
  const t0 = performance.now();
  const children = new Map<string, ChildProcess>();
  const interrupted = new Set<string>();
  let stopping = false;
  const stopOthers = (why: string): void => {
    if (stopping) return;
    stopping = true;
    log(`stopping the other k6 processes: ${why}`);
    for (const [fsp, c] of children) {
      if (c.exitCode === null && c.signalCode === null) {
        interrupted.add(fsp);
        c.kill('SIGINT');
      }
    }
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    stopping = false;
    stopOthers(`${sig} received`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const heartbeat =
    o.heartbeatSeconds && o.heartbeatSeconds > 0
      ? setInterval(() => {
          const running = [...children.values()].filter((c) => c.exitCode === null && c.signalCode === null).length;
          log(`${((performance.now() - t0) / 1000).toFixed(0)} s: ${running} of ${o.plans.length} k6 processes running`);
        }, o.heartbeatSeconds * 1000)
      : undefined;
  try {
    const running = Promise.all(
      o.plans.map(
        (p) =>
          new Promise<ProcessResult>((resolve) => {
            const fd = openSync(p.logFile, 'w');
            // Own process group: a Ctrl-C in the terminal reaches the runner only, which forwards ONE SIGINT
            // (k6 hard-stops, without its summary, on a second one).
            const child = spawn(o.bin, [...p.args], { stdio: ['ignore', fd, fd], env: o.env ?? process.env, detached: true });
            closeSync(fd);
            children.set(p.fspId, child);
            let done = false;
            const finish = (code: number | null, signal: NodeJS.Signals | null, error?: string): void => {
              if (done) return;
              done = true;
              const seconds = (performance.now() - t0) / 1000;
              const result = { fspId: p.fspId, code, signal, seconds, interrupted: interrupted.has(p.fspId) };
              log(`${p.fspId}: ${error ?? `k6 exited ${code ?? signal}`} after ${seconds.toFixed(1)} s${result.interrupted ? ' (interrupted)' : ''}`);
              const othersRunning = [...children.values()].some((c) => c !== child && c.exitCode === null && c.signalCode === null);
              if (othersRunning && !result.interrupted) {
                if (code !== 0 && code !== K6_THRESHOLDS_FAILED) stopOthers(`${p.fspId} failed (${error ?? `exit ${code ?? signal}`}, see ${p.logFile})`);
                else if (code === K6_THRESHOLDS_FAILED && o.stopAllOnThresholdAbort) stopOthers(`${p.fspId} aborted on a threshold (abortOnFail)`);
              }
              resolve(result);
            };
            child.on('error', (e) => finish(null, null, `could not start ${o.bin}: ${e.message}`));
            child.on('close', (code, signal) => finish(code, signal));
          }),
      ),
    );
    const pids = (): number[] => [...children.values()].map((c) => c.pid).filter((pid): pid is number => pid !== undefined);
    if (o.plans.every((p) => p.apiAddress)) {
      const exited = (): boolean => [...children.values()].some((c) => c.exitCode !== null || c.signalCode !== null);
      const started = await startTogether(o.plans, () => stopping || exited(), log);
      if (!started) stopOthers('the processes could not be started together');
      else o.onStarted?.(pids());
    } else o.onStarted?.(pids());
    return await running;
  } finally {
    if (heartbeat) clearInterval(heartbeat);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
