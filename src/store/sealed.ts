// Security state shared through the store (the quarantine list, run-time limit overrides) is sealed with
// an HMAC under STATE_HMAC_KEY, a secret every replica has and the store does not. The store is trusted to
// carry the state between replicas, not to author it: a value anyone wrote without the key (a Redis
// client with write access) opens as undefined and is handled as a loss, never applied (docs/security.md
// class 5). Without a key the value is stored as is (HMAC-SHA256, RFC 2104; constant-time comparison).
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface Sealer {
  /** Whether values are authenticated (a key is configured). */
  readonly authenticated: boolean;
  /** The stored form of `text`. */
  seal(text: string): string;
  /** The text of a stored value, or undefined when it was not sealed with this key. */
  open(stored: string): string | undefined;
}

const PREFIX = 'hmac1.';

export function createSealer(key: string | undefined, purpose: string): Sealer {
  if (key === undefined) return { authenticated: false, seal: (t) => t, open: (s) => s };
  // One key, one MAC domain per purpose: a sealed quarantine list never opens as limit overrides.
  const mac = (text: string) => createHmac('sha256', key).update(purpose).update('\0').update(text).digest();
  return {
    authenticated: true,
    seal: (text) => `${PREFIX}${mac(text).toString('base64url')}.${text}`,
    open(stored) {
      if (!stored.startsWith(PREFIX)) return undefined;
      const dot = stored.indexOf('.', PREFIX.length);
      if (dot < 0) return undefined;
      const given = Buffer.from(stored.slice(PREFIX.length, dot), 'base64url');
      const text = stored.slice(dot + 1);
      const want = mac(text);
      return given.length === want.length && timingSafeEqual(given, want) ? text : undefined;
    },
  };
}
