// WORKERS > 1: the primary forks the workers (which share the inbound and outbound ports through
// node:cluster), serves the admin port itself, aggregates /metrics across workers with prom-client's
// AggregatorRegistry, and relays admin calls to the workers over IPC.
import cluster, { type Worker } from 'node:cluster';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AggregatorRegistry } from 'prom-client';
import { adminHostAllowed } from '../admin/host.js';
import type { Config } from '../config/schema.js';
import { GatewayError, isGatewayError, toWireBody } from '../errors.js';
import { applyListenerLimits, limitServerOptions, listenerLimitsOf } from '../http/listener-limits.js';
import { hasBody, readBody } from '../proxy/body.js';
import {
  ADMIN_METHODS,
  type AdminCall,
  type AdminReply,
  adminPathOf,
  isAdminReply,
  isBroadcast,
  isWorkerReady,
  MAX_ADMIN_BODIES_IN_FLIGHT,
  MAX_ADMIN_BODY_BYTES,
  mergeReplies,
  type WorkerReady,
} from './ipc.js';

export interface Primary {
  readonly admin: AddressInfo;
  readonly ready: Promise<WorkerReady[]>;
  close(): Promise<void>;
}

export async function startPrimary(config: Config, entry: string): Promise<Primary> {
  cluster.setupPrimary({ exec: entry });
  const workers: Worker[] = [];
  const pending = new Map<number, (r: AdminReply) => void>();
  let nextId = 1;
  let stopping = false;
  const readies: Promise<WorkerReady>[] = [];
  const fork = (index: number) => {
    const w = cluster.fork({ SWITCHGUARD_WORKER_INDEX: String(index) });
    workers[index] = w;
    w.on('message', (m: unknown) => {
      if (isAdminReply(m)) {
        pending.get(m.id)?.(m);
        pending.delete(m.id);
      }
    });
    // Sending to a worker whose channel just closed emits 'error' on it: logged, never the primary's end.
    w.on('error', (err: Error) => console.error(`switchguard: worker ${index}: ${err.message}`));
    w.on('exit', (code) => {
      if (stopping) return;
      console.error(`switchguard: worker ${index} exited (${code}); starting a new one`);
      setTimeout(() => fork(index), 500).unref();
    });
    return new Promise<WorkerReady>((resolve) => {
      const on = (m: unknown) => {
        if (isWorkerReady(m)) {
          w.off('message', on);
          resolve(m);
        }
      };
      w.on('message', on);
    });
  };
  for (let i = 0; i < config.workers; i++) readies.push(fork(i));

  const call = (w: Worker, c: Omit<AdminCall, 'id' | 'type'>) =>
    new Promise<AdminReply>((resolve) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        resolve({ type: 'sg:admin-reply', id, status: 503, headers: { 'content-type': 'application/json' }, body: '{"status":"worker did not answer"}' });
      }, 3000);
      pending.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      w.send({ type: 'sg:admin', id, ...c } satisfies AdminCall);
    });

  const aggregator = new AggregatorRegistry();
  // The primary's admin listener gets the same limits as every gateway listener (its own counts are not
  // exported: /metrics here aggregates the workers' registries).
  const limits = listenerLimitsOf(config);
  let bodiesInFlight = 0;
  const json = { 'content-type': 'application/json' };
  const server = createServer(limitServerOptions(limits), (req: IncomingMessage, res: ServerResponse) => {
    // The primary answers /health and /metrics itself: the admin app's Host check (src/admin/host.ts) comes first here too.
    if (!adminHostAllowed(req.headers.host, config.adminAllowedHosts)) {
      req.resume();
      const e = new GatewayError('GW_ADMIN_HOST_REFUSED');
      res.writeHead(e.httpStatus, json).end(JSON.stringify(toWireBody(e)));
      return;
    }
    if (!ADMIN_METHODS.has(req.method ?? '')) {
      req.resume();
      res.writeHead(405, { ...json, allow: [...ADMIN_METHODS].join(', ') }).end('{"status":"method not allowed"}');
      return;
    }
    // Read within a bound before relaying: the worker's admin app checks the token, after the whole body is here.
    // readBody throws at once for a declared length over the bound: inside the chain, like a streamed one.
    const withBody = hasBody(req);
    if (withBody && bodiesInFlight >= MAX_ADMIN_BODIES_IN_FLIGHT) {
      req.resume();
      res.writeHead(503, { ...json, connection: 'close' }).end('{"status":"too many admin requests in progress"}');
      return;
    }
    if (withBody) bodiesInFlight++;
    Promise.resolve()
      .then(() => readBody(req, MAX_ADMIN_BODY_BYTES))
      .finally(() => {
        if (withBody) bodiesInFlight--;
      })
      .then(
        (body) => relay(req, res, body),
        (e: unknown) => {
          if (isGatewayError(e) && e.code === 'GW_BODY_TOO_LARGE')
            res.writeHead(413, { ...json, connection: 'close' }).end('{"status":"admin request body too large"}');
          else res.destroy(); // the client went away mid-body
        },
      )
      // Nothing an admin caller or a worker's reply does may end the primary (and with it every worker).
      .catch((err: unknown) => {
        console.error(`switchguard: admin call failed: ${(err as Error)?.message ?? String(err)}`);
        if (res.headersSent) res.destroy();
        else res.writeHead(500, json).end('{"status":"admin call failed"}');
      });
  });
  const relay = async (req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> => {
    const path = adminPathOf(req.url ?? '/');
    const live = workers.filter((w) => w?.isConnected());
    if (path === '/health') {
      res.writeHead(200, json).end(JSON.stringify({ status: 'ok', workers: live.length }));
      return;
    }
    if (path === '/metrics' && req.method === 'GET') {
      const text = await aggregator.clusterMetrics().catch((err: unknown) => {
        // A worker did not answer in time: the scrape gets 503 and the reason goes to the log.
        console.error(`switchguard: cluster metrics unavailable: ${(err as Error)?.message ?? String(err)}`);
        return '';
      });
      res.writeHead(text ? 200 : 503, { 'content-type': aggregator.contentType }).end(text);
      return;
    }
    if (live.length === 0) {
      res.writeHead(503).end();
      return;
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
    const c = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers,
      body: body.toString('utf8'),
      // The worker's audit records name the caller as a single process does (review of 2026-12-01: they had none).
      ...(req.socket.remoteAddress === undefined ? {} : { remoteAddress: req.socket.remoteAddress }),
    };
    if (isBroadcast(c.method, path)) {
      const replies = await Promise.all(live.map((w) => call(w, c)));
      const merged = mergeReplies(replies);
      res.writeHead(merged.status, json).end(merged.body);
    } else {
      const r = await call(live[0]!, c);
      res.writeHead(r.status, r.headers).end(r.body);
    }
  };
  applyListenerLimits(server, limits, { rejected: () => {}, timeout: () => {} });
  await new Promise<void>((resolve) => server.listen(config.adminPort, config.adminHost, resolve));
  return {
    admin: server.address() as AddressInfo,
    ready: Promise.all(readies),
    async close() {
      stopping = true;
      server.close();
      await Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((resolve) => {
              if (!w?.isConnected()) {
                resolve();
                return;
              }
              w.once('exit', () => resolve());
              w.process.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}
