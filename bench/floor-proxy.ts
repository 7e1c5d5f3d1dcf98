// The floor any Node gateway stands on: a bare node:https server with required client certificates
// forwarding each request through an undici Pool, with no checks at all. bench/core.ts runs it beside
// the gateway so the gateway's own cost (everything above this floor) is visible in one run; the `bare`
// load topology (loadtest/topologies/bare.ts) runs it at a fixed rate. With `hono` as the last argument the
// same proxy is served through Hono and @hono/node-server (the gateway's web framework and adapter), so the
// adapter's own cost is measured apart (docs/performance/2026-11-29-cpu-per-request.md).
// Usage: node --import tsx bench/floor-proxy.ts CERT KEY CA UPSTREAM_URL PORT [hono]
import { readFileSync } from 'node:fs';
import { createServer, type ServerOptions } from 'node:https';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { Pool } from 'undici';

const [cert, key, ca, upstream, port, mode] = process.argv.slice(2);
const pool = new Pool(upstream!, { connections: 64 });
const tls: ServerOptions = {
  cert: readFileSync(cert!),
  key: readFileSync(key!),
  ca: readFileSync(ca!),
  requestCert: true,
  rejectUnauthorized: true,
  minVersion: 'TLSv1.3',
};
const listening = () => console.log(`floor proxy listening on ${port}${mode === 'hono' ? ' (hono)' : ''}`);
const forwardable = (k: string) => k !== 'host' && k !== 'connection' && k !== 'content-length';

if (mode === 'hono') {
  const app = new Hono();
  app.all('*', async (c) => {
    const body = Buffer.from(await c.req.arrayBuffer());
    const headers: Record<string, string> = {};
    c.req.raw.headers.forEach((v, k) => {
      if (forwardable(k)) headers[k] = v;
    });
    const u = new URL(c.req.url);
    const r = await pool.request({ method: c.req.method as 'POST', path: u.pathname + u.search, headers, body });
    const b = Buffer.from(await r.body.arrayBuffer());
    return c.body(b, r.statusCode as 202, { 'content-length': String(b.length) });
  });
  serve({ fetch: app.fetch, port: Number(port), hostname: '127.0.0.1', createServer, serverOptions: tls }, listening);
} else {
  createServer(tls, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && forwardable(k)) headers[k] = v;
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
  }).listen(Number(port), '127.0.0.1', listening);
}
