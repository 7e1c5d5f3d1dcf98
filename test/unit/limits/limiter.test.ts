// The shared rate limiter (src/limits/limiter.ts) on the real Redis: a refusal in a window the store has
// already reported spent costs no store command (counted with a real MONITOR connection), the scope is
// admitted again once the window ends, blocks are kept per rule and timed on the monotonic clock, and the
// store-down fallback decides while the store is down.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { type Decision, Limiter } from '../../../src/limits/limiter.js';
import type { Rule } from '../../../src/limits/rules.js';
import { REDIS_URL } from '../../helpers/redis-procs.js';
import { waitFor } from '../../helpers/wait.js';

const rule = (rps: number, burst = 0): Rule => ({ rps, burst, concurrency: undefined });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('rate limiter on the shared Redis: refusals in a spent window stay local', () => {
  const prefix = `sg-test-limiter-${randomBytes(4).toString('hex')}:`;
  let client: Redis;
  let raw: Redis;
  let monitorBase: Redis;
  let monitor: Awaited<ReturnType<Redis['monitor']>>;
  /** Commands sent by clients (not the ones a Lua script runs) that name a key under the test prefix. */
  const seen: string[][] = [];
  let limiter: Limiter;

  before(async () => {
    client = new Redis(REDIS_URL);
    raw = new Redis(REDIS_URL);
    // monitor() opens a connection of its own: both it and the instance it came from are closed after.
    monitorBase = new Redis(REDIS_URL);
    await client.ping(); // ready before the first consume (rejectIfRedisNotReady would send it to the fallback)
    monitor = await monitorBase.monitor();
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (!source.includes('lua') && args.some((a) => a.startsWith(prefix))) seen.push(args);
    });
    limiter = new Limiter({ backend: { kind: 'redis', client, keyPrefix: prefix }, share: 1, leaseMs: 60_000 });
  });
  after(async () => {
    const keys = await raw.keys(`${prefix}*`);
    if (keys.length) await raw.del(...keys);
    monitor.disconnect();
    monitorBase.disconnect();
    raw.disconnect();
    client.disconnect();
  });

  let marks = 0;
  /** The store commands of the test prefix sent while `fn` ran (a marker command closes the interval). */
  async function storeCommands(fn: () => Promise<void>): Promise<string[][]> {
    const from = seen.length;
    await fn();
    const marker = `${prefix}marker:${marks++}`;
    await raw.get(marker);
    await waitFor(() => seen.some((a) => a.includes(marker)), { what: 'MONITOR to show the marker', timeoutMs: 5000, intervalMs: 5 });
    return seen.slice(from).filter((a) => !a.includes(marker));
  }

  async function many(n: number, scope: string, r: Rule): Promise<Decision[]> {
    const out: Decision[] = [];
    for (let i = 0; i < n; i++) out.push(await limiter.consume(scope, r));
    return out;
  }

  test('after the store refuses once, the rest of the window is refused without a store command; the next window admits', async () => {
    const scope = 'inbound:dfsp1';
    const r = rule(5);
    let first: Decision[] = [];
    const spend = await storeCommands(async () => {
      first = await many(6, scope, r);
    });
    assert.deepEqual(
      first.map((d) => d.ok),
      [true, true, true, true, true, false],
    );
    assert.equal(spend.length, 6, `one store command per request until the store refuses: ${JSON.stringify(spend)}`);

    let refused: Decision[] = [];
    const local = await storeCommands(async () => {
      refused = await many(50, scope, r);
    });
    assert.equal(local.length, 0, `refusals in the spent window send nothing to the store: ${JSON.stringify(local)}`);
    for (const d of refused) {
      assert.equal(d.ok, false);
      if (!d.ok) assert.ok(d.retryAfterMs >= 1 && d.retryAfterMs <= 1000, `retryAfterMs ${d.retryAfterMs}`);
    }
    assert.equal(await raw.get(`${prefix}rl:${scope}`), '6', 'the shared counter saw the 5 admitted and the first refused only');

    const last = refused.at(-1)!;
    await sleep((last.ok ? 0 : last.retryAfterMs) + 30);
    let again: Decision = { ok: false, retryAfterMs: 0 };
    const next = await storeCommands(async () => {
      again = await limiter.consume(scope, r);
    });
    assert.equal(again.ok, true, 'the scope is admitted once the window has ended');
    assert.equal(next.length, 1, 'and the decision is the store’s again');
  });

  test('a block is timed on the monotonic clock: a wall clock stepped back an hour does not stretch it', async () => {
    const scope = 'inbound:dfsp5';
    assert.equal((await many(2, scope, rule(1))).at(-1)!.ok, false);
    const realNow = Date.now;
    Date.now = () => realNow() - 3_600_000;
    try {
      const d = await limiter.consume(scope, rule(1));
      assert.equal(d.ok, false);
      if (!d.ok) assert.ok(d.retryAfterMs <= 1000, `retryAfterMs ${d.retryAfterMs}`);
      await sleep(1100);
    } finally {
      Date.now = realNow;
    }
    assert.equal((await limiter.consume(scope, rule(1))).ok, true, 'admitted once the window has ended');
  });

  test('a block holds for its rule and scope only: another rule or another scope still asks the store', async () => {
    const scope = 'inbound:dfsp2';
    await storeCommands(async () => {
      assert.equal((await many(3, scope, rule(2))).at(-1)!.ok, false);
    });
    const cmds = await storeCommands(async () => {
      assert.equal((await limiter.consume(scope, rule(2))).ok, false, 'blocked under rps 2');
      // A run-time override raising the DFSP's rate: the same shared counter (3) is below the new limit.
      assert.equal((await limiter.consume(scope, rule(10))).ok, true, 'admitted under rps 10');
      assert.equal((await limiter.consume('inbound:dfsp3', rule(2))).ok, true, 'another DFSP under the same rule');
    });
    assert.equal(cmds.length, 2, `the blocked rule sent nothing, the two others one each: ${JSON.stringify(cmds)}`);
  });

  test('a bursty rule refuses locally only once both the second and the burst allowance are spent', async () => {
    const scope = 'inbound:dfsp4';
    const r = rule(2, 2);
    let first: Decision[] = [];
    const spend = await storeCommands(async () => {
      first = await many(5, scope, r);
    });
    assert.deepEqual(
      first.map((d) => d.ok),
      [true, true, true, true, false],
    );
    // 2 on the second; the 3rd and 4th are refused by the second's key and admitted by the burst's (2 each);
    // the 5th is refused by both (2), and from then on the rule and scope are blocked in process.
    assert.equal(spend.length, 2 + 2 + 2 + 2, JSON.stringify(spend));
    let refused: Decision[] = [];
    const local = await storeCommands(async () => {
      refused = await many(20, scope, r);
    });
    assert.equal(local.length, 0, JSON.stringify(local));
    assert.ok(
      refused.every((d) => !d.ok && d.retryAfterMs <= 1000),
      'Retry-After is the second’s end (the sooner of the two)',
    );
  });
});

test('store down: the per-process fallback decides, its first refusal blocks the rest of its window in process', async () => {
  // A client that never connects (port 1 on loopback refuses): every command fails, the insurance limiter decides.
  const client = new Redis({ host: '127.0.0.1', port: 1, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
  let fallbacks = 0;
  const limiter = new Limiter({
    backend: { kind: 'redis', client, keyPrefix: 'sg-test-limiter-down:' },
    share: 0.5,
    leaseMs: 60_000,
    onFallback: () => fallbacks++,
  });
  try {
    const out: Decision[] = [];
    for (let i = 0; i < 12; i++) out.push(await limiter.consume('inbound:dfsp1', rule(6)));
    assert.deepEqual(
      out.map((d) => d.ok),
      [true, true, true, false, false, false, false, false, false, false, false, false],
      'the share (half of 6) is admitted',
    );
    assert.equal(fallbacks, 4, 'the fallback decided until its first refusal; its window only grows, so the block is exact');
  } finally {
    client.disconnect();
  }
});
