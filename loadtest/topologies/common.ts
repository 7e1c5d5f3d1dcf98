// Shared plumbing of the topology launchers: free loopback ports, child processes with prefixed output,
// readiness polling, teardown on exit/SIGINT, and the optional `--run -- <driver args>` mode that runs
// the driver against the topology and then tears it down (one command per benchmark figure).
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
const PRIVATE_DIST = join(ROOT, 'loadtest', '.data', 'dist');

/** A free TCP port on 127.0.0.1 (bound then released). */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

/** Resolves once a TCP connect to 127.0.0.1:port succeeds (or rejects after `timeoutMs`). */
export async function waitForPort(port: number, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const ok = await new Promise<boolean>((r) => {
      const c = connect(port, '127.0.0.1', () => {
        c.destroy();
        r(true);
      });
      c.once('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

const children: ChildProcess[] = [];

/** Spawns a child whose output is prefixed with its name; it is killed (by pid) on teardown. */
export function spawnChild(name: string, cmd: string, args: readonly string[], env: Readonly<Record<string, string>> = {}, quiet = false): ChildProcess {
  const child = spawn(cmd, [...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const pipe = (stream: NodeJS.ReadableStream | null, out: NodeJS.WriteStream): void => {
    let buf = '';
    stream?.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      if (!quiet) for (const l of lines) out.write(`[${name}] ${l}\n`);
    });
  };
  pipe(child.stdout, process.stderr);
  pipe(child.stderr, process.stderr);
  child.on('exit', (code, signal) => {
    if (!tearingDown) console.error(`[${name}] exited (${signal ?? code})`);
  });
  children.push(child);
  return child;
}

let tearingDown = false;
const cleanups: (() => Promise<void>)[] = [];

/** Registers work to run after the children have stopped (e.g. deleting a run's Redis keys). */
export function onTeardown(f: () => Promise<void>): void {
  cleanups.push(f);
}

/** Stops every child this launcher started (SIGTERM, then SIGKILL after 3 s), then runs the cleanups. */
export async function teardown(): Promise<void> {
  tearingDown = true;
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((r) => {
          if (c.exitCode !== null || c.signalCode !== null || c.pid === undefined) return r();
          const t = setTimeout(() => {
            c.kill('SIGKILL');
          }, 3000);
          c.once('exit', () => {
            clearTimeout(t);
            r();
          });
          c.kill('SIGTERM');
        }),
    ),
  );
  for (const f of cleanups.splice(0)) await f().catch(() => {});
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => void teardown().then(() => process.exit(130)));
}

/**
 * The Node binary a launcher runs its measured process with (`--node`): this one by default; `24` the Node 24
 * that .ci/run installs from the npm registry (the Dockerfile's pin, under ~/.cache/switchguard/); or a path.
 */
export function nodeBinary(spec: string | undefined): { path: string; version: string } {
  let path = process.execPath;
  if (spec === '24') {
    const pin = /^FROM node:(24\.\d+\.\d+)-/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))?.[1];
    const cache = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
    path = join(cache, 'switchguard', `node-${pin ?? '?'}`, 'node_modules', 'node', 'bin', 'node');
    if (!pin || !existsSync(path))
      throw new Error(`Node 24 not found at ${path}: install it as .ci/run does (npm install --prefix <that dir> node@${pin ?? '24'})`);
  } else if (spec) path = resolve(spec);
  const version = spawnSync(path, ['--version'], { encoding: 'utf8' }).stdout.trim();
  if (!version) throw new Error(`${path} --version printed nothing`);
  return { path, version: `Node ${version}` };
}

/**
 * `--node-flags=<flags>` (or `--node-flags <flags>`) among a launcher's own arguments (before `--run`): node
 * options for the measured gateway process, space-separated, e.g. `--node-flags=--allocation-site-pretenuring`
 * (the A/B of docs/performance/2026-11-30-pretenuring-and-http2.md) or `--node-flags=--trace-gc`.
 */
export function nodeFlagsOf(argv: readonly string[]): string[] {
  const runAt = argv.indexOf('--run');
  const own = runAt >= 0 ? argv.slice(0, runAt) : argv;
  const at = own.findIndex((a) => a === '--node-flags' || a.startsWith('--node-flags='));
  if (at < 0) return [];
  const value = own[at] === '--node-flags' ? own[at + 1] : own[at]!.slice('--node-flags='.length);
  return (value ?? '').split(/\s+/).filter((f) => f.length > 0);
}

/** The command that runs the gateway: dist/main.js when built (no tsx in the measured process), else tsx. */
export function gatewayCommand(node: string = process.execPath): { cmd: string; args: string[]; how: string } {
  const candidates: Array<readonly [string, string]> = [
    [join(ROOT, 'dist'), 'node dist/main.js'],
    [PRIVATE_DIST, 'node loadtest/.data/dist/main.js'],
  ];
  if (process.argv.includes('--build')) {
    // A private build (the repository's dist/ is left alone); tsc emits even when other files have type errors.
    console.error('compiling the gateway into loadtest/.data/dist');
    spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', PRIVATE_DIST], {
      cwd: ROOT,
      stdio: 'inherit',
    });
    candidates.reverse();
  }
  // --cpu-prof DIR: the gateway writes a V8 CPU profile (.cpuprofile, one per process) into DIR on exit.
  const profAt = process.argv.indexOf('--cpu-prof');
  const prof = profAt >= 0 && process.argv[profAt + 1] ? ['--cpu-prof', '--cpu-prof-dir', resolve(process.argv[profAt + 1]!)] : [];
  const flags = nodeFlagsOf(process.argv.slice(2));
  for (const [dir, how] of candidates) {
    if (existsSync(join(dir, 'main.js')))
      return {
        cmd: node,
        args: [...flags, ...prof, join(dir, 'main.js')],
        how: `${flags.length ? how.replace(/^node /, `node ${flags.join(' ')} `) : how}${prof.length ? ', CPU-profiled' : ''}`,
      };
  }
  return {
    cmd: node,
    args: ['--import', 'tsx', join(ROOT, 'src', 'main.ts')],
    how: 'node --import tsx src/main.ts (run npm run build to measure the compiled build)',
  };
}

/**
 * Starts the stub upstream (loadtest/stub-upstream.ts) on a free port with the launcher's --delay-ms and waits
 * for it; with `tls`, it serves HTTPS and requires client certificates (the direct baseline).
 */
export async function startStubUpstream(
  args: Pick<LauncherArgs, 'delayMs'>,
  tls?: { cert: string; key: string; ca: string },
): Promise<{ port: number; pid: number | undefined }> {
  const port = await freePort();
  const stub = spawnChild('stub', process.execPath, [
    '--import',
    'tsx',
    join(ROOT, 'loadtest', 'stub-upstream.ts'),
    '--port',
    String(port),
    '--delay-ms',
    String(args.delayMs),
    ...(tls ? ['--cert', tls.cert, '--key', tls.key, '--ca', tls.ca] : []),
  ]);
  await waitForPort(port);
  return { port, pid: stub.pid };
}

/** Makes sure the development PKI exists (`switchguard pki init --dir DIR`). */
export function ensurePki(keysDir: string): void {
  if (existsSync(join(keysDir, 'tls', 'ca.pem')) && existsSync(join(keysDir, 'jws-private', 'perffsp-8.key'))) return;
  console.error(`creating the development PKI under ${keysDir}`);
  execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), 'pki', 'init', '--dir', keysDir], { cwd: ROOT, stdio: 'inherit' });
}

export interface LauncherArgs {
  readonly keysDir: string;
  readonly skew: number;
  readonly workers: number;
  readonly delayMs: number;
  readonly plain: boolean;
  /** `--node`: the runtime of the measured process (nodeBinary). */
  readonly node: string | undefined;
  /** Driver arguments after `--run --`, or undefined to keep the topology up until SIGINT. */
  readonly run: string[] | undefined;
}

/** Parses `[--keys DIR] [--skew S] [--workers N] [--delay-ms D] [--plain] [--node 24|PATH] [--build] [--run -- <driver args>]`. */
export function parseLauncherArgs(argv: readonly string[]): LauncherArgs {
  const runAt = argv.indexOf('--run');
  const own = runAt >= 0 ? argv.slice(0, runAt) : [...argv];
  const run = runAt >= 0 ? argv.slice(runAt + 1).filter((a, i) => !(i === 0 && a === '--')) : undefined;
  const opt = (n: string): string | undefined => {
    const i = own.indexOf(`--${n}`);
    return i >= 0 ? own[i + 1] : undefined;
  };
  return {
    keysDir: resolve(ROOT, opt('keys') ?? 'keys'),
    skew: Number(opt('skew') ?? 300),
    workers: Number(opt('workers') ?? 1),
    delayMs: Number(opt('delay-ms') ?? 0),
    plain: own.includes('--plain'),
    node: opt('node'),
    run,
  };
}

/** Prints the topology, then either waits for SIGINT or runs the driver (`--run`) and exits with its code. */
export async function serveOrRun(
  args: LauncherArgs,
  info: { name: string; target: string; pids: readonly number[]; notes?: string[]; onRun?: () => void },
): Promise<never> {
  console.log(`topology ${info.name}: target ${info.target}`);
  console.log(`  measured pids: ${info.pids.join(',') || '-'}`);
  for (const n of info.notes ?? []) console.log(`  ${n}`);
  if (!args.run) {
    console.log(
      `run the driver in another shell:\n  npm run loadtest -- --profile target-1000 --target ${info.target} --keys ${args.keysDir} --skew ${args.skew}${info.pids.length ? ` --gateway-pid ${info.pids.join(',')}` : ''}\nCtrl-C stops everything.`,
    );
    await new Promise(() => undefined);
  }
  const driverArgs = [
    '--import',
    'tsx',
    join(ROOT, 'loadtest', 'driver', 'main.ts'),
    '--target',
    info.target,
    '--keys',
    args.keysDir,
    '--skew',
    String(args.skew),
    ...(info.pids.length ? ['--gateway-pid', info.pids.join(',')] : []),
    ...(args.run ?? []),
  ];
  const driver = spawn(process.execPath, driverArgs, { cwd: ROOT, stdio: 'inherit' });
  info.onRun?.();
  const code = await new Promise<number>((r) => driver.on('exit', (c) => r(c ?? 1)));
  await teardown();
  process.exit(code);
}
