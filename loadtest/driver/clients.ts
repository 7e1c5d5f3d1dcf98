// One keep-alive connection pool per simulated DFSP, each presenting that DFSP's client certificate,
// as k6's tlsAuth does (one certificate per domain/FSP).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'undici';

export interface TlsMaterial {
  readonly ca?: string | Buffer;
  /** fspId → client certificate and key (PEM). */
  readonly clients: ReadonlyMap<string, { readonly cert: string | Buffer; readonly key: string | Buffer }>;
}

/** Reads `<keysDir>/tls/ca.pem` and `<keysDir>/clients/<fsp>.pem|.key` (the `switchguard pki init` layout). */
export function loadTlsMaterial(keysDir: string, fsps: readonly string[]): TlsMaterial {
  const clients = new Map<string, { cert: Buffer; key: Buffer }>();
  for (const fsp of fsps) {
    clients.set(fsp, {
      cert: readFileSync(join(keysDir, 'clients', `${fsp}.pem`)),
      key: readFileSync(join(keysDir, 'clients', `${fsp}.key`)),
    });
  }
  return { ca: readFileSync(join(keysDir, 'tls', 'ca.pem')), clients };
}

export interface ClientSet {
  pool(fsp: string): Pool;
  /**
   * Opens every pool's connections before the clock starts: `perPool` simultaneous requests to `path`
   * (any answer will do) make each pool open all its connections, so no TLS handshake (an RSA signature
   * on the driver's thread, and on the server's) happens during the measured run. Returns how many
   * connections were opened.
   */
  preconnect(fsps: readonly string[], perPool: number, path: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * Creates pools lazily. Over https each FSP gets its own certificate; over plain http (a baseline
 * without TLS) one pool serves everyone.
 */
export function createClients(origin: URL, tls: TlsMaterial | undefined, connectionsPerFsp: number): ClientSet {
  const pools = new Map<string, Pool>();
  const https = origin.protocol === 'https:';
  const make = (fsp: string): Pool => {
    const material = https ? tls?.clients.get(fsp) : undefined;
    if (https && tls && !material) throw new Error(`no client certificate for ${fsp}`);
    return new Pool(origin.origin, {
      connections: connectionsPerFsp,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      connect: https ? { ca: tls?.ca, cert: material?.cert, key: material?.key, rejectUnauthorized: tls?.ca !== undefined } : undefined,
    });
  };
  return {
    pool(fsp: string): Pool {
      const key = https ? fsp : '*';
      let p = pools.get(key);
      if (!p) {
        p = make(fsp);
        pools.set(key, p);
      }
      return p;
    },
    async preconnect(fsps: readonly string[], perPool: number, path: string): Promise<number> {
      const keys = new Map<string, string>();
      for (const fsp of fsps) keys.set(https ? fsp : '*', fsp);
      let opened = 0;
      await Promise.all(
        [...keys.values()].map(async (fsp) => {
          const p = this.pool(fsp);
          await Promise.all(
            Array.from({ length: perPool }, () =>
              p.request({ path, method: 'GET', headersTimeout: 10_000, bodyTimeout: 10_000 }).then(
                (res) => res.body.dump(),
                () => undefined,
              ),
            ),
          );
          opened += perPool;
        }),
      );
      return opened;
    },
    async close(): Promise<void> {
      await Promise.all([...pools.values()].map((p) => p.close()));
      pools.clear();
    },
  };
}
