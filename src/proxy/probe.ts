// Reachability of the inbound upstreams, for /ready and switchguard_upstream_up (docs/operations.md): a TCP
// connection to each upstream's host and port (https included: the TLS handshake and the CA are proved by
// traffic, not by the probe). Nothing is sent, so it works with any switch service, whatever its health path.
import { connect } from 'node:net';
import type { Telemetry } from '../telemetry/types.js';

const PROBE_INTERVAL_MS = 5000;

/** Whether a TCP connection to the URL's host and port opens within `timeoutMs`. */
function canConnect(url: URL, timeoutMs: number): Promise<boolean> {
  const port = url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1'); // IPv6 literals come bracketed
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (up: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(up);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export interface UpstreamCheck {
  /** 'upstream' (INBOUND_UPSTREAM_URL or the simulator) or 'upstream:<first resource>' (an INBOUND_UPSTREAM_ROUTES item). */
  readonly name: string;
  /** Probes now and reports the result to telemetry. */
  check(): Promise<boolean>;
}

/**
 * One check per inbound upstream, for /ready, and a periodic probe that keeps switchguard_upstream_up
 * current between /ready calls; `stop` ends it.
 */
export function probeUpstreams(
  upstreams: readonly { readonly name: string; readonly url: URL }[],
  deps: { readonly telemetry: Pick<Telemetry, 'upstreamUp'>; readonly timeoutMs: number; readonly intervalMs?: number },
): { readonly checks: readonly UpstreamCheck[]; stop(): void } {
  const checks = upstreams.map(
    (u): UpstreamCheck => ({
      name: u.name,
      check: async () => {
        const up = await canConnect(u.url, deps.timeoutMs);
        deps.telemetry.upstreamUp({ target: u.name, up });
        return up;
      },
    }),
  );
  const run = () => {
    for (const c of checks) void c.check();
  };
  run();
  const timer = setInterval(run, deps.intervalMs ?? PROBE_INTERVAL_MS);
  timer.unref();
  return { checks, stop: () => clearInterval(timer) };
}
