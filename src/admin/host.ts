// The admin listener answers only requests addressed to it by an IP address, `localhost` or a name the operator lists
// (ADMIN_ALLOWED_HOSTS). /health, /ready, /metrics and the published keys need no token, so without this a web page the
// operator opens could rebind its own name to the admin address and read them (quarantined peers, key ids, upstream
// names, certificate paths): DNS rebinding keeps the attacker's name in the Host header (RFC 9110 §7.2), which is what
// is checked here (hostile review of 2026-12-02). Prometheus and the kubelet address a pod by its IP; an operator who
// calls the admin API through a Service name lists it.
import { isIP } from 'node:net';

/** A listed name: a host name (exact), or one starting with '.' (any name below it, e.g. `.svc.cluster.local`). */
export const ALLOWED_HOST_RE = /^\.?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/**
 * Whether a request with this Host header may be served. No Host (HTTP/1.0): served, no browser sends one. The port is
 * not compared (the listener's own port is the only one that reaches it; a proxy may rewrite it).
 */
export function adminHostAllowed(host: string | undefined, allowed: readonly string[]): boolean {
  if (host === undefined) return true;
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end > 0 && isIP(h.slice(1, end)) === 6 && /^(?::\d{0,5})?$/.test(h.slice(end + 1));
  }
  const m = /^([^:]*)(?::\d{0,5})?$/.exec(h);
  if (m === null) return false;
  const name = (m[1] as string).endsWith('.') ? (m[1] as string).slice(0, -1) : (m[1] as string);
  if (name === '' || name === 'localhost' || isIP(name) === 4) return name !== '';
  return allowed.some((a) => (a.startsWith('.') ? name.endsWith(a) && name.length > a.length : name === a));
}
