// Topology `hub`: driver → gateway in the hub role (mTLS, FSPIOP checks, JWS verify, ILP with the Redis
// store, forward) → stub upstream (plain HTTP, like a switch service inside the cluster).
//   node --import tsx loadtest/topologies/hub.ts [--workers N] [--node 24|PATH] [--memory] [--skew S] [--rotate-at S[,S…]]
//        [--run -- --profile target-1000 --data FILE]
// --rotate-at: seconds after the driver starts at which the server certificate and the JWS keys are
// rotated (on a copy of the keys directory); use a pre-signed --data set so the clock starts at once.
import { rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { formatCpuList, ownCpus } from '../k6-runner/cpus.js';
import { ensurePki, freePort, gatewayCommand, nodeBinary, parseLauncherArgs, serveOrRun, spawnChild, startStubUpstream, waitForPort } from './common.js';
import { gatewayEnv } from './gateway-env.js';
import { copyKeys, rotateOnce } from './rotate.js';

const argv = process.argv.slice(2);
const args = parseLauncherArgs(argv);
const own = argv.slice(0, argv.includes('--run') ? argv.indexOf('--run') : argv.length);
const memory = own.includes('--memory');
const rotateAt = own.includes('--rotate-at')
  ? (own[own.indexOf('--rotate-at') + 1] ?? '')
      .split(',')
      .map(Number)
      .filter((n) => n > 0)
  : [];
ensurePki(args.keysDir);
const gatewayKeys = rotateAt.length ? copyKeys(args.keysDir) : args.keysDir;
if (gatewayKeys !== args.keysDir) process.on('exit', () => rmSync(gatewayKeys, { recursive: true, force: true }));
/**
 * The multi-DFSP k6 run against this gateway. On this machine k6 belongs on CPUs the gateway does not use
 * (docs/performance/k6.md §2): prefixed with `taskset` for the CPUs this launcher (and so the gateway) was not
 * given, or, when it may use them all, with how to start it so.
 */
function k6Command(command: string): string[] {
  const mine = ownCpus();
  const all = cpus().length;
  if (!mine || all < 2) return [`k6: ${command}`];
  const others = Array.from({ length: all }, (_, c) => c).filter((c) => !mine.includes(c));
  if (others.length > 0) return [`k6: taskset -c ${formatCpuList(others)} ${command}`];
  return [`k6: ${command}`, `    (to run k6 on this machine, start this launcher under taskset -c 0 and k6 under taskset -c 1${all > 2 ? `-${all - 1}` : ''})`];
}

const stub = await startStubUpstream(args);
const stubPort = stub.port;
const ports = { inbound: await freePort(), outbound: await freePort(), admin: await freePort() };
const node = nodeBinary(args.node);
const gw = gatewayCommand(node.path);
const gateway = spawnChild('hub', gw.cmd, gw.args, {
  ...gatewayEnv({ keysDir: gatewayKeys, ports, upstream: `http://127.0.0.1:${stubPort}`, skew: args.skew, workers: args.workers, redis: !memory }),
  GATEWAY_ROLE: 'hub',
});
// The admin listener opens last, after the inbound one (gateway.ts).
await waitForPort(ports.admin, 60_000);
await serveOrRun(args, {
  name: `hub (${gw.how}, ${node.version}, WORKERS=${args.workers}, store ${memory ? 'memory' : 'redis'})`,
  target: `https://127.0.0.1:${ports.inbound}`,
  pids: gateway.pid ? [gateway.pid] : [],
  notes: [
    `stub pid ${stub.pid ?? '?'} at http://127.0.0.1:${stubPort}`,
    `admin http://127.0.0.1:${ports.admin}/metrics`,
    ...k6Command(`npm run loadtest:k6 -- --profile target-1000 --target 127.0.0.1:${ports.inbound} --keys ${args.keysDir} --skew ${args.skew}`),
    ...(rotateAt.length ? [`rotating server certificate and JWS keys in ${gatewayKeys} at ${rotateAt.join(', ')} s`] : []),
  ],
  onRun: () => {
    for (const [i, sec] of rotateAt.entries()) {
      setTimeout(() => {
        const changed = rotateOnce(gatewayKeys, i + 1);
        console.error(`[rotate] t=${sec}s: replaced ${changed.length} files (server certificate, ${changed.length / 2 - 1} JWS keys)`);
      }, sec * 1000);
    }
  },
});
