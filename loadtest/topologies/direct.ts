// Topology `direct`: driver → stub upstream, the baseline every other figure is compared with.
// The stub serves HTTPS with required client certificates (same TLS 1.3 + mTLS handshake work as the
// gateway's inbound listener), so the difference to `hub` is the gateway's own work; --plain drops TLS.
//   node --import tsx loadtest/topologies/direct.ts [--plain] [--delay-ms D] [--run -- --profile target-1000]
import { join } from 'node:path';
import { ensurePki, parseLauncherArgs, serveOrRun, startStubUpstream } from './common.js';

const args = parseLauncherArgs(process.argv.slice(2));
ensurePki(args.keysDir);
const tls = join(args.keysDir, 'tls');
const stub = await startStubUpstream(args, args.plain ? undefined : { cert: join(tls, 'server.pem'), key: join(tls, 'server.key'), ca: join(tls, 'ca.pem') });
const port = stub.port;
await serveOrRun(args, {
  name: args.plain ? 'direct (plain HTTP)' : 'direct (TLS 1.3 + mTLS on the stub)',
  target: `${args.plain ? 'http' : 'https'}://127.0.0.1:${port}`,
  pids: stub.pid ? [stub.pid] : [],
});
