// Topology `nginx`: driver → Debian's nginx (TLS 1.3 + required client certificates, keep-alive proxy,
// no FSPIOP/JWS/ILP work) → the same stub. Installs nginx with apt-get when it is missing (the benchmark
// does this; CI does not). worker_processes = --workers (default 1, like one gateway process; `auto` = cores).
//   node --import tsx loadtest/topologies/nginx.ts [--workers N|auto] [--run -- --profile breakpoint]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensurePki, freePort, parseLauncherArgs, ROOT, serveOrRun, spawnChild, startStubUpstream, waitForPort } from './common.js';

function nginxBinary(): string {
  const which = spawnSync('sh', ['-c', 'command -v nginx || ls /usr/sbin/nginx'], { encoding: 'utf8' });
  const found = which.stdout.trim().split('\n')[0];
  if (found) return found;
  console.error('nginx not found: installing it with apt-get (Debian package nginx)');
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'nginx'], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return '/usr/sbin/nginx';
}

const argv = process.argv.slice(2);
const args = parseLauncherArgs(argv);
const own = argv.slice(0, argv.includes('--run') ? argv.indexOf('--run') : argv.length);
const workersAt = own.indexOf('--workers');
const workers = workersAt >= 0 ? (own[workersAt + 1] ?? '1') : '1';
ensurePki(args.keysDir);
const bin = nginxBinary();
const stub = await startStubUpstream(args);
const stubPort = stub.port;
const port = await freePort();
const prefix = mkdtempSync(join(tmpdir(), 'sg-nginx-'));
for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(prefix, d));
const conf = readFileSync(join(ROOT, 'loadtest', 'nginx', 'nginx.conf.template'), 'utf8')
  .replaceAll('@PREFIX@', prefix)
  .replaceAll('@PORT@', String(port))
  .replaceAll('@UPSTREAM_PORT@', String(stubPort))
  .replaceAll('@KEYS@', args.keysDir)
  .replaceAll('@WORKERS@', workers);
writeFileSync(join(prefix, 'nginx.conf'), conf);
const nginx = spawnChild('nginx', bin, ['-p', prefix, '-c', join(prefix, 'nginx.conf')]);
process.on('exit', () => rmSync(prefix, { recursive: true, force: true }));
await waitForPort(port);
await serveOrRun(args, {
  name: `nginx (mTLS only, worker_processes ${workers})`,
  target: `https://127.0.0.1:${port}`,
  pids: nginx.pid ? [nginx.pid] : [],
  notes: [`stub pid ${stub.pid ?? '?'}; nginx prefix ${prefix}`],
});
