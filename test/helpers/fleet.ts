// Gateway replicas as an operator runs them (real processes, src/main.ts, through startMain) behind a
// test-side load balancer, and a client that runs full FSPIOP journeys over them at a set rate.
//
// The load balancer is modelled on a Kubernetes Service in front of a Deployment: requests go round-robin
// to the replicas in rotation. A replica being stopped leaves the rotation at once (its endpoint is removed
// when the pod starts terminating), its preStop hook runs (deploy/kubernetes/base/deployment.yaml: a sleep,
// so that connections opened just before the removal are accepted), then it gets SIGTERM and its in-flight
// requests finish. A replica whose connection fails is taken out of rotation too (passive health checking),
// and the failed request is counted, never retried.
// Each (replica, FSP) pair has its own keep-alive pool presenting that FSP's client certificate, sized so
// that no request ever waits inside a pool: a request is on the wire, or not yet handed to any replica.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import type { TlsMaterial } from '../../loadtest/driver/clients.js';
import type { PreparedRequest } from '../../loadtest/driver/dataset.js';
import { fspiopErrorCode } from '../../loadtest/driver/stats.js';
import { type MainProcess, startMain } from './main-process.js';
import { waitFor } from './wait.js';

export interface Replica {
  readonly name: string;
  readonly main: MainProcess;
  /** 'up': in rotation; 'draining': sent SIGTERM; 'down': exited, killed or failed a connection. */
  state: 'up' | 'draining' | 'down';
  readonly pools: Map<string, Pool>;
}

export interface Answer {
  readonly replica: string;
  /** HTTP status; 0 when the request failed at the connection level. */
  readonly status: number;
  /** FSPIOP errorCode of an error body, or ''; the error code (e.g. ECONNRESET) of a connection failure. */
  readonly code: string;
  /** When the request was handed to the replica, and when its answer (or failure) came back (Date.now()). */
  readonly sentAt: number;
  readonly at: number;
}

/** Waits until GET /ready on the admin port answers 200. */
async function ready(admin: number, timeoutMs: number): Promise<void> {
  await waitFor(
    async () => {
      try {
        return (await fetch(`http://127.0.0.1:${admin}/ready`)).status === 200;
      } catch {
        return false;
      }
    },
    { timeoutMs, intervalMs: 100, what: `/ready on admin port ${admin}` },
  );
}

export class Fleet {
  readonly replicas = new Map<string, Replica>();
  private next = 0;
  /** Every process this fleet started, also the exited ones: closeAll() makes sure none is left. */
  private readonly started: MainProcess[] = [];

  constructor(
    private readonly env: (name: string) => Record<string, string>,
    private readonly tls: TlsMaterial,
    /** Connections per (replica, FSP) pool: at least the client's concurrency, so nothing queues in a pool. */
    private readonly connections: number,
  ) {}

  /** Starts (or restarts) replica `name` and puts it into rotation once /ready answers 200. */
  async start(name: string): Promise<Replica> {
    const main = await startMain(this.env(name), { timeoutMs: 60_000 });
    this.started.push(main);
    try {
      await ready(main.ports.admin, 30_000);
    } catch (e) {
      main.child.kill('SIGKILL');
      throw new Error(`${name}: ${(e as Error).message}\n${main.output()}`);
    }
    const r: Replica = { name, main, state: 'up', pools: new Map() };
    this.replicas.set(name, r);
    return r;
  }

  get(name: string): Replica {
    const r = this.replicas.get(name);
    if (!r) throw new Error(`no replica ${name}`);
    return r;
  }

  up(): Replica[] {
    return [...this.replicas.values()].filter((r) => r.state === 'up');
  }

  /** Round-robin over the replicas in rotation. */
  pick(): Replica | undefined {
    const up = this.up();
    if (up.length === 0) return undefined;
    return up[this.next++ % up.length];
  }

  private pool(r: Replica, fsp: string): Pool {
    let p = r.pools.get(fsp);
    if (!p) {
      const m = this.tls.clients.get(fsp);
      if (!m) throw new Error(`no client certificate for ${fsp}`);
      p = new Pool(`https://127.0.0.1:${r.main.ports.inbound}`, {
        connections: this.connections,
        pipelining: 1,
        connect: { ca: this.tls.ca, cert: m.cert, key: m.key, servername: 'localhost' },
      });
      r.pools.set(fsp, p);
    }
    return p;
  }

  /** Sends one prepared request to `to` (default: the next replica in rotation). */
  async send(req: PreparedRequest, to?: Replica): Promise<Answer> {
    const r = to ?? this.pick();
    const sentAt = Date.now();
    if (!r) return { replica: '-', status: 0, code: 'NO_REPLICA', sentAt, at: sentAt };
    try {
      const res = await this.pool(r, req.fsp).request({
        path: req.path,
        method: req.method,
        headers: req.headers,
        body: req.body,
        headersTimeout: 20_000,
        bodyTimeout: 20_000,
      });
      const text = await res.body.text();
      return { replica: r.name, status: res.statusCode, code: res.statusCode >= 400 ? fspiopErrorCode(text) : '', sentAt, at: Date.now() };
    } catch (e) {
      // Passive health check: a replica whose connection failed leaves the rotation.
      if (r.state === 'up') r.state = 'down';
      return { replica: r.name, status: 0, code: (e as { code?: string }).code ?? 'ERR', sentAt, at: Date.now() };
    }
  }

  /**
   * Rolling-restart step: out of rotation, the preStop pause, SIGTERM, then wait for the exit (in-flight
   * requests finish). `sigtermAt` is when SIGTERM was sent; `ms` how long the replica took to exit after it.
   */
  async drain(name: string, preStopMs: number): Promise<{ exitCode: number | null; ms: number; sigtermAt: number }> {
    const r = this.get(name);
    r.state = 'draining';
    await new Promise((resolve) => setTimeout(resolve, preStopMs));
    const sigtermAt = Date.now();
    const t = performance.now();
    r.main.child.kill('SIGTERM');
    const exitCode = await r.main.exited;
    r.state = 'down';
    await this.closePools(r);
    return { exitCode, ms: performance.now() - t, sigtermAt };
  }

  /** SIGKILL: the replica stays in rotation until a request to it fails (the balancer does not know yet). */
  async kill(name: string): Promise<void> {
    const r = this.get(name);
    r.main.child.kill('SIGKILL');
    await r.main.exited;
  }

  private async closePools(r: Replica): Promise<void> {
    await Promise.all([...r.pools.values()].map((p) => p.destroy().catch(() => undefined)));
    r.pools.clear();
  }

  /** The tail of every process's output (debugging a failed run). */
  dumpOutput(): void {
    for (const m of this.started) console.log(`--- pid ${m.child.pid}\n${m.output().slice(-4000)}`);
  }

  async closeAll(): Promise<void> {
    for (const m of this.started) m.child.kill('SIGKILL');
    await Promise.all(this.started.map((m) => m.exited));
    await Promise.all([...this.replicas.values()].map((r) => this.closePools(r)));
  }
}

/** One journey's steps in order: POST /quotes, PUT /quotes/{id}, POST /transfers, PUT /transfers/{id}. */
export type Journey = readonly PreparedRequest[];

/** Splits a prepared set built with block 1 (journeys one after the other) into its journeys. */
export function journeysOf(requests: readonly PreparedRequest[]): Journey[] {
  const out: Journey[] = [];
  for (let i = 0; i + 4 <= requests.length; i += 4) {
    const j = requests.slice(i, i + 4);
    const kinds = j.map((r) => r.kind).join(',');
    if (kinds !== 'postQuotes,putQuotes,postTransfers,putTransfers') throw new Error(`not a journey at ${i}: ${kinds}`);
    out.push(j);
  }
  return out;
}

/** The transfer id of a journey (the id of its PUT /transfers/{id}). */
export const transferIdOf = (j: Journey): string => (j[3] as PreparedRequest).path.split('/')[2] as string;

export interface JourneyResult {
  readonly journey: Journey;
  /** Answers of the steps that were sent, in order; a journey stops at its first answer that is not 202. */
  readonly answers: Answer[];
}

export interface LoadRun {
  /** Stops starting journeys and resolves once every started journey has finished. */
  stop(): Promise<LoadReport>;
}

export interface LoadReport {
  readonly results: readonly JourneyResult[];
  readonly elapsedMs: number;
  readonly counts: Counts;
}

export interface Counts {
  requests: number;
  answered: number;
  accepted: number;
  status5xx: number;
  /** 503 with errorCode 2003 (store unavailable, or a quarantined peer). */
  refused2003: number;
  /** Any other answer than 202, 5xx: 4xx with their codes. */
  other4xx: number;
  connectionFailures: number;
  /** Requests per second over the run. */
  rate: number;
}

function countAnswers(answers: readonly Answer[], elapsedMs: number): Counts {
  const c: Counts = { requests: answers.length, answered: 0, accepted: 0, status5xx: 0, refused2003: 0, other4xx: 0, connectionFailures: 0, rate: 0 };
  for (const a of answers) {
    if (a.status === 0) c.connectionFailures++;
    else c.answered++;
    if (a.status === 202) c.accepted++;
    if (a.status >= 500) c.status5xx++;
    if (a.status === 503 && a.code === '2003') c.refused2003++;
    if (a.status >= 400 && a.status < 500) c.other4xx++;
  }
  c.rate = Math.round((answers.length / Math.max(1, elapsedMs)) * 1000);
  return c;
}

/** Non-202 answers grouped by replica, status and code, with their time span: the context of a failed assertion. */
export function describeRefusals(answers: readonly Answer[], t0: number, events: readonly { at: number; what: string }[] = []): string {
  const groups = new Map<string, number[]>();
  for (const a of answers) {
    if (a.status === 202) continue;
    const k = `${a.replica} ${a.status} ${a.code}`;
    const g = groups.get(k) ?? [];
    g.push(a.at - t0);
    groups.set(k, g);
  }
  const lines = [...groups].map(([k, ts]) => `  ${k}: ${ts.length} at ${Math.min(...ts)}..${Math.max(...ts)} ms`);
  return [...lines, ...events.map((e) => `  event ${e.what} at ${e.at - t0} ms`)].join('\n');
}

export const formatCounts = (name: string, c: Counts): string =>
  `[replicas] ${name}: requests=${c.requests} answered=${c.answered} accepted=${c.accepted} 5xx=${c.status5xx} 2003=${c.refused2003} ` +
  `4xx=${c.other4xx} connection-failures=${c.connectionFailures} rate=${c.rate}/s`;

/** Journeys signed in batches ahead of use, so that a run of unknown length never runs dry. */
export interface JourneySource {
  /** The next journey, or undefined while the next batch is being signed. */
  next(): Journey | undefined;
}

export function journeySource(build: (count: number) => Promise<Journey[]>, batch: number): JourneySource {
  const queue: Journey[] = [];
  let filling: Promise<void> | undefined;
  const refill = (): void => {
    if (filling || queue.length > batch / 2) return;
    filling = build(batch).then(
      (js) => {
        queue.push(...js);
        filling = undefined;
      },
      (e: unknown) => {
        filling = undefined;
        throw e;
      },
    );
  };
  refill();
  return {
    next() {
      const j = queue.shift();
      refill();
      return j;
    },
  };
}

/**
 * Runs journeys over the fleet: `rate` requests per second are started as rate/4 journeys per second, each
 * journey sending its steps one after the other (the next once the previous was answered 202), at most
 * `maxInFlight` journeys at once (a start beyond that waits: the achieved rate is reported, not assumed).
 */
export function runJourneys(fleet: Fleet, source: JourneySource, o: { rate: number; maxInFlight: number }): LoadRun {
  const results: JourneyResult[] = [];
  const running = new Set<Promise<void>>();
  let started = 0;
  let stopped = false;
  const t0 = performance.now();
  const run = async (j: Journey): Promise<void> => {
    const res: JourneyResult = { journey: j, answers: [] };
    results.push(res);
    for (const step of j) {
      const a = await fleet.send(step);
      res.answers.push(a);
      if (a.status !== 202) return;
    }
  };
  const tick = (): void => {
    if (stopped) return;
    const due = Math.floor(((performance.now() - t0) / 1000) * (o.rate / 4));
    while (started < due && running.size < o.maxInFlight) {
      const j = source.next();
      if (!j) break;
      started++;
      const p = run(j).finally(() => running.delete(p));
      running.add(p);
    }
    setTimeout(tick, 5);
  };
  tick();
  return {
    async stop() {
      stopped = true;
      while (running.size > 0) await Promise.all([...running]);
      const elapsedMs = performance.now() - t0;
      return {
        results,
        elapsedMs,
        counts: countAnswers(
          results.flatMap((r) => r.answers),
          elapsedMs,
        ),
      };
    },
  };
}

/**
 * The switch behind the gateways: answers 202 to everything and keeps, per transfer id, how many
 * POST /transfers and PUT /transfers/{id} (fulfilments) reached it.
 */
export interface Ledger {
  readonly url: string;
  readonly prepares: Map<string, number>;
  readonly fulfils: Map<string, number>;
  close(): Promise<void>;
}

export async function startLedger(): Promise<Ledger> {
  const prepares = new Map<string, number>();
  const fulfils = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = req.url ?? '';
      if (req.method === 'POST' && url === '/transfers') {
        const id = String((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { transferId?: unknown }).transferId);
        prepares.set(id, (prepares.get(id) ?? 0) + 1);
      } else if (req.method === 'PUT' && url.startsWith('/transfers/')) {
        const id = url.slice('/transfers/'.length);
        fulfils.set(id, (fulfils.get(id) ?? 0) + 1);
      }
      res.writeHead(202, { 'content-length': '0' });
      res.end();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    prepares,
    fulfils,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
