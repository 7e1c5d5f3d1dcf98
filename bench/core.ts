// requests/s and p50/p99 of mTLS keep-alive POSTs through the gateway (core
// pipeline: mTLS, FSPIOP checks, forward; JWS and ILP off) to a stub upstream, beside the same client
// sending straight to the stub over mTLS and beside a bare node https+undici proxy (the floor), in the same run. Closed loop, fixed concurrency, each phase
// DURATION seconds after a warm-up. Gateway and stubs are child processes; the client is this process.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as hdr from 'hdr-histogram-js';
import { Pool } from 'undici';
import { readCpuMs } from '../loadtest/driver/proc.js';
import { devPaths } from '../src/config/load.js';
import { initDevPki } from '../src/pki/dev-pki.js';
import { child } from './child.js';

const DURATION_S = Number(process.env.BENCH_CORE_SECONDS ?? 10);
const CONCURRENCY = Number(process.env.BENCH_CORE_CONCURRENCY ?? 32);
const BODY = JSON.stringify({
  quoteId: 'b51ec534-ee48-4575-b6a9-ead2955b8069',
  transactionId: 'a8323bc6-c228-4df2-ae82-e5a997baf899',
  amountType: 'SEND',
  amount: { amount: '100.50', currency: 'USD' },
  transactionType: { scenario: 'TRANSFER', initiator: 'PAYER', initiatorType: 'CONSUMER' },
  payee: { partyIdInfo: { partyIdType: 'MSISDN', partyIdentifier: '27713803912', fspId: 'perffsp-2' } },
  payer: { partyIdInfo: { partyIdType: 'MSISDN', partyIdentifier: '44123456789', fspId: 'perffsp-1' } },
});

interface Phase {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  cpuUsPerReq: number;
}

/** @param serverPid the process whose CPU per request is reported (the gateway, or the stub for the direct run) */
async function phase(name: string, origin: string, tls: { ca: Buffer; cert: Buffer; key: Buffer }, serverPid: number): Promise<Phase> {
  const pool = new Pool(origin, { connections: CONCURRENCY, pipelining: 1, connect: { ...tls, servername: 'localhost' } });
  const headers = {
    accept: 'application/vnd.interoperability.quotes+json;version=1.1',
    'content-type': 'application/vnd.interoperability.quotes+json;version=1.1',
    'fspiop-source': 'perffsp-1',
    'fspiop-destination': 'perffsp-2',
  };
  const run = async (seconds: number, h?: hdr.Histogram) => {
    const end = performance.now() + seconds * 1000;
    let ok = 0,
      errors = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (performance.now() < end) {
          const t0 = performance.now();
          try {
            const r = await pool.request({ method: 'POST', path: '/quotes', headers: { ...headers, date: new Date().toUTCString() }, body: BODY });
            await r.body.dump();
            if (r.statusCode === 202) ok++;
            else errors++;
          } catch {
            errors++;
          }
          h?.recordValue(Math.round((performance.now() - t0) * 1000));
        }
      }),
    );
    return { ok, errors };
  };
  await run(2); // warm-up: connections, JIT
  const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  const cpu0 = readCpuMs(serverPid) ?? 0;
  const { ok, errors } = await run(DURATION_S, h);
  const cpuUsPerReq = (((readCpuMs(serverPid) ?? 0) - cpu0) * 1000) / Math.max(1, ok + errors);
  await pool.close();
  return { name, rps: ok / DURATION_S, p50: h.getValueAtPercentile(50) / 1000, p99: h.getValueAtPercentile(99) / 1000, errors, cpuUsPerReq };
}

export async function run(): Promise<Phase[]> {
  const dir = mkdtempSync(join(tmpdir(), 'sg-bench-core-'));
  const procs: ChildProcess[] = [];
  try {
    initDevPki(dir, { fspIds: ['perffsp-1'] });
    const p = devPaths(dir, 'perffsp-1');
    const tls = { ca: readFileSync(p.caCert), cert: readFileSync(p.clientCert), key: readFileSync(p.clientKey) };
    const plain = await child(['loadtest/stub-upstream.ts'], {}, /listening on (\S+)/);
    procs.push(plain.proc);
    const mtls = await child(['loadtest/stub-upstream.ts', '--cert', p.serverCert, '--key', p.serverKey, '--ca', p.caCert], {}, /listening on (\S+)/);
    procs.push(mtls.proc);
    const plainUrl = /listening on (\S+)/.exec(plain.line)![1]!;
    const mtlsUrl = /listening on (\S+)/.exec(mtls.line)![1]!;
    const port = String(20000 + Math.floor(Math.random() * 20000));
    const gw = await child(
      ['src/main.ts'],
      {
        SWITCHGUARD_PROFILE: 'production',
        INBOUND_LISTEN_HOST: '127.0.0.1',
        INBOUND_LISTEN_PORT: port,
        OUTBOUND_LISTEN_PORT: '0',
        ADMIN_LISTEN_PORT: '0',
        IN_SERVER_CERT_PATH: p.serverCert,
        IN_SERVER_KEY_PATH: p.serverKey,
        IN_CA_CERT_PATH: p.caCert,
        INBOUND_UPSTREAM_URL: plainUrl,
        VALIDATE_INBOUND_JWS: 'false',
        JWS_SIGN: 'false',
        ILP_CHECK: 'false',
        LOG_LEVEL: 'warn',
        AUDIT_LOG: 'off',
      },
      /inbound\s+\(mTLS\)/,
    );
    procs.push(gw.proc);
    const floorPort = String(Number(port) + 1);
    const floor = await child(['bench/floor-proxy.ts', p.serverCert, p.serverKey, p.caCert, plainUrl, floorPort], {}, /floor proxy listening/);
    procs.push(floor.proc);
    const direct = await phase('direct to stub (mTLS)', mtlsUrl, tls, mtls.proc.pid!);
    const bare = await phase('bare node https+undici proxy (floor)', `https://127.0.0.1:${floorPort}`, tls, floor.proc.pid!);
    const via = await phase('through gateway (mTLS → http stub)', `https://127.0.0.1:${port}`, tls, gw.proc.pid!);
    console.log(`Core pipeline: ${CONCURRENCY} keep-alive mTLS connections, POST /quotes ${Buffer.byteLength(BODY)} B, ${DURATION_S} s per phase`);
    for (const r of [direct, bare, via]) {
      console.log(
        `  ${r.name.padEnd(38)} ${r.rps.toFixed(0).padStart(7)} req/s   p50 ${r.p50.toFixed(2).padStart(6)} ms   p99 ${r.p99.toFixed(2).padStart(6)} ms   errors ${r.errors}   server CPU ${r.cpuUsPerReq.toFixed(0)} µs/req`,
      );
    }
    console.log(
      `  added by the gateway: p50 +${(via.p50 - direct.p50).toFixed(2)} ms, p99 +${(via.p99 - direct.p99).toFixed(2)} ms; throughput ratio ${(via.rps / direct.rps).toFixed(2)}`,
    );
    console.log(`  gateway CPU above the bare-proxy floor: ${(via.cpuUsPerReq - bare.cpuUsPerReq).toFixed(0)} µs/req`);
    return [direct, bare, via];
  } finally {
    for (const c of procs) c.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith('core.ts')) await run();
