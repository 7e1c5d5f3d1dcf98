// Topology `bare`: driver → a bare Node HTTPS proxy (mTLS and keep-alive forwarding only,
// bench/floor-proxy.ts, one process) → the same stub. The floor under any Node gateway on this machine,
// beside nginx doing the same in C. --node 24 runs the proxy on Node 24 (nodeBinary in common.ts); --hono
// serves the same proxy through Hono and @hono/node-server, the gateway's framework and adapter.
//   node --import tsx loadtest/topologies/bare.ts [--node 24|PATH] [--hono] [--run -- --profile target-1000]
import { join } from 'node:path';
import { ensurePki, freePort, nodeBinary, parseLauncherArgs, ROOT, serveOrRun, spawnChild, startStubUpstream, waitForPort } from './common.js';

const args = parseLauncherArgs(process.argv.slice(2));
const argv = process.argv.slice(2);
const hono = argv.slice(0, argv.includes('--run') ? argv.indexOf('--run') : argv.length).includes('--hono');
ensurePki(args.keysDir);
const stub = await startStubUpstream(args);
const stubPort = stub.port;
const port = await freePort();
const tls = join(args.keysDir, 'tls');
const node = nodeBinary(args.node);
const proxy = spawnChild('bare', node.path, [
  '--import',
  'tsx',
  join(ROOT, 'bench', 'floor-proxy.ts'),
  join(tls, 'server.pem'),
  join(tls, 'server.key'),
  join(tls, 'ca.pem'),
  `http://127.0.0.1:${stubPort}`,
  String(port),
  ...(hono ? ['hono'] : []),
]);
await waitForPort(port);
await serveOrRun(args, {
  name: `bare Node proxy (mTLS + keep-alive forward only${hono ? ', through Hono' : ''}, ${node.version})`,
  target: `https://127.0.0.1:${port}`,
  pids: proxy.pid ? [proxy.pid] : [],
  notes: [`stub pid ${stub.pid ?? '?'} at http://127.0.0.1:${stubPort}`],
});
