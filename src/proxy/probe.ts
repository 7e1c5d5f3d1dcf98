// Reachability of the inbound upstreams, for /ready and switchguard_upstream_up (docs/operations.md): a TCP
// connection to each upstream's host and port (https included: the TLS handshake and the CA are proved by
// traffic, not by the probe). Nothing is sent, so it works with any switch service, whatever its health path.
import { connect } from 'node:net';
import type { Telemetry } from '../telemetry/types.js';

const PROBE_INTERVAL_MS = 5000;
/**
 * How long one probe's answer serves further checks. /ready needs no token: without this, every call opened a TCP
 * connection to every upstream (in cluster mode, from every worker), 1 873 connections in 5 s of /ready calls
 * (hostile review of 2026-12-01). Concurrent checks share the probe in flight.
 */
const ANSWER_MS = 1000;

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
  const checks = upstreams.map((u): UpstreamCheck => {
    let inFlight: Promise<boolean> | undefined;
    let last: { at: number; up: boolean } | undefined;
    return {
      name: u.name,
      check: () => {
        if (inFlight !== undefined) return inFlight;
        if (last !== undefined && performance.now() - last.at < ANSWER_MS) return Promise.resolve(last.up);
        // Cleared once settled, whatever the outcome, even if the probe throws at once: the next check probes again.
        const probe = (async () => {
          const up = await canConnect(u.url, deps.timeoutMs);
          last = { at: performance.now(), up };
          deps.telemetry.upstreamUp({ target: u.name, up });
          return up;
        })();
        inFlight = probe;
        const clear = () => {
          if (inFlight === probe) inFlight = undefined;
        };
        probe.then(clear, clear);
        return probe;
      },
    };
  });
  const run = () => {
    // The periodic probe's outcome reaches telemetry; a failure of its own is counted as down at the next /ready.
    for (const c of checks) c.check().catch(() => {});
  };
  run();
  const timer = setInterval(run, deps.intervalMs ?? PROBE_INTERVAL_MS);
  timer.unref();
  return { checks, stop: () => clearInterval(timer) };
}
