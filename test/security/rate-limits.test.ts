// Traffic control over real mTLS (docs/operations.md): per-DFSP rate limits shared by two replicas on the real
// Redis, other DFSPs unaffected, burst at the boundary, Redis down mid-flood (per-process fallback, then
// shared limits again), bad limits files keep the old limits, in-flight bound with a slow upstream.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { Redis } from 'ioredis';
import { fspiopHeaders, type Reply, send, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { KEYS } from '../helpers/jws.js';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { REDIS_URL, startRedis } from '../helpers/redis-procs.js';
import { waitFor } from '../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'sg-limits-'));
const pki: TestPki = makeTestPki();
after(() => {
  rmSync(dir, { recursive: true, force: true });
  pki.cleanup();
});
const peersPath = join(dir, 'peers.json');
writeFileSync(peersPath, JSON.stringify({ dfsp1: 'http://127.0.0.1:9/', dfsp2: 'http://127.0.0.1:9/', dfsp3: 'http://127.0.0.1:9/' }));

let n = 0;
function limitsFile(content: unknown): string {
  const p = join(dir, `limits-${n++}.yaml`);
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
}
/** Replaces a file atomically (the watcher sees a new inode). */
function rewrite(path: string, content: unknown): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, typeof content === 'string' ? content : JSON.stringify(content));
  renameSync(tmp, path);
}

// The sleeps in this file pace traffic on the clock or open a fresh one-second window: time is the thing
// tested. Waiting for something to happen goes through until() (a poll with a deadline).
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const until = async (what: string, check: () => Promise<boolean> | boolean, deadlineMs = 10_000): Promise<void> => {
  await waitFor(check, { what, timeoutMs: deadlineMs, intervalMs: 25 });
};

const agents: Agent[] = [];
after(() => {
  for (const a of agents) a.destroy();
});
function agentFor(t: TestGateway, fspId: string): Agent {
  const c = t.cert(fspId);
  const a = new Agent({ keepAlive: true, maxSockets: 32, ca: t.pki.ca.certPem, cert: c.certPem, key: c.keyPem, servername: 'localhost' });
  agents.push(a);
  return a;
}

/** GET /parties from `fspId` (a lookup), on a keep-alive agent. */
const lookup = (t: TestGateway, fspId: string, agent: Agent): Promise<Reply> =>
  send(t.gw.inbound.port, {
    method: 'GET',
    path: `/parties/MSISDN/${Math.floor(Math.random() * 1e9)}`,
    headers: fspiopHeaders('parties', fspId, { 'fspiop-destination': 'dfsp9' }),
    ca: t.pki.ca.certPem,
    agent,
  });

const is2005 = (r: Reply) => r.status === 503 && r.json().errorInformation.errorCode === '2005';

async function metrics(t: TestGateway): Promise<string> {
  return new Promise((resolve, reject) => {
    httpRequest({ host: '127.0.0.1', port: t.gw.admin.port, path: '/metrics' }, (res) => {
      let b = '';
      res.on('data', (c) => (b += c));
      res.on('end', () => resolve(b));
    })
      .on('error', reject)
      .end();
  });
}
const metricValue = (text: string, series: string): number => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
};

const p99 = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(s.length * 0.99) - 1)]!;
};

async function gateway(env: Record<string, string>): Promise<TestGateway> {
  return startTestGateway({ pki, env: { PEERS_PATH: peersPath, PEER_ENDPOINT: 'http://127.0.0.1:9/', ...env } });
}

describe('two replicas on the shared Redis', () => {
  // Run twice: with refusals answered at once (RATE_LIMIT_HOLD_MS=0) and with the default hold (refused
  // connections wait until the DFSP's bucket admits again, so the flood drains later).
  for (const hold of ['0', undefined] as const)
    test(`a DFSP at 5x its limit through both replicas is admitted at the limit (within 10 %), other DFSPs unaffected (${hold === undefined ? 'default hold' : 'RATE_LIMIT_HOLD_MS=0'})`, async () => {
      const prefix = `sg-test-limits-${randomBytes(4).toString('hex')}:`;
      const rps = 20;
      const path = limitsFile({ default: { rps: 1000 }, fsps: { dfsp1: { rps, burst: 0 } } });
      const env = {
        RATE_LIMITS_PATH: path,
        REDIS_URL,
        REDIS_KEY_PREFIX: prefix,
        RATE_LIMITS_REPLICAS: '2',
        STORE_TIMEOUT_MS: '2000', // a loaded CI machine must not turn a slow answer into a fallback decision
        ...(hold === undefined ? {} : { RATE_LIMIT_HOLD_MS: hold }),
      };
      const a = await gateway(env);
      const b = await gateway(env);
      const raw = new Redis(REDIS_URL);
      try {
        const flooders = [agentFor(a, 'dfsp1'), agentFor(b, 'dfsp1')];
        const quiet = [agentFor(a, 'dfsp2'), agentFor(b, 'dfsp2')];
        // Baseline: the other DFSP alone, 10 requests per second for 1.5 s.
        const other = async (durationMs: number): Promise<number[]> => {
          const lat: number[] = [];
          const jobs: Promise<void>[] = [];
          for (let i = 0; i < durationMs / 100; i++) {
            jobs.push(
              (async () => {
                await sleep(i * 100);
                const t0 = performance.now();
                const r = await lookup(i % 2 ? b : a, 'dfsp2', quiet[i % 2]!);
                lat.push(performance.now() - t0);
                assert.equal(r.status, 202, 'the other DFSP is never limited');
              })(),
            );
          }
          await Promise.all(jobs);
          return lat;
        };
        for (const x of quiet) await Promise.all([lookup(a, 'dfsp2', x), lookup(b, 'dfsp2', x)]); // warm connections
        const baseline = await other(1500);
        // Decisions taken by a replica's fallback share so far (a replica's first requests may come before its
        // limiter's connection is ready).
        const fallbacks = async () =>
          metricValue(await metrics(a), 'switchguard_rate_limit_fallback_total{what="rate"}') +
          metricValue(await metrics(b), 'switchguard_rate_limit_fallback_total{what="rate"}');
        const fallbacksBefore = await fallbacks();

        // Flood: 5 x rps for 3 seconds, paced evenly, alternating replicas.
        const total = 5 * rps * 3;
        const sendMs = 2900;
        const results: Reply[] = [];
        const t0 = performance.now();
        const flood = Array.from({ length: total }, async (_, i) => {
          const wait = t0 + (i * sendMs) / total - performance.now();
          if (wait > 0) await sleep(wait);
          results.push(await lookup(i % 2 ? b : a, 'dfsp1', flooders[i % 2]!));
        });
        const during = await other(2800);
        assert.ok((await raw.keys(`${prefix}gcra:*`)).length > 0, 'the state lives in the shared Redis under the key prefix');
        await Promise.all(flood);
        const admitted = results.filter((r) => r.status === 202).length;
        const refused = results.filter(is2005).length;
        // GCRA (src/limits/gcra.ts): a bucket holding a second's worth, refilled at rps. Over the span S of the
        // admissions (arrival at the upstream stands in for the moment of admission) a saturated bucket admits its
        // capacity plus rps x S: the limit the admitted count is judged against, with and without the hold.
        const admittedAt = [...a.stub.requests, ...b.stub.requests].filter((r) => r.headers['fspiop-source'] === 'dfsp1').map((r) => r.at);
        const spanMs = Math.max(...admittedAt) - Math.min(...admittedAt);
        const limit = Math.round(rps + (rps * spanMs) / 1000);
        assert.ok(spanMs >= 2000, `the flood's admissions span its seconds: ${spanMs.toFixed(0)} ms`);
        console.log(
          `# flood (${hold === undefined ? 'default hold' : 'no hold'}): ${total} sent over ${sendMs} ms (${(total / (sendMs / 1000)).toFixed(0)} req/s, 5x ${rps} rps) through 2 replicas; ` +
            `admitted ${admitted} (limit ${limit}: ${rps} at once + ${rps}/s over ${(spanMs / 1000).toFixed(2)} s: ${((admitted / limit - 1) * 100).toFixed(1)} %), refused ${refused} (2005/503); ` +
            `other DFSP p99 ${p99(baseline).toFixed(1)} ms alone, ${p99(during).toFixed(1)} ms during the flood`,
        );
        assert.equal(admitted + refused, total, 'every request is admitted or refused with 2005');
        assert.ok(Math.abs(admitted - limit) <= limit * 0.1, `admitted ${admitted} must be within 10 % of ${limit}`);
        const refusedReply = results.find(is2005)!;
        // Held refusals come back when the bucket admits again (Retry-After 0); the others say when it will.
        assert.match(String(refusedReply.headers['retry-after']), hold === '0' ? /^[1-9]\d*$/ : /^\d+$/);
        assert.equal(refusedReply.json().errorInformation.errorDescription.startsWith('Server busy'), true);
        // Refused requests never reach the upstream: the stub saw exactly the admitted ones (plus dfsp2's).
        const upstreamFlood = [...a.stub.requests, ...b.stub.requests].filter((r) => r.headers['fspiop-source'] === 'dfsp1').length;
        assert.equal(upstreamFlood, admitted);
        // Counted per DFSP and reason, on both replicas together.
        const counted =
          metricValue(await metrics(a), 'switchguard_rate_limited_total{listener="inbound",dfsp="dfsp1",reason="rate"}') +
          metricValue(await metrics(b), 'switchguard_rate_limited_total{listener="inbound",dfsp="dfsp1",reason="rate"}');
        assert.equal(counted, refused);
        // Every decision of the flood was the shared store's: none by a replica's fallback share hides inside the 10 %.
        assert.equal((await fallbacks()) - fallbacksBefore, 0);
        // The other DFSP's latency is reported above, not asserted: speed is judged by benchmarks and the load
        // driver on a quiet machine, never by a timed test (a busy CI machine would make any bound noise).
      } finally {
        await a.close();
        await b.close();
        const keys = await raw.keys(`${prefix}*`);
        if (keys.length) await raw.del(...keys);
        raw.disconnect();
      }
    });

  test('Redis down mid-flood: each replica enforces its share, nothing crashes, and the shared limit returns with Redis', async () => {
    const redis = await startRedis();
    const rps = 20;
    // Refusals answered at once (the hold is tested below): each burst is over in a few tens of milliseconds.
    const env = {
      RATE_LIMITS_PATH: limitsFile({ fsps: { dfsp1: { rps } } }),
      REDIS_URL: redis.url,
      RATE_LIMITS_REPLICAS: '2',
      STORE_TIMEOUT_MS: '200',
      RATE_LIMIT_HOLD_MS: '0',
    };
    const a = await gateway(env);
    const b = await gateway(env);
    try {
      const ag = [agentFor(a, 'dfsp1'), agentFor(b, 'dfsp1')];
      // A burst from full buckets admits their capacity plus what they refill while it lasts (GCRA: rate x time).
      const burst = async (gws: TestGateway[], count: number) => {
        const t0 = performance.now();
        const rs = await Promise.all(Array.from({ length: count }, (_, i) => lookup(gws[i % gws.length]!, 'dfsp1', ag[gws.length === 1 ? 0 : i % 2]!)));
        const refill = Math.ceil((rps * (performance.now() - t0)) / 1000);
        for (const r of rs) assert.ok(r.status === 202 || is2005(r), `unexpected ${r.status}`);
        return { admitted: rs.filter((r) => r.status === 202).length, refill };
      };
      const admitsAbout = async (gws: TestGateway[], count: number, capacity: number, what: string) => {
        const { admitted, refill } = await burst(gws, count);
        assert.ok(admitted >= capacity && admitted <= capacity + refill + 1, `${what}: ${admitted} admitted, capacity ${capacity} (+${refill} refilled)`);
        return admitted;
      };
      // Each burst starts with full buckets (a second's worth refills in a second).
      const fresh = () => sleep(1100);
      // Shared: one replica alone gets the whole limit.
      await admitsAbout([a], 40, rps, 'shared, one replica');
      await redis.kill();
      const fallbacks = async () =>
        metricValue(await metrics(a), 'switchguard_rate_limit_fallback_total{what="rate"}') +
        metricValue(await metrics(b), 'switchguard_rate_limit_fallback_total{what="rate"}');
      await until('fallback in use', async () => {
        await Promise.all([lookup(a, 'dfsp1', ag[0]!), lookup(b, 'dfsp1', ag[1]!)]);
        return (await fallbacks()) >= 2;
      });
      // Per-process fallback: rps x 1/2 on each replica, the two together the whole limit; one alone only its share.
      await fresh();
      await admitsAbout([a, b], 80, rps, 'store down, both replicas together: the whole limit');
      await fresh();
      await admitsAbout([a], 40, rps / 2, 'store down, one replica alone: its share');
      await redis.restart();
      await until(
        'shared limit after Redis returns',
        async () => {
          await fresh();
          const { admitted, refill } = await burst([a], 40);
          return admitted >= rps && admitted <= rps + refill + 1;
        },
        15_000,
      );
    } finally {
      await a.close();
      await b.close();
      await redis.cleanup();
    }
  });
});

describe('one replica, memory store', () => {
  test("burst exactly at the boundary: rps + burst admitted at once (a second's worth plus the burst), the next one refused with Retry-After", async () => {
    const lines: { level: string; msg: string | undefined; code: unknown }[] = [];
    const log = (level: string) => (obj: object, msg?: string) => lines.push({ level, msg, code: (obj as { errorCode?: unknown }).errorCode });
    const t = await startTestGateway({
      pki,
      env: {
        PEERS_PATH: peersPath,
        PEER_ENDPOINT: 'http://127.0.0.1:9/',
        // rps 2: the next request conforms half a second later, far more than the burst takes here.
        RATE_LIMITS_PATH: limitsFile({ fsps: { dfsp1: { rps: 2, burst: 3 }, dfsp2: { rps: 2 } } }),
        RATE_LIMIT_HOLD_MS: '0', // answered at once (the hold is tested below)
      },
      overrides: { logger: { info: log('info'), warn: log('warn'), error: log('error'), debug: log('debug') } },
    });
    try {
      const ag = agentFor(t, 'dfsp1');
      const first = await Promise.all(Array.from({ length: 5 }, () => lookup(t, 'dfsp1', ag)));
      assert.deepEqual(
        first.map((r) => r.status),
        Array(5).fill(202),
      );
      const sixth = await lookup(t, 'dfsp1', ag);
      assert.ok(is2005(sixth));
      assert.equal(sixth.headers['retry-after'], '1');
      const ag2 = agentFor(t, 'dfsp2');
      const two = await Promise.all(Array.from({ length: 2 }, () => lookup(t, 'dfsp2', ag2)));
      assert.deepEqual(
        two.map((r) => r.status),
        [202, 202],
      );
      assert.ok(is2005(await lookup(t, 'dfsp2', ag2)), 'burst 0: the (rps+1)th at once is refused');
      // A refusal by a limit is one debug line, never an error line (a flood must not flood the log).
      const limited = lines.filter((l) => l.code === 'GW_RATE_LIMITED');
      assert.equal(limited.length, 2);
      assert.ok(limited.every((l) => l.level === 'debug' && l.msg === 'request limited'));
      assert.equal(lines.filter((l) => l.level === 'error').length, 0);
    } finally {
      await t.close();
    }
  });

  test('a refused request is answered before its body is read: no body check, no signature check, no upstream', async () => {
    // Answered at once (no hold), so both refused requests fall in the one window the first lookup spends.
    const t = await gateway({ RATE_LIMITS_PATH: limitsFile({ fsps: { dfsp1: { rps: 1 } } }), RATE_LIMIT_HOLD_MS: '0' });
    try {
      const ag = agentFor(t, 'dfsp1');
      await lookup(t, 'dfsp1', ag); // spends dfsp1's second (whether it is admitted is not the point here)
      // A POST /quotes whose head declares 64 KiB of body, of which not one byte is ever sent: a stage reading
      // the body would wait for it (until the request timeout); the limiter answers at once.
      const c = t.cert('dfsp1');
      const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpsRequest({
          host: '127.0.0.1',
          port: t.gw.inbound.port,
          method: 'POST',
          path: '/quotes',
          headers: { ...fspiopHeaders('quotes', 'dfsp1', { 'fspiop-destination': 'dfsp2' }), 'content-length': String(64 * 1024) },
          ca: t.pki.ca.certPem,
          cert: c.certPem,
          key: c.keyPem,
          servername: 'localhost',
          agent: false,
        });
        req.on('response', (res) => {
          let b = '';
          res.on('data', (d) => (b += d));
          res.on('end', () => resolve({ status: res.statusCode!, body: b }));
        });
        req.on('error', reject);
        req.flushHeaders(); // the head only; the request is never ended
        setTimeout(() => reject(new Error('no answer within 3 s: the refused path waited for the body')), 3000).unref();
      });
      assert.equal(reply.status, 503);
      assert.equal(JSON.parse(reply.body).errorInformation.errorCode, '2005');
      // And a garbage body is never parsed (it would be 3101) nor its missing signature judged.
      const garbage = await send(t.gw.inbound.port, {
        method: 'POST',
        path: '/quotes',
        headers: fspiopHeaders('quotes', 'dfsp1', { 'fspiop-destination': 'dfsp2' }),
        body: '{"not json',
        ca: t.pki.ca.certPem,
        agent: ag,
      });
      assert.ok(is2005(garbage), `refused as rate limited, not judged on its body: ${garbage.status} ${garbage.body}`);
      assert.equal(t.stub.requests.filter((r) => r.method === 'POST').length, 0, 'no refused request reached the upstream');
    } finally {
      await t.close();
    }
  });

  test('a class limit bounds only its class; the outbound listener limits by FSPIOP-Destination', async () => {
    const t = await gateway({
      RATE_LIMITS_PATH: limitsFile({ fsps: { dfsp1: { rps: 100, classes: { quotes: { rps: 2 } } }, dfsp3: { rps: 2 } } }),
      PEER_ENDPOINT: '',
    });
    try {
      const ag = agentFor(t, 'dfsp1');
      const quote = () =>
        send(t.gw.inbound.port, {
          method: 'GET',
          path: '/quotes/b51ec534-ee48-4575-b6a9-ead2955b8069',
          headers: fspiopHeaders('quotes', 'dfsp1', { 'fspiop-destination': 'dfsp9' }),
          ca: t.pki.ca.certPem,
          agent: ag,
        });
      const q = await Promise.all([quote(), quote(), quote()]);
      assert.deepEqual(q.map((r) => r.status).sort(), [202, 202, 503]);
      // A class refusal is answered at once, not held (holding it would stall the DFSP's other classes queued on
      // that connection): a held one would come back as its window reopens, with Retry-After 0.
      assert.equal(q.find((r) => r.status === 503)!.headers['retry-after'], '1');
      assert.equal((await lookup(t, 'dfsp1', ag)).status, 202, 'lookups are another class');
      // Outbound: to dfsp3 (limit 2) the third request in the second is refused before anything is sent.
      // (dfsp3's endpoint in the peer directory is a closed port: admitted requests end in 1001, refused ones in 2005.)
      const out = () =>
        new Promise<string>((resolve, reject) => {
          httpRequest(
            {
              host: '127.0.0.1',
              port: t.gw.outbound.port,
              method: 'GET',
              path: '/parties/MSISDN/1',
              headers: fspiopHeaders('parties', 'dfsp1', { 'fspiop-destination': 'dfsp3' }),
            },
            (res) => {
              let b = '';
              res.on('data', (c) => (b += c));
              res.on('end', () =>
                resolve(
                  `${res.statusCode} ${JSON.parse(b).errorInformation.errorCode}${res.statusCode === 503 && res.headers['retry-after'] ? ` ${res.headers['retry-after']}` : ''}`,
                ),
              );
            },
          )
            .on('error', reject)
            .end();
        });
      const o = await Promise.all([out(), out(), out()]);
      // Outbound refusals are never held (Retry-After 1, not 0).
      assert.deepEqual(o.sort(), ['503 1001', '503 1001', '503 2005 1']);
    } finally {
      await t.close();
    }
  });

  test('a bad limits file (unknown FSP id, negative rate, garbage) keeps the old limits, logged and counted', async () => {
    const path = limitsFile({ fsps: { dfsp1: { rps: 3 } } });
    const errors: string[] = [];
    const logger = {
      info() {},
      warn() {},
      debug() {},
      error(o: unknown) {
        errors.push(JSON.stringify(o));
      },
    };
    const t = await startTestGateway({
      pki,
      env: { PEERS_PATH: peersPath, RATE_LIMITS_PATH: path, TLS_RELOAD_INTERVAL_MS: '100' },
      overrides: { logger: logger as never },
    });
    try {
      const ag = agentFor(t, 'dfsp1');
      const failed = async () => metricValue(await metrics(t), 'switchguard_reload_total{what="rate_limits",outcome="failed"}');
      const bad = [
        { fsps: { dfsp1: { rps: 1000 }, 'no-such-dfsp': { rps: 1000 } } },
        { fsps: { dfsp1: { rps: -5 } } },
        'fsps: [this is: {not valid',
        { fsps: { dfsp1: { rps: 1000, burst: -1 } } },
        { fsps: { dfsp1: { rps: 1000, colour: 'red' } } },
      ];
      for (const [i, content] of bad.entries()) {
        rewrite(path, content);
        await until(`reload failure ${i + 1}`, async () => (await failed()) === i + 1);
        await sleep(1000); // a fresh one-second window
        const rs = await Promise.all(Array.from({ length: 5 }, () => lookup(t, 'dfsp1', ag)));
        assert.equal(rs.filter((r) => r.status === 202).length, 3, `old limit (3) still in force after bad file ${i + 1}`);
      }
      assert.ok(errors.filter((e) => e.includes('limits_reload_failed')).length >= bad.length, 'each refusal is logged');
      assert.ok(errors.some((e) => e.includes('unknown FSP id')));
      // A good file applies.
      rewrite(path, { fsps: { dfsp1: { rps: 1000 } } });
      await until('good reload', async () => metricValue(await metrics(t), 'switchguard_reload_total{what="rate_limits",outcome="ok"}') === 1);
      await sleep(1000);
      const rs = await Promise.all(Array.from({ length: 6 }, () => lookup(t, 'dfsp1', ag)));
      assert.equal(rs.filter((r) => r.status === 202).length, 6);
    } finally {
      await t.close();
    }
  });

  test('a rate refusal is held until the window reopens (RATE_LIMIT_HOLD_MS); a request pipelined behind it is refused at once and closes the connection', async () => {
    const held = await gateway({ RATE_LIMITS_PATH: limitsFile({ fsps: { dfsp1: { rps: 1 } } }) }); // the default hold, 1000 ms
    const direct = await gateway({ RATE_LIMITS_PATH: limitsFile({ fsps: { dfsp1: { rps: 1 } } }), RATE_LIMIT_HOLD_MS: '0' });
    try {
      // Time to a refusal answered on a kept-alive connection, right after the one request of the window.
      const refusedAfter = async (t: TestGateway): Promise<{ ms: number; retryAfter: string }> => {
        const ag = agentFor(t, 'dfsp1');
        await until('a fresh window admits dfsp1', async () => (await lookup(t, 'dfsp1', ag)).status === 202, 5000);
        const t0 = performance.now();
        const r = await lookup(t, 'dfsp1', ag);
        assert.ok(is2005(r), `refused: ${r.status} ${r.body}`);
        return { ms: performance.now() - t0, retryAfter: String(r.headers['retry-after']) };
      };
      // Held: answered when the one-second window that admitted the first request ends (a timer never fires
      // early, so this lower bound cannot flake), with Retry-After 0: the window has reopened. Without the hold:
      // at once (generous bound for a busy machine), Retry-After 1.
      const h = await refusedAfter(held);
      assert.ok(h.ms >= 400, `held until the window reopens: answered after ${h.ms.toFixed(0)} ms`);
      assert.equal(h.retryAfter, '0', 'after the hold the window has reopened');
      const d = await refusedAfter(direct);
      assert.ok(d.ms < 400, `RATE_LIMIT_HOLD_MS=0 answers at once: ${d.ms.toFixed(0)} ms`);
      assert.equal(d.retryAfter, '1');
      // Held refusals of one DFSP are answered one interval (here 1 s) apart; one whose turn would come after the
      // hold is answered at once: of two refusals at the same moment on two connections, one is held, one is not.
      const two = [agentFor(held, 'dfsp1'), agentFor(held, 'dfsp1')];
      await until('a fresh window admits dfsp1', async () => (await lookup(held, 'dfsp1', two[0]!)).status === 202, 5000);
      const pair = await Promise.all(two.map((x) => lookup(held, 'dfsp1', x)));
      assert.ok(pair.every(is2005));
      assert.deepEqual(pair.map((r) => r.headers['retry-after']).sort(), ['0', '1'], 'one held to its turn, one answered at once');
      // A hold shorter than the window: answered after the hold, before the window reopens (Retry-After still 1).
      const short = await gateway({ RATE_LIMITS_PATH: limitsFile({ fsps: { dfsp1: { rps: 1 } } }), RATE_LIMIT_HOLD_MS: '200' });
      try {
        const s = await refusedAfter(short);
        assert.ok(s.ms >= 180, `held for RATE_LIMIT_HOLD_MS: ${s.ms.toFixed(0)} ms`);
        assert.equal(s.retryAfter, '1', 'the hold ended before the window: RATE_LIMIT_HOLD_MS bounds it');
      } finally {
        await short.close();
      }

      // Pipelining: three requests in one write while the window is spent. The first is held; the second, behind
      // a held refusal, is refused at once with Connection: close, and the third is never answered (the
      // connection ends after the second): pipelining cannot pile up held requests.
      const ag = agentFor(held, 'dfsp1');
      await until('a fresh window admits dfsp1', async () => (await lookup(held, 'dfsp1', ag)).status === 202, 5000);
      const c = held.cert('dfsp1');
      const head = (i: number) =>
        [
          `GET /parties/MSISDN/${1000 + i} HTTP/1.1`,
          'host: localhost',
          ...Object.entries(fspiopHeaders('parties', 'dfsp1', { 'fspiop-destination': 'dfsp9' })).map(([k, v]) => `${k}: ${v}`),
          '',
          '',
        ].join('\r\n');
      const t0 = performance.now();
      const text = await new Promise<string>((resolve, reject) => {
        const socket = tlsConnect({
          host: '127.0.0.1',
          port: held.gw.inbound.port,
          servername: 'localhost',
          ca: held.pki.ca.certPem,
          cert: c.certPem,
          key: c.keyPem,
        });
        const chunks: Buffer[] = [];
        const timer = setTimeout(() => {
          socket.destroy();
          reject(new Error(`the connection was not closed: ${Buffer.concat(chunks).toString()}`));
        }, 8000);
        socket.once('secureConnect', () => socket.write(head(1) + head(2) + head(3)));
        socket.on('data', (d: Buffer) => chunks.push(d));
        socket.on('error', () => {}); // a reset after the close is as good as a FIN here
        socket.on('close', () => {
          clearTimeout(timer);
          resolve(Buffer.concat(chunks).toString('utf8'));
        });
      });
      const elapsed = performance.now() - t0;
      const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]);
      assert.deepEqual(statuses, ['503', '503'], `two answers, then the connection ends: ${text}`);
      assert.equal([...text.matchAll(/"errorCode":"2005"/g)].length, 2);
      const second = text.slice(text.lastIndexOf('HTTP/1.1 '));
      assert.match(second, /\r\nconnection: close\r\n/i);
      assert.ok(elapsed >= 400, `the first refusal was held: the answers came after ${elapsed.toFixed(0)} ms`);
      // None of the refused requests reached the upstream.
      assert.equal(held.stub.requests.filter((r) => /^\/parties\/MSISDN\/100[123]$/.test(r.url)).length, 0);
    } finally {
      await held.close();
      await direct.close();
    }
  });

  test('held refusals are bounded per DFSP (64 per process): beyond that a client opening more connections is answered at once', async () => {
    // rps 100: held refusals are answered 10 ms apart, so 64 of them fit in the hold (1000 ms).
    const t = await gateway({ RATE_LIMITS_PATH: limitsFile({ fsps: { dfsp1: { rps: 100 } } }) });
    const wide = new Agent({
      keepAlive: true,
      maxSockets: 180,
      ca: t.pki.ca.certPem,
      cert: t.cert('dfsp1').certPem,
      key: t.cert('dfsp1').keyPem,
      servername: 'localhost',
    });
    agents.push(wide);
    try {
      const burst = () => Promise.all(Array.from({ length: 180 }, () => lookup(t, 'dfsp1', wide)));
      await burst(); // opens the 180 connections (TLS handshakes), whatever the answers
      await sleep(1100); // the bucket refills
      const rs = await burst(); // on warm connections: the bucket's 100 (and what it refills meanwhile) admitted
      const refused = rs.filter(is2005);
      assert.equal(refused.length + rs.filter((r) => r.status === 202).length, 180, 'every request admitted or refused');
      // Held ones come back after their wait (Retry-After 0); the ones beyond the bound at once (1). How many of
      // each depends on how long the batch takes here (the bucket refills one every 10 ms, a release frees a
      // hold); the exact bound is tested in test/unit/limits/audit-window.test.ts.
      const heldCount = refused.filter((r) => r.headers['retry-after'] === '0').length;
      const atOnce = refused.filter((r) => r.headers['retry-after'] === '1').length;
      assert.equal(heldCount + atOnce, refused.length);
      assert.ok(heldCount >= 1 && atOnce >= 1, `held: ${heldCount}, answered at once: ${atOnce} (of ${refused.length} refused)`);
    } finally {
      await t.close();
    }
  });

  test('in-flight bound with a slow upstream: the (N+1)th is refused; slots come back when requests end by timeout or error', async () => {
    const t = await gateway({ RATE_LIMITS_PATH: limitsFile({ fsps: { dfsp1: { rps: 1000, concurrency: 2 } } }), UPSTREAM_HEADERS_TIMEOUT_MS: '600' });
    try {
      const ag = agentFor(t, 'dfsp1');
      t.stub.behave('hang');
      const seen = t.stub.requests.length;
      const hung = [lookup(t, 'dfsp1', ag), lookup(t, 'dfsp1', ag)];
      await until('two requests at the upstream', () => t.stub.requests.length === seen + 2);
      const third = await lookup(t, 'dfsp1', ag);
      assert.ok(is2005(third), 'N+1th refused');
      assert.equal(t.stub.requests.length, seen + 2, 'the refused request never reached the upstream');
      assert.match(await metrics(t), /switchguard_in_flight_requests\{listener="inbound",dfsp="dfsp1"\} 2/);
      assert.match(await metrics(t), /switchguard_rate_limited_total\{listener="inbound",dfsp="dfsp1",reason="concurrency"\} 1/);
      // Timeout: both hung requests end with 2004, their slots return.
      for (const r of await Promise.all(hung)) assert.equal(r.status, 500);
      t.stub.behave({ status: 500, body: 'boom' });
      const errs = await Promise.all([lookup(t, 'dfsp1', ag), lookup(t, 'dfsp1', ag)]);
      assert.deepEqual(
        errs.map((r) => r.status),
        [500, 500],
        'both admitted again after the timeouts',
      );
      // Error answers released their slots too.
      t.stub.behave({ status: 202 });
      const ok = await Promise.all([lookup(t, 'dfsp1', ag), lookup(t, 'dfsp1', ag)]);
      assert.deepEqual(
        ok.map((r) => r.status),
        [202, 202],
      );
      assert.match(await metrics(t), /switchguard_in_flight_requests\{listener="inbound",dfsp="dfsp1"\} 0/);
    } finally {
      await t.close();
    }
  });
});

test('a limits file may name a DFSP known only by its verification key: the gateway starts and limits it (review of the restructure)', async () => {
  const keys = mkdtempSync(join(tmpdir(), 'sg-limit-keys-'));
  writeFileSync(join(keys, 'dfspk.pem'), KEYS.payerfspPublicKeyPem!);
  const t = await startTestGateway({
    pki,
    env: { VALIDATE_INBOUND_JWS: 'true', JWS_VERIFICATION_KEYS_DIRECTORY: keys, RATE_LIMITS_PATH: limitsFile({ fsps: { dfspk: { rps: 1, burst: 0 } } }) },
  });
  try {
    const ag = new Agent({ keepAlive: true, cert: t.cert('dfspk').certPem, key: t.cert('dfspk').keyPem, ca: t.pki.ca.certPem, servername: 'localhost' });
    const rs = [];
    for (let i = 0; i < 3; i++) rs.push((await lookup(t, 'dfspk', ag)).status);
    assert.equal(rs.filter((s) => s === 503).length >= 1, true, `limited: ${rs.join(',')}`);
    ag.destroy();
  } finally {
    await t.close();
    rmSync(keys, { recursive: true, force: true });
  }
});
