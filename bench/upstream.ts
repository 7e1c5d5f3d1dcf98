// CPU per forwarded request on the gateway's side of the upstream connection: Upstreams.send (undici's
// dispatch API, the answer buffered by a handler: src/proxy/upstream.ts) beside undici's request() with the
// answer read from its body stream (what send used until 2026-11-30, read with the same listeners: src/proxy/body.ts collect), the same pool settings, the same stub
// upstream in a child process. Rounds alternate so that both see the same machine; the figure is this
// process's user + system CPU over a round divided by its requests.
import type { ChildProcess } from 'node:child_process';
import { Pool } from 'undici';
import { collect } from '../src/proxy/body.js';
import { Upstreams } from '../src/proxy/upstream.js';
import { NOOP_TELEMETRY } from '../src/telemetry/types.js';
import { child } from './child.js';

const REQUESTS = Number(process.env.BENCH_UPSTREAM_REQUESTS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_UPSTREAM_ROUNDS ?? 5);
const CONCURRENCY = 32;
const BODY = Buffer.from(JSON.stringify({ transferId: 'b51ec534-ee48-4575-b6a9-ead2955b8069', amount: { amount: '100.50', currency: 'USD' } }));
const HEADERS = { 'content-type': 'application/vnd.interoperability.transfers+json;version=1.1', 'content-length': String(BODY.length) };
const POOL = { connections: CONCURRENCY, pipelining: 1, keepAliveTimeout: 30_000, headersTimeout: 10_000, bodyTimeout: 10_000 } as const;

type Send = () => Promise<number>;

/** `total` requests, CONCURRENCY at a time; CPU µs of this process per request. */
async function round(send: Send, total: number): Promise<number> {
  let next = 0;
  const c0 = process.cpuUsage();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < total) {
        const status = await send();
        if (status !== 202) throw new Error(`stub answered ${status}`);
      }
    }),
  );
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / total;
}

export async function run(): Promise<void> {
  let stub: ChildProcess | undefined;
  const upstreams = new Upstreams(
    { connections: CONCURRENCY, connectTimeoutMs: 2000, headersTimeoutMs: 10_000, bodyTimeoutMs: 10_000, maxResponseBytes: 1 << 20, endpoint: 'upstream' },
    NOOP_TELEMETRY,
  );
  let pool: Pool | undefined;
  try {
    const s = await child(['loadtest/stub-upstream.ts'], {}, /listening on (\S+)/);
    stub = s.proc;
    const origin = /listening on (\S+)/.exec(s.line)?.[1] ?? '';
    pool = new Pool(origin, POOL);
    const viaRequest = pool;
    const variants: [string, Send][] = [
      [
        'Upstreams.send (dispatch, buffered by a handler)',
        async () => (await upstreams.send(origin, { method: 'POST', path: '/transfers', headers: HEADERS, body: BODY }, 'upstream')).status,
      ],
      [
        'undici request() + body stream (until 2026-11-30)',
        async () => {
          const r = await viaRequest.request({ method: 'POST', path: '/transfers', headers: HEADERS, body: BODY });
          await collect(r.body, 1 << 20, () => new Error('too large'));
          return r.statusCode;
        },
      ],
    ];
    for (const [, send] of variants) await round(send, 2000); // warm-up: connections open, code optimised
    const results = new Map<string, number[]>(variants.map(([name]) => [name, []]));
    for (let i = 0; i < ROUNDS; i++) for (const [name, send] of variants) results.get(name)?.push(await round(send, REQUESTS));
    console.log(`upstream: ${REQUESTS} requests × ${ROUNDS} alternating rounds, ${CONCURRENCY} in flight, CPU µs per request of the sending process`);
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
    const base = median(results.get(variants[1]![0]) ?? []);
    for (const [name, xs] of results) {
      console.log(
        `  ${name.padEnd(52)} ${xs.map((x) => x.toFixed(1)).join(' / ')} µs   median ${median(xs).toFixed(1)} (${((median(xs) / base) * 100).toFixed(0)} %)`,
      );
    }
  } finally {
    await upstreams.close();
    await pool?.close();
    stub?.kill();
  }
}
