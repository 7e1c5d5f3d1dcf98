// Topology `direct`: driver → stub upstream, the baseline every other figure is compared with.
// The stub serves HTTPS with required client certificates (same TLS 1.3 + mTLS handshake work as the
// gateway's inbound listener), so the difference to `hub` is the gateway's own work; --plain drops TLS.
//   node --import tsx loadtest/topologies/direct.ts [--plain] [--delay-ms D] [--run -- --profile target-1000]
import { join } from 'node:path';
import { ensurePki, freePort, parseLauncherArgs, ROOT, serveOrRun, spawnChild, waitForPort } from './common.js';

const args = parseLauncherArgs(process.argv.slice(2));
ensurePki(args.keysDir);
const port = await freePort();
const tls = join(args.keysDir, 'tls');
const stub = spawnChild('stub', process.execPath, [
  '--import',
  'tsx',
  join(ROOT, 'loadtest', 'stub-upstream.ts'),
  '--port',
  String(port),
  '--delay-ms',
  String(args.delayMs),
  ...(args.plain ? [] : ['--cert', join(tls, 'server.pem'), '--key', join(tls, 'server.key'), '--ca', join(tls, 'ca.pem')]),
]);
await waitForPort(port);
await serveOrRun(args, {
  name: args.plain ? 'direct (plain HTTP)' : 'direct (TLS 1.3 + mTLS on the stub)',
  target: `${args.plain ? 'http' : 'https'}://127.0.0.1:${port}`,
  pids: stub.pid ? [stub.pid] : [],
});
