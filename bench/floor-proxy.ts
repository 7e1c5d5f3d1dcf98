// The floor any Node gateway stands on: a bare node:https server with required client certificates
// forwarding each request through an undici Pool, with no checks at all. bench/core.ts runs it beside
// the gateway so the gateway's own cost (everything above this floor) is visible in one run.
// Usage: node --import tsx bench/floor-proxy.ts CERT KEY CA UPSTREAM_URL PORT
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { Pool } from 'undici';

const [cert, key, ca, upstream, port] = process.argv.slice(2);
const pool = new Pool(upstream!, { connections: 64 });
createServer(
  { cert: readFileSync(cert!), key: readFileSync(key!), ca: readFileSync(ca!), requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' },
  (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host' && k !== 'connection') headers[k] = v;
      pool.request({ method: req.method as 'POST', path: req.url!, headers, body: Buffer.concat(chunks) }).then(
        async (r) => {
          const b = Buffer.from(await r.body.arrayBuffer());
          res.writeHead(r.statusCode, { 'content-length': b.length });
          res.end(b);
        },
        () => {
          res.writeHead(502);
          res.end();
        },
      );
    });
  },
).listen(Number(port), '127.0.0.1', () => console.log(`floor proxy listening on ${port}`));
