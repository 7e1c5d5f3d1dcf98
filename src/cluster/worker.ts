// One cluster worker: runs the gateway (inbound and outbound shared through node:cluster), answers
// the primary's admin calls through its own admin app, and hands its registry to AggregatorRegistry.
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Config } from '../config/schema.js';
import { type RunningGateway, startGateway } from '../gateway.js';
import { type AdminCall, type AdminReply, isAdminCall, type WorkerReady } from './ipc.js';

/**
 * The worker's admin app's answer to a relayed call; never rejects. A call the worker cannot even turn into a
 * request (a method fetch refuses, a header or URL it rejects) is the caller's fault and gets 400: an
 * unhandled rejection here would end the worker, and a broadcast call every worker at once.
 */
export async function answerAdminCall(adminFetch: RunningGateway['adminFetch'], m: AdminCall): Promise<AdminReply> {
  const failed = (status: number, what: string): AdminReply => ({
    type: 'sg:admin-reply',
    id: m.id,
    status,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ status: what }),
  });
  let req: Request;
  try {
    const init: RequestInit = { method: m.method, headers: m.headers, ...(m.method === 'GET' || m.method === 'HEAD' ? {} : { body: m.body }) };
    req = new Request(`http://admin${m.url}`, init);
  } catch {
    return failed(400, 'bad admin request');
  }
  try {
    const res = await adminFetch(req, m.remoteAddress);
    const headers: Record<string, string> = {};
    res.headers.forEach((v, k) => {
      headers[k] = v;
    });
    return { type: 'sg:admin-reply', id: m.id, status: res.status, headers, body: await res.text() };
  } catch {
    return failed(500, 'admin call failed');
  }
}

export async function startWorker(config: Config): Promise<RunningGateway> {
  const gw = await startGateway(config, { adminListen: false });
  if (gw.registry) {
    AggregatorRegistry.setRegistries([gw.registry as Registry]);
    new AggregatorRegistry(); // installs prom-client's worker-side listener for the primary's metric requests
  }
  process.on('message', (m: unknown) => {
    if (!isAdminCall(m)) return;
    void answerAdminCall(gw.adminFetch, m).then((reply) => process.send?.(reply));
  });
  process.send?.({ type: 'sg:ready', inbound: gw.inbound.port, outbound: gw.outbound.port, upstream: gw.upstreamUrl } satisfies WorkerReady);
  return gw;
}
