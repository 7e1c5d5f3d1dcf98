// A minimal upstream for load runs: answers every request 202 with an empty body (what Mojaloop switch
// services answer to an accepted FSPIOP request), optionally after a fixed delay. Plain HTTP by default;
// with TLS material it serves HTTPS, and with a CA it requires client certificates (the direct baseline).

import { readFileSync } from 'node:fs';
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

export interface StubOptions {
  readonly port?: number;
  readonly host?: string;
  readonly delayMs?: number;
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer; readonly ca?: string | Buffer };
}

export interface Stub {
  readonly url: string;
  readonly port: number;
  /** Requests answered so far. */
  count(): number;
  /** Connections accepted so far (TLS connections once their handshake completed). */
  connections(): number;
  close(): Promise<void>;
}

/** Starts the stub on a loopback port (0 = any free port). */
export function startStub(opts: StubOptions = {}): Promise<Stub> {
  let n = 0;
  const delay = opts.delayMs ?? 0;
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    req.resume();
    req.on('end', () => {
      n++;
      const answer = (): void => {
        res.writeHead(202, { 'content-length': '0' });
        res.end();
      };
      if (delay > 0) setTimeout(answer, delay);
      else answer();
    });
  };
  const server: Server = opts.tls
    ? createHttps(
        {
          cert: opts.tls.cert,
          key: opts.tls.key,
          ca: opts.tls.ca,
          requestCert: opts.tls.ca !== undefined,
          rejectUnauthorized: opts.tls.ca !== undefined,
          minVersion: 'TLSv1.3',
        },
        handler,
      )
    : createHttp(handler);
  server.keepAliveTimeout = 60_000;
  let conns = 0;
  server.on(opts.tls ? 'secureConnection' : 'connection', () => {
    conns++;
  });
  const host = opts.host ?? '127.0.0.1';
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `${opts.tls ? 'https' : 'http'}://${host}:${port}`,
        port,
        count: () => n,
        connections: () => conns,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections?.();
            server.close(() => r());
          }),
      });
    });
  });
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const cert = arg('cert');
  const key = arg('key');
  const ca = arg('ca');
  const stub = await startStub({
    port: Number(arg('port') ?? 0),
    delayMs: Number(arg('delay-ms') ?? 0),
    tls: cert && key ? { cert: readFileSync(cert), key: readFileSync(key), ca: ca ? readFileSync(ca) : undefined } : undefined,
  });
  console.log(`stub upstream listening on ${stub.url} (pid ${process.pid})`);
  const stop = (): void => void stub.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
