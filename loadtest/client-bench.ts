// Which HTTP client the driver should use: undici Pool vs node https.Agent, closed loop through mTLS to
// the stub, client CPU per request. `node --import tsx loadtest/client-bench.ts [keysDir]` (decided: undici).
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { Pool } from 'undici';
import { startStub } from './stub-upstream.js';

const k = process.argv[2] ?? 'keys';
const ca = readFileSync(`${k}/tls/ca.pem`),
  cert = readFileSync(`${k}/clients/perffsp-1.pem`),
  key = readFileSync(`${k}/clients/perffsp-1.key`);
const stub = await startStub({ tls: { cert: readFileSync(`${k}/tls/server.pem`), key: readFileSync(`${k}/tls/server.key`), ca } });
const u = new URL(stub.url);
const body = JSON.stringify({ a: 'x'.repeat(1500) });
const headers = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) };
const N = 6000,
  C = 32;
async function loop(fn: () => Promise<void>) {
  let i = 0;
  const w = async () => {
    while (i++ < N) await fn();
  };
  await Promise.all(Array.from({ length: C }, w));
}
async function measure(name: string, fn: () => Promise<void>) {
  await loop(fn); // warm
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await loop(fn);
  const c = process.cpuUsage(c0);
  const t = performance.now() - t0;
  console.log(
    `${name}: ${((N / t) * 1000).toFixed(0)} req/s closed-loop C=${C}, client CPU ${((c.user + c.system) / N).toFixed(1)} µs/req (incl. in-process stub)`,
  );
}
const pool = new Pool(u.origin, { connections: C, connect: { ca, cert, key } });
const agent = new https.Agent({ keepAlive: true, maxSockets: C, ca, cert, key });
const viaUndici = async () => {
  const r = await pool.request({ path: '/quotes', method: 'POST', headers, body });
  await r.body.dump();
};
const viaHttps = () =>
  new Promise<void>((res, rej) => {
    const r = https.request({ host: u.hostname, port: u.port, path: '/quotes', method: 'POST', headers, agent }, (s) => {
      s.resume();
      s.on('end', res);
    });
    r.on('error', rej);
    r.end(body);
  });
for (let round = 0; round < 2; round++) {
  await measure('undici Pool', viaUndici);
  await measure('https.Agent', viaHttps);
}
await pool.close();
agent.destroy();
await stub.close();
