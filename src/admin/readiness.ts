// /ready (docs/operations.md): ready only when every injected check passes. A check that throws, rejects or takes
// longer than the timeout counts as failing, so a hung dependency cannot hang the probe.

export interface ReadinessCheck {
  /** Reported in the /ready body, e.g. 'certificates', 'upstream', 'keys', 'store'. */
  readonly name: string;
  check(): Promise<boolean> | boolean;
  /** Optional details shown under `info.<name>` in the /ready body (e.g. quarantine losses). */
  info?(): unknown;
}

export interface ReadinessResult {
  readonly ready: boolean;
  readonly status: 'ready' | 'not_ready';
  readonly checks: Record<string, boolean>;
  readonly failing: string[];
  readonly info?: Record<string, unknown>;
}

const withTimeout = (p: Promise<boolean>, ms: number) =>
  new Promise<boolean>((resolve, reject) => {
    const t = setTimeout(() => resolve(false), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });

/** Runs every check concurrently; each gets `timeoutMs` (default 2000). */
export async function runChecks(checks: readonly ReadinessCheck[], onError: (e: unknown) => void = () => {}, timeoutMs = 2000): Promise<ReadinessResult> {
  const results = await Promise.all(
    checks.map(async (c) => {
      try {
        return (
          (await withTimeout(
            Promise.resolve().then(() => c.check()),
            timeoutMs,
          )) === true
        );
      } catch (err) {
        onError(err);
        return false;
      }
    }),
  );
  const out: Record<string, boolean> = {};
  checks.forEach((c, i) => {
    out[c.name] = results[i] ?? false;
  });
  const failing = checks.filter((_, i) => !results[i]).map((c) => c.name);
  const info: Record<string, unknown> = {};
  for (const c of checks) if (c.info) info[c.name] = c.info();
  return {
    ready: failing.length === 0,
    status: failing.length === 0 ? 'ready' : 'not_ready',
    checks: out,
    failing,
    ...(Object.keys(info).length ? { info } : {}),
  };
}
