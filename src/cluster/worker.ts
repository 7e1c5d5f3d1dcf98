// One cluster worker: runs the gateway (inbound and outbound shared through node:cluster), answers
// the primary's admin calls through its own admin app, and hands its registry to AggregatorRegistry.
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Config } from '../config/schema.js';
import { type RunningGateway, startGateway } from '../gateway.js';
import { type AdminReply, isAdminCall, type WorkerReady } from './ipc.js';

export async function startWorker(config: Config): Promise<RunningGateway> {
  const gw = await startGateway(config, { adminListen: false });
  if (gw.registry) {
    AggregatorRegistry.setRegistries([gw.registry as Registry]);
    new AggregatorRegistry(); // installs prom-client's worker-side listener for the primary's metric requests
  }
  process.on('message', (m: unknown) => {
    if (!isAdminCall(m)) return;
    void (async () => {
      const init: RequestInit = { method: m.method, headers: m.headers, ...(m.method === 'GET' || m.method === 'HEAD' ? {} : { body: m.body }) };
      const res = await gw.adminFetch(new Request(`http://admin${m.url}`, init));
      const headers: Record<string, string> = {};
      res.headers.forEach((v, k) => {
        headers[k] = v;
      });
      process.send?.({ type: 'sg:admin-reply', id: m.id, status: res.status, headers, body: await res.text() } satisfies AdminReply);
    })();
  });
  process.send?.({ type: 'sg:ready', inbound: gw.inbound.port, outbound: gw.outbound.port, upstream: gw.upstreamUrl } satisfies WorkerReady);
  return gw;
}
