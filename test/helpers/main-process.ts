// Runs the real entry point (src/main.ts) as a child process on port 0 and reads the ports it bound from
// its start-up banner (src/main.ts banner()): no port is ever guessed.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';

export interface MainProcess {
  readonly child: ChildProcessWithoutNullStreams;
  /** The bound ports, from the banner. */
  readonly ports: { readonly inbound: number; readonly outbound: number; readonly admin: number };
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code once the process has exited. */
  readonly exited: Promise<number | null>;
}

const PORT = {
  inbound: /^ {2}inbound +\((?:mTLS|TLS, no client certificate)\) https?:\/\/\S+?:(\d+)\s/m,
  outbound: /^ {2}outbound \(local\) http:\/\/\S+?:(\d+)\s*$/m,
  admin: /^ {2}admin +http:\/\/\S+?:(\d+)\//m,
} as const;

/**
 * Starts `node --import tsx src/main.ts` with exactly `env` (plus PATH) and resolves once the banner has
 * been printed (and, when `readyLine` is given, once that text has been printed too). Rejects with the
 * output when the process exits first or `timeoutMs` passes.
 */
export function startMain(env: Record<string, string>, o: { readyLine?: string; timeoutMs?: number } = {}): Promise<MainProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env: { PATH: process.env.PATH, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.end();
  let out = '';
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return new Promise<MainProcess>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no banner within ${o.timeoutMs ?? 60_000} ms:\n${out}`));
    }, o.timeoutMs ?? 60_000);
    const check = () => {
      const m = { inbound: PORT.inbound.exec(out), outbound: PORT.outbound.exec(out), admin: PORT.admin.exec(out) };
      if (!m.inbound || !m.outbound || !m.admin || (o.readyLine && !out.includes(o.readyLine))) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.stderr.off('data', onData);
      child.stdout.on('data', (d: Buffer) => {
        out += d;
      });
      child.stderr.on('data', (d: Buffer) => {
        out += d;
      });
      resolve({ child, ports: { inbound: Number(m.inbound[1]), outbound: Number(m.outbound[1]), admin: Number(m.admin[1]) }, output: () => out, exited });
    };
    const onData = (d: Buffer) => {
      out += d;
      check();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited early (${code}):\n${out}`));
    });
  });
}
