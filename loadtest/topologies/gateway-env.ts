// Environment of a gateway started by a launcher: loopback ports, the dev PKI, quiet logs, a Redis
// key prefix of its own. Names are the gateway's public settings (src/config/schema.ts).
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { onTeardown } from './common.js';

/** A key prefix of this run's own; its keys are deleted when the launcher tears down. */
function runPrefix(url: string): string {
  const prefix = `sgload:${randomBytes(4).toString('hex')}:`;
  onTeardown(async () => {
    const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await r.connect();
      let cursor = '0';
      do {
        const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await r.del(...keys);
      } while (cursor !== '0');
    } finally {
      r.disconnect();
    }
  });
  return prefix;
}

export interface GatewayPorts {
  readonly inbound: number;
  readonly outbound: number;
  readonly admin: number;
}

const redisUrl = () => process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export function gatewayEnv(o: {
  keysDir: string;
  ports: GatewayPorts;
  upstream: string;
  skew: number;
  workers: number;
  redis: boolean;
}): Record<string, string> {
  return {
    SWITCHGUARD_PROFILE: 'development',
    KEYS_DIR: o.keysDir,
    INBOUND_LISTEN_HOST: '127.0.0.1',
    INBOUND_LISTEN_PORT: String(o.ports.inbound),
    OUTBOUND_LISTEN_PORT: String(o.ports.outbound),
    ADMIN_LISTEN_PORT: String(o.ports.admin),
    INBOUND_UPSTREAM_URL: o.upstream,
    IN_SERVER_CERT_PATH: join(o.keysDir, 'tls', 'server.pem'),
    IN_SERVER_KEY_PATH: join(o.keysDir, 'tls', 'server.key'),
    IN_CA_CERT_PATH: join(o.keysDir, 'tls', 'ca.pem'),
    JWS_VERIFICATION_KEYS_DIRECTORY: join(o.keysDir, 'jws'),
    JWS_MAX_CLOCK_SKEW_SECONDS: String(o.skew),
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    AUDIT_LOG: 'off',
    WORKERS: String(o.workers),
    ...(o.redis ? { REDIS_URL: redisUrl(), REDIS_KEY_PREFIX: runPrefix(redisUrl()) } : { STORE: 'memory' }),
  };
}
