// Test-owned redis-server processes on free loopback ports (single nodes and a 3-master cluster, optionally
// with one replica per master).
// Every process started here is killed by stop(); temp dirs are removed.
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Deletes a test's own keys (every key under each prefix) on the shared Redis, on a connection of its own. */
export async function deleteKeysUnder(...prefixes: string[]): Promise<void> {
  const r = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await r.connect();
    for (const prefix of prefixes) {
      const keys = await r.keys(`${prefix}*`);
      if (keys.length) await r.del(...keys);
    }
  } finally {
    r.disconnect();
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function cli(port: number, ...args: string[]): string {
  const r = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { encoding: 'utf8', timeout: 5000 });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`;
}

/** The same, without blocking the event loop (cluster set-up polls many times). */
function cliAsync(port: number, ...args: string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { encoding: 'utf8', timeout: 5000 }, (_err, stdout, stderr) => {
      resolve(`${stdout ?? ''}${stderr ?? ''}`);
    });
  });
}

export interface RedisProc {
  readonly port: number;
  readonly url: string;
  kill(): Promise<void>;
  /** Starts again on the same port. */
  restart(): Promise<void>;
  /** SIGSTOP / SIGCONT: Redis keeps its sockets open but stops answering (a hung server). */
  pause(): void;
  resume(): void;
}

async function waitPing(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (cli(port, 'ping').includes('PONG')) return;
    await sleep(50);
  }
  throw new Error(`redis on ${port} did not start`);
}

function launch(port: number, dir: string, extra: string[]): ChildProcess {
  const p = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...extra], {
    stdio: 'ignore',
  });
  p.on('error', () => {});
  return p;
}

function stopProc(p: ChildProcess | undefined): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    p.once('exit', () => resolve());
    p.kill('SIGKILL');
  });
}

/**
 * A standalone redis-server of the test's own. `clusterMode`: cluster mode on, one node owning every slot (a
 * one-shard cluster reached through REDIS_URL, as managed services offer).
 */
export async function startRedis(o: { clusterMode?: boolean } = {}): Promise<RedisProc & { cleanup(): Promise<void> }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'sg-redis-'));
  const extra = o.clusterMode ? ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf')] : [];
  let proc: ChildProcess | undefined = launch(port, dir, extra);
  await waitPing(port);
  if (o.clusterMode) {
    const out = await cliAsync(port, 'cluster', 'addslotsrange', '0', '16383');
    if (!out.includes('OK')) throw new Error(`cluster addslotsrange on ${port} failed: ${out.trim()}`);
    for (let i = 0; !(await cliAsync(port, 'cluster', 'info')).includes('cluster_state:ok'); i++) {
      if (i >= 200) throw new Error(`redis on ${port}: cluster_state not ok after its slots were added`);
      await sleep(50);
    }
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async kill() {
      await stopProc(proc);
      proc = undefined;
    },
    async restart() {
      proc = launch(port, dir, extra);
      await waitPing(port);
    },
    pause() {
      proc?.kill('SIGSTOP');
    },
    resume() {
      proc?.kill('SIGCONT');
    },
    async cleanup() {
      proc?.kill('SIGCONT');
      await stopProc(proc);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface ClusterNode {
  readonly port: number;
  /** Cluster bus port (cluster-port). */
  readonly busPort: number;
  /** For a replica: the port of the master it was attached to at start-up. */
  readonly replicaOf?: number;
}

export interface RedisCluster {
  /** host:port of every node (the masters first, then their replicas): the seeds a client is given. */
  readonly nodes: string[];
  /** The three masters at start-up, then one replica per master when `replicas` was asked for. */
  readonly topology: readonly ClusterNode[];
  /** redis-cli against one node, without blocking the event loop. */
  cli(port: number, ...args: string[]): Promise<string>;
  /** SIGKILL one node (a crashed server). */
  kill(port: number): Promise<void>;
  cleanup(): Promise<void>;
}

export interface ClusterOptions {
  /** Give up joining after this long (default 30 s). */
  readonly deadlineMs?: number;
  /** Replicas per master (0 or 1; default 0). */
  readonly replicas?: 0 | 1;
  /** cluster-node-timeout: how long a master may be unreachable before its replica is promoted (Redis default 15000). */
  readonly nodeTimeoutMs?: number;
}

/** Slots split over three masters as redis-cli --cluster create would split them. */
const SLOT_RANGES: ReadonlyArray<readonly [number, number]> = [
  [0, 5460],
  [5461, 10922],
  [10923, 16383],
];

/**
 * Three masters with cluster mode on (and, with `replicas: 1`, one replica attached to each), resolved at
 * cluster_state:ok on every node with every replica's link up. A number is the deadline (older callers).
 * The cluster is joined by hand (ADDSLOTSRANGE + MEET + REPLICATE) rather than by `redis-cli --cluster create`,
 * whose join wait is fixed and gave up on a loaded CI machine; here the wait is bounded by a deadline.
 */
export async function startCluster(options: number | ClusterOptions = {}): Promise<RedisCluster> {
  const o: ClusterOptions = typeof options === 'number' ? { deadlineMs: options } : options;
  const deadlineMs = o.deadlineMs ?? 30_000;
  const count = 3 * (1 + (o.replicas ?? 0));
  const dir = mkdtempSync(join(tmpdir(), 'sg-cluster-'));
  // Client and cluster bus ports both come from the kernel (port 0): the bus port is set explicitly
  // (cluster-port, Redis >= 7) instead of the default client port + 10000, which may not exist.
  const ports: number[] = [];
  const busPorts: number[] = [];
  while (ports.length < count) {
    const [p, bus] = [await freePort(), await freePort()];
    if (p === bus || ports.includes(p) || ports.includes(bus) || busPorts.includes(p) || busPorts.includes(bus)) continue;
    ports.push(p);
    busPorts.push(bus);
  }
  // No 5 s wait before the first (diskless) full sync of a replica: the data set is empty.
  const timeout = [...(o.nodeTimeoutMs === undefined ? [] : ['--cluster-node-timeout', String(o.nodeTimeoutMs)]), '--repl-diskless-sync-delay', '0'];
  const procs = new Map(
    ports.map((p, i) => [
      p,
      launch(p, dir, ['--cluster-enabled', 'yes', '--cluster-port', String(busPorts[i]), '--cluster-config-file', join(dir, `nodes-${p}.conf`), ...timeout]),
    ]),
  );
  const cleanup = async () => {
    await Promise.all([...procs.values()].map(stopProc));
    rmSync(dir, { recursive: true, force: true });
  };
  const topology: ClusterNode[] = ports.map((port, i) => ({ port, busPort: busPorts[i]!, ...(i >= 3 ? { replicaOf: ports[i - 3]! } : {}) }));
  try {
    for (const p of ports) await waitPing(p);
    for (let i = 0; i < 3; i++) {
      const [lo, hi] = SLOT_RANGES[i]!;
      const out = await cliAsync(ports[i]!, 'cluster', 'addslotsrange', String(lo), String(hi));
      if (!out.includes('OK')) throw new Error(`cluster addslotsrange on ${ports[i]} failed: ${out.trim()}`);
    }
    for (let i = 1; i < ports.length; i++) {
      const p = ports[i]!;
      const out = await cliAsync(ports[0]!, 'cluster', 'meet', '127.0.0.1', String(p), String(busPorts[i]));
      if (!out.includes('OK')) throw new Error(`cluster meet ${p} failed: ${out.trim()}`);
    }
    const until = Date.now() + deadlineMs;
    const ids = new Map<number, string>();
    for (const p of ports.slice(0, 3)) ids.set(p, (await cliAsync(p, 'cluster', 'myid')).trim());
    let last = '';
    // A replica can be attached once it knows its master (MEET spreads by gossip).
    for (const n of topology.filter((t) => t.replicaOf !== undefined)) {
      for (;;) {
        const out = await cliAsync(n.port, 'cluster', 'replicate', ids.get(n.replicaOf!)!);
        if (out.includes('OK')) break;
        if (Date.now() > until) throw new Error(`cluster replicate on ${n.port} failed: ${out.trim()}`);
        await sleep(100);
      }
    }
    while (Date.now() < until) {
      const infos = await Promise.all(ports.map((p) => cliAsync(p, 'cluster', 'info')));
      const links = await Promise.all(topology.filter((t) => t.replicaOf !== undefined).map((t) => cliAsync(t.port, 'info', 'replication')));
      if (
        infos.every((i) => i.includes('cluster_state:ok') && i.includes(`cluster_known_nodes:${count}`) && i.includes('cluster_slots_ok:16384')) &&
        links.every((l) => l.includes('master_link_status:up'))
      ) {
        return {
          nodes: ports.map((p) => `127.0.0.1:${p}`),
          topology,
          cli: cliAsync,
          kill: (port) => stopProc(procs.get(port)),
          cleanup,
        };
      }
      last = [...infos, ...links].join(' | ').replace(/\s+/g, ' ').slice(0, 300);
      await sleep(100);
    }
    throw new Error(`cluster did not reach cluster_state:ok within ${deadlineMs} ms: ${last}`);
  } catch (e) {
    await cleanup();
    throw e;
  }
}
