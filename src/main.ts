// Composition root: the only module that reads process.env, installs signal handlers and exits.
import cluster from 'node:cluster';
import { fileURLToPath } from 'node:url';
import { startPrimary } from './cluster/primary.js';
import { startWorker } from './cluster/worker.js';
import { assertFilesExist, ConfigError, devPaths, loadConfig } from './config/load.js';
import type { Config } from './config/schema.js';
import { sdkNameWarnings } from './config/sdk-names.js';
import { DEFAULT_UPSTREAM_NAME } from './config/upstream-routes.js';
import { safetyWarnings } from './config/warnings.js';
import { startGateway } from './gateway.js';
import { initDevPki } from './pki/dev-pki.js';
import { describeTlsGroups } from './tls/groups.js';
import { tuneHeap } from './util/heap-tuning.js';

function fail(e: unknown): never {
  if (e instanceof ConfigError) for (const p of e.problems) console.error(`switchguard: configuration error: ${p}`);
  else console.error(`switchguard: failed to start: ${(e as Error)?.message ?? String(e)}`);
  process.exit(1);
}

function banner(config: Config, ports: { inbound: number; outbound: number; admin: number }, upstream: string): string {
  const host = config.inboundHost === '0.0.0.0' || config.inboundHost === '::' ? 'localhost' : config.inboundHost;
  // The default upstream on the inbound line, then one line per INBOUND_UPSTREAM_ROUTES item.
  const [first, ...more] = config.upstream.targets.map((t) => ({
    where: t.kind === 'simulator' ? `built-in FSPIOP simulator (${upstream})` : t.url,
    what: t.name !== DEFAULT_UPSTREAM_NAME ? `${t.resources.join(', ')}: ` : config.upstream.targets.length > 1 ? 'the other resources: ' : '',
  }));
  // The TLS mode as configured: "(mTLS)" only when client certificates are required (review of 2026-12-01).
  const inbound = `  inbound  ${config.inboundMtls ? '(mTLS)' : '(TLS, no client certificate)'} https://${host}:${ports.inbound}  `;
  const lines = [
    `switchguard ${config.profile} profile, ${config.role} role (self: ${config.selfId}), store: ${config.storeKind}`,
    `${inbound}→ ${first ? `${first.what}${first.where}` : ''}`,
    ...more.map((m) => `${' '.repeat(inbound.length)}→ ${m.what}${m.where}`),
    `  outbound (local) http://${config.outboundHost}:${ports.outbound}`,
    `  admin            http://${config.adminHost}:${ports.admin}/health  /ready  /metrics`,
    // TLS_GROUPS as resolved: the groups every TLS endpoint offers, and whether the post-quantum hybrid is among them.
    `  ${describeTlsGroups(config.tlsGroups)}`,
  ];
  if (config.devPki) {
    const d = devPaths(config.keysDir, 'perffsp-1');
    lines.push(
      '',
      'Try it (development PKI, client perffsp-1; GET requests carry no JWS):',
      `  curl -i --cacert ${d.caCert} --cert ${d.clientCert} --key ${d.clientKey} \\`,
      `    -H 'Accept: application/vnd.interoperability.parties+json;version=1.1' \\`,
      `    -H 'Content-Type: application/vnd.interoperability.parties+json;version=1.1' \\`,
      `    -H "Date: $(date -u '+%a, %d %b %Y %H:%M:%S GMT')" -H 'FSPIOP-Source: perffsp-1' -H 'FSPIOP-Destination: perffsp-2' \\`,
      `    https://${host}:${ports.inbound}/parties/MSISDN/27713803912`,
      'Signed POSTs: see `npx switchguard sign --help` and README "Quick start".',
    );
  }
  return lines.join('\n');
}

/** The development-profile warning, on stderr before anything listens: never mistaken for a production start. */
function developmentWarning(config: Config): string {
  const why = config.implicitProfile ? 'SWITCHGUARD_PROFILE is unset and nothing of production is configured' : 'SWITCHGUARD_PROFILE=development';
  const defaults = [
    config.ilpSecret === undefined ? 'the PUBLIC development ILP secret' : undefined,
    config.devPki ? `a generated development PKI (${config.keysDir})` : undefined,
    config.useSimulator ? 'the built-in FSPIOP simulator as upstream' : undefined,
  ].filter((x): x is string => x !== undefined);
  return [
    '************************************************************************',
    `switchguard: WARNING: DEVELOPMENT PROFILE (${why}).`,
    `switchguard: WARNING: uses ${defaults.length ? defaults.join(', ') : 'development defaults'}.`,
    'switchguard: WARNING: not for real traffic; set SWITCHGUARD_PROFILE=production for a deployment.',
    '************************************************************************',
  ].join('\n');
}

function onSignals(stop: (signal: string) => void): void {
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

async function main(): Promise<void> {
  // Before any traffic, in the primary and in every worker (each runs this entry point).
  tuneHeap(process.execArgv);
  let config: Config;
  try {
    config = loadConfig(process.env);
    if (cluster.isPrimary && config.profile === 'development') console.error(developmentWarning(config));
    if (cluster.isPrimary && config.devPki) {
      const r = initDevPki(config.keysDir);
      if (r.created.length) console.log(`switchguard: development PKI created under ${config.keysDir} (${r.created.length} files)`);
    }
    assertFilesExist(config);
    // Once the configuration is known to start: sdk-scheme-adapter names copied across that the gateway would
    // ignore (src/config/sdk-names.ts), then checks off in production and settings without effect (src/config/warnings.ts).
    if (cluster.isPrimary)
      for (const w of [...sdkNameWarnings(process.env), ...safetyWarnings(config)]) console.error(`switchguard: configuration warning: ${w}`);
  } catch (e) {
    fail(e);
  }

  if (cluster.isWorker) {
    // WORKERS > 1, this process is one of them: the primary owns the banner, the admin port and signals.
    let gw: Awaited<ReturnType<typeof startWorker>>;
    try {
      gw = await startWorker(config);
    } catch (e) {
      fail(e);
    }
    let stopping = false;
    onSignals(() => {
      if (!stopping) {
        stopping = true;
        gw.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      }
    });
    return;
  }

  let stopping = false;
  if (config.workers > 1) {
    const primary = await startPrimary(config, fileURLToPath(import.meta.url)).catch(fail);
    const ready = await primary.ready;
    // Handlers before the banner: whoever waits for the banner may signal at once.
    onSignals((signal) => {
      if (stopping) return;
      stopping = true;
      console.log(`switchguard: ${signal} received, draining ${config.workers} workers`);
      primary.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
    console.log(banner(config, { inbound: ready[0]!.inbound, outbound: ready[0]!.outbound, admin: primary.admin.port }, ready[0]!.upstream));
    console.log(`  ${config.workers} worker processes share the inbound and outbound ports`);
    return;
  }

  let gw: Awaited<ReturnType<typeof startGateway>>;
  try {
    gw = await startGateway(config);
  } catch (e) {
    fail(e);
  }
  onSignals((signal) => {
    if (stopping) return;
    stopping = true;
    console.log(`switchguard: ${signal} received, draining (up to ${config.shutdownTimeoutMs} ms)`);
    gw.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
  console.log(banner(config, { inbound: gw.inbound.port, outbound: gw.outbound.port, admin: gw.admin.port }, gw.upstreamUrl));
}

void main();
