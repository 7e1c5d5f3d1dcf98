// The built-in FSPIOP simulator: the inbound upstream of the development profile when no
// INBOUND_UPSTREAM_URL is set, so a request through the gateway gets a real answer. It answers every
// FSPIOP request the way a switch service does synchronously: 202 Accepted with an empty body (content
// comes back only in the asynchronous callback). Mojaloop's SDKs refuse anything else:
// sdk-standard-components src/lib/requests/common.js throws "Expected empty response body" on a non-zero
// content-length or any body bytes.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Simulator {
  readonly url: string;
  close(): Promise<void>;
}

export async function startSimulator(host = '127.0.0.1'): Promise<Simulator> {
  const server: Server = createServer((req, res) => {
    req.resume(); // the body is read and dropped
    req.on('end', () => {
      res.writeHead(202, { 'content-length': '0' });
      res.end();
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
