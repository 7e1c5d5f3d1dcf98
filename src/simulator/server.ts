// The built-in FSPIOP simulator: the inbound upstream of the development profile when no
// INBOUND_UPSTREAM_URL is set, so a request through the gateway gets a real answer. It answers every
// FSPIOP request the way a switch service does synchronously, 202 Accepted, with a small JSON receipt.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Simulator {
  readonly url: string;
  close(): Promise<void>;
}

export async function startSimulator(host = '127.0.0.1'): Promise<Simulator> {
  const server: Server = createServer((req, res) => {
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
    });
    req.on('end', () => {
      const receipt = JSON.stringify({
        simulator: 'switchguard',
        received: `${req.method} ${req.url}`,
        fspiopSource: req.headers['fspiop-source'] ?? null,
        verifiedPeer: req.headers['x-client-id'] ?? null,
        bodyBytes: size,
      });
      res.writeHead(202, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(receipt) });
      res.end(receipt);
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
