// Test helper: runs Debian's `prometheus` binary on loopback with a temporary config and TSDB, and reads
// series back through its HTTP API. The process is always killed and the directory removed by stop().
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './wait.js';

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

export interface RunningPrometheus {
  readonly url: string;
  /** Instant query; resolves the result vector. */
  query(q: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  get(path: string): Promise<any>;
  readonly output: () => string;
  stop(): Promise<void>;
}

export async function startPrometheus(o: { target: string; ruleFiles?: string[]; timeoutMs?: number }): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'sg-prom-'));
  const port = await freePort();
  const config = [
    'global: { scrape_interval: 1s, evaluation_interval: 1s, scrape_timeout: 900ms }',
    ...(o.ruleFiles?.length ? ['rule_files:', ...o.ruleFiles.map((f) => `  - ${JSON.stringify(f)}`)] : []),
    'scrape_configs:',
    '  - job_name: switchguard',
    `    static_configs: [ { targets: [ ${JSON.stringify(o.target)} ] } ]`,
  ].join('\n');
  writeFileSync(join(dir, 'prometheus.yml'), config);
  let out = '';
  const child: ChildProcess = spawn(
    'prometheus',
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const spawnError = new Promise<never>((_, reject) =>
    child.once('error', (e) => reject(new Error(`cannot start prometheus (run .ci/install-prometheus.sh): ${e.message}`))),
  );
  const url = `http://127.0.0.1:${port}`;

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const get = async (path: string) => (await fetch(url + path)).json();

  try {
    const deadline = Date.now() + (o.timeoutMs ?? 15_000);
    const ready = (async () => {
      for (;;) {
        if (Date.now() > deadline) throw new Error(`prometheus not ready in time:\n${out}`);
        if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}:\n${out}`);
        try {
          if ((await fetch(`${url}/-/ready`)).status === 200) return;
        } catch {
          /* not listening yet */
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await Promise.race([ready, spawnError]);
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    url,
    get,
    stop,
    output: () => out,
    async query(q) {
      const body = (await get(`/api/v1/query?query=${encodeURIComponent(q)}`)) as { status: string; data: { result: [] } };
      if (body.status !== 'success') throw new Error(JSON.stringify(body));
      return body.data.result;
    },
  };
}

/** Polls `fn` until it returns a defined value or `ms` passes. */
export async function eventually<T>(fn: () => Promise<T | undefined>, ms: number, what: string): Promise<T> {
  const found = await waitFor(
    async () => {
      const v = await fn();
      return v === undefined ? undefined : { v };
    },
    { timeoutMs: ms, intervalMs: 250, what },
  );
  return found.v;
}
