// ILP flows on real Redis: one round trip per check, racing fulfilments (in one process and across two
// OS processes), and a Redis outage mid-run on a redis-server of the test's own.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { createRedisStore } from '../../../src/store/redis.js';
import { NOOP_TELEMETRY } from '../../../src/telemetry/types.js';
import { counting, fulfilBody, ilpApp, issuedTransfer, testConfig } from '../../helpers/ilp.js';
import { REDIS_URL, startRedis } from '../../helpers/redis-procs.js';
import { waitFor } from '../../helpers/wait.js';

const prefix = `sgtest:${randomBytes(6).toString('hex')}:`;
const hub = testConfig({ GATEWAY_ROLE: 'hub' });
const newStore = (url = REDIS_URL, timeoutMs = 1000) => createRedisStore({ url, keyPrefix: prefix, timeoutMs, telemetry: NOOP_TELEMETRY });

after(async () => {
  const raw = new Redis(REDIS_URL);
  const keys = await raw.keys(`${prefix}*`);
  if (keys.length) await raw.del(...keys);
  await raw.quit();
});

describe("DFSP role with an FXP behind it, on the machine's Redis", () => {
  test('fxQuote answered through replica A, fxTransfer checked and accepted through replica B; the record carries a TTL', async (t) => {
    const a = newStore();
    const b = newStore();
    const raw = new Redis(REDIS_URL);
    t.after(async () => {
      await a.close();
      await b.close();
      await raw.quit();
    });
    const dfsp = testConfig({ GATEWAY_ROLE: 'dfsp', ILP_VERSION: '4' });
    const A = ilpApp({ config: dfsp, store: a, direction: 'outbound' }).call;
    const Bin = ilpApp({ config: dfsp, store: b }).call;
    const Bout = ilpApp({ config: dfsp, store: b, direction: 'outbound' }).call;
    const conversionId = randomUUID();
    const terms = {
      conversionId,
      initiatingFsp: 'payerfsp',
      counterPartyFsp: 'payeefsp',
      amountType: 'SEND',
      sourceAmount: { currency: 'USD', amount: '10' },
      targetAmount: { currency: 'ZMW', amount: '265' },
      expiration: new Date(Date.now() + 60_000).toISOString(),
    };
    const q = await A('PUT', `/fxQuotes/${randomUUID()}`, { conversionTerms: terms }, { 'fspiop-destination': 'payerfsp' });
    const condition = (q.json.rewritten as { condition: string }).condition;
    const ttl = await raw.pttl(`${prefix}ilp:fxp:{${conversionId}}`);
    assert.ok(ttl > 55_000 && ttl <= 60_000 + dfsp.ilpGraceSeconds * 1000, `pttl ${ttl}`);
    const prepare = {
      commitRequestId: conversionId,
      initiatingFsp: 'payerfsp',
      counterPartyFsp: 'payeefsp',
      sourceAmount: terms.sourceAmount,
      targetAmount: terms.targetAmount,
      condition,
      expiration: new Date(Date.now() + 30_000).toISOString(),
    };
    assert.equal((await Bin('POST', '/fxTransfers', prepare)).status, 200);
    const accepted = await Bout('PUT', `/fxTransfers/${conversionId}`, { conversionState: 'RESERVED' }, { 'fspiop-destination': 'payerfsp' });
    const fulfilment = (accepted.json.rewritten as { fulfilment: string }).fulfilment;
    assert.equal(createHash('sha256').update(Buffer.from(fulfilment, 'base64url')).digest('base64url'), condition);
  });
});

describe("hub role on the machine's Redis", () => {
  test('exactly one Redis round trip per ILP check (prepare, fulfil, reused, unknown)', async (t) => {
    const store = counting(newStore());
    t.after(() => store.close());
    const { call } = ilpApp({ config: hub, store });
    const x = issuedTransfer('1', Date.now());
    assert.equal((await call('POST', '/transfers', x.prepare)).status, 200);
    assert.equal(store.calls, 1);
    assert.equal((await call('PUT', `/transfers/${x.transferId}`, fulfilBody(x.ilp.fulfilment))).status, 200);
    assert.equal(store.calls, 2);
    assert.equal((await call('PUT', `/transfers/${x.transferId}`, fulfilBody(x.ilp.fulfilment))).code, '3106');
    assert.equal((await call('PUT', `/transfers/${randomBytes(8).toString('hex')}`, fulfilBody(x.ilp.fulfilment))).code, '3208');
    assert.equal(store.calls, 4);
  });

  test('two replicas (two store clients) racing the same fulfilment: exactly one succeeds, 20 times', async (t) => {
    const a = newStore();
    const b = newStore();
    t.after(async () => {
      await a.close();
      await b.close();
    });
    const A = ilpApp({ config: hub, store: a }).call;
    const B = ilpApp({ config: hub, store: b }).call;
    for (let i = 0; i < 20; i++) {
      const x = issuedTransfer('1', Date.now());
      assert.equal((await A('POST', '/transfers', x.prepare)).status, 200);
      const codes = (await Promise.all([A, B].map((call) => call('PUT', `/transfers/${x.transferId}`, fulfilBody(x.ilp.fulfilment))))).map(
        (r) => r.code ?? r.status,
      );
      assert.deepEqual(codes.sort(), ['3106', 200].sort());
    }
  });

  test('two gateway OS processes sharing one Redis race 25 fulfilments: each succeeds exactly once', async (t) => {
    const store = newStore();
    t.after(() => store.close());
    const { call } = ilpApp({ config: hub, store });
    const items = [];
    for (let i = 0; i < 25; i++) {
      const x = issuedTransfer('1', Date.now());
      assert.equal((await call('POST', '/transfers', x.prepare)).status, 200);
      items.push({ id: x.transferId, fulfilment: x.ilp.fulfilment });
    }
    const script = fileURLToPath(new URL('./race-child.ts', import.meta.url));
    const children = [0, 1].map(() =>
      spawn(process.execPath, ['--import', 'tsx', script], {
        env: { ...process.env, REDIS_URL, SG_PREFIX: prefix },
        stdio: ['pipe', 'pipe', 'inherit'],
      }),
    );
    t.after(() => {
      for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    });
    const outputs = children.map((c) => {
      let buf = '';
      const lines: string[] = [];
      const waiters: ((l: string) => void)[] = [];
      c.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
          const l = buf.slice(0, i);
          buf = buf.slice(i + 1);
          const w = waiters.shift();
          if (w) w(l);
          else lines.push(l);
        }
      });
      return () =>
        new Promise<string>((resolve) => {
          const l = lines.shift();
          if (l !== undefined) resolve(l);
          else waiters.push(resolve);
        });
    });
    for (const c of children) c.stdin!.write(`${JSON.stringify({ items })}\n`);
    assert.deepEqual(await Promise.all(outputs.map((next) => next())), ['ready', 'ready']);
    for (const c of children) c.stdin!.write('go\n');
    const [r0, r1] = (await Promise.all(outputs.map((next) => next()))).map((l) => JSON.parse(l) as string[]);
    for (let i = 0; i < items.length; i++) {
      assert.deepEqual([r0![i], r1![i]].sort(), ['200', '3106'], `transfer ${i}`);
    }
  });
});

describe('Redis stopped mid-run (own redis-server)', () => {
  test('ILP routes answer 2003/503 within 2 s, other routes pass, ping false; after restart the same store recovers', async (t) => {
    const server = await startRedis();
    const store = newStore(server.url, 300);
    t.after(async () => {
      await store.close();
      await server.cleanup();
    });
    const { call } = ilpApp({ config: hub, store });
    const x = issuedTransfer('1', Date.now());
    assert.equal((await call('POST', '/transfers', x.prepare)).status, 200);

    await server.kill();
    const y = issuedTransfer('1', Date.now());
    const started = performance.now();
    const prep = await call('POST', '/transfers', y.prepare);
    const fulfil = await call('PUT', `/transfers/${x.transferId}`, fulfilBody(x.ilp.fulfilment));
    assert.ok(performance.now() - started < 2000, 'answers promptly');
    assert.deepEqual([prep.status, prep.code, fulfil.status, fulfil.code], [503, '2003', 503, '2003']);
    assert.equal((await call('PUT', '/parties/MSISDN/123', { party: {} })).status, 200);
    // An error callback is checked against the prepare's payee: without the store it fails closed too.
    assert.equal((await call('PUT', `/transfers/${x.transferId}/error`, { errorInformation: { errorCode: '5100', errorDescription: 'x' } })).status, 503);
    assert.equal(await store.ping(), false);

    await server.restart();
    // Redis is back when a prepare goes through again (each try is a new prepare attempt, as a client's retry).
    const status = await waitFor(async () => ((await call('POST', '/transfers', y.prepare)).status === 200 ? 200 : 0), {
      timeoutMs: 10_000,
      intervalMs: 100,
    }).catch(() => 0);
    assert.equal(status, 200);
    assert.equal((await call('PUT', `/transfers/${y.transferId}`, fulfilBody(y.ilp.fulfilment))).status, 200);
  });
});
