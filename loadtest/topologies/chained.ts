// Topology `chained`: driver → DFSP-role gateway (outbound listener, plain HTTP from the local side) →
// mTLS with perffsp-1's client certificate → hub-role gateway (JWS verify, ILP, Redis) → stub.
// The requests are already signed by their DFSPs, so the DFSP gateway passes them through byte for byte;
// the hub trusts perffsp-1 as a relay (TRUSTED_PROXY_PEERS) because it carries every DFSP's traffic.
//   node --import tsx loadtest/topologies/chained.ts [--skew S] [--run -- --profile target-1000]
import { join } from 'node:path';
import { ensurePki, freePort, gatewayCommand, nodeBinary, parseLauncherArgs, serveOrRun, spawnChild, startStubUpstream, waitForPort } from './common.js';
import { gatewayEnv } from './gateway-env.js';

const args = parseLauncherArgs(process.argv.slice(2));
ensurePki(args.keysDir);
const stub = await startStubUpstream(args);
const stubPort = stub.port;
const gw = gatewayCommand(nodeBinary(args.node).path);
const hubPorts = { inbound: await freePort(), outbound: await freePort(), admin: await freePort() };
const hub = spawnChild('hub', gw.cmd, gw.args, {
  ...gatewayEnv({ keysDir: args.keysDir, ports: hubPorts, upstream: `http://127.0.0.1:${stubPort}`, skew: args.skew, workers: args.workers, redis: true }),
  GATEWAY_ROLE: 'hub',
  TRUSTED_PROXY_PEERS: 'perffsp-1',
});
const dfspPorts = { inbound: await freePort(), outbound: await freePort(), admin: await freePort() };
const k = (...p: string[]) => join(args.keysDir, ...p);
const dfsp = spawnChild('dfsp', gw.cmd, gw.args, {
  ...gatewayEnv({ keysDir: args.keysDir, ports: dfspPorts, upstream: `http://127.0.0.1:${stubPort}`, skew: args.skew, workers: 1, redis: true }),
  GATEWAY_ROLE: 'dfsp',
  DFSP_ID: 'perffsp-1',
  PEER_ENDPOINT: `https://127.0.0.1:${hubPorts.inbound}`,
  OUT_CLIENT_CERT_PATH: k('clients', 'perffsp-1.pem'),
  OUT_CLIENT_KEY_PATH: k('clients', 'perffsp-1.key'),
  OUT_CA_CERT_PATH: k('tls', 'ca.pem'),
  JWS_SIGNING_KEY_PATH: k('jws-private', 'perffsp-1.key'),
});
for (const p of [hubPorts.admin, dfspPorts.admin]) await waitForPort(p, 60_000);
await serveOrRun(args, {
  name: `chained (dfsp → hub, ${gw.how})`,
  target: `http://127.0.0.1:${dfspPorts.outbound}`,
  pids: [dfsp.pid, hub.pid].filter((p): p is number => p !== undefined),
  notes: [
    `dfsp pid ${dfsp.pid ?? '?'} (outbound :${dfspPorts.outbound}), hub pid ${hub.pid ?? '?'} (inbound :${hubPorts.inbound}), stub pid ${stub.pid ?? '?'}`,
  ],
});
