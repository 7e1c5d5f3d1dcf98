// The shared rate limiter (src/limits/limiter.ts, GCRA) on the real Redis: once the store has refused a scope,
// its later requests before the reported wait cost no store command (counted with a real MONITOR connection),
// the scope is admitted again when the wait is over, blocks are kept per rule and timed on the monotonic clock,
// and the store-down fallback decides while the store is down.
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

describe('rate limiter on the shared Redis: refusals while a scope must wait stay local', () => {
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
    await client.ping(); // ready before the first consume (a client not ready sends it to the fallback)
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

  test('after the store refuses once, the rest of the wait is refused without a store command; then the store admits', async () => {
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
      // rps 5 holding a second's worth: after 5 at once the next conforms one interval (200 ms) later.
      if (!d.ok) assert.ok(d.retryAfterMs >= 1 && d.retryAfterMs <= 200, `retryAfterMs ${d.retryAfterMs}`);
    }

    const last = refused.at(-1)!;
    await sleep((last.ok ? 0 : last.retryAfterMs) + 30);
    let again: Decision = { ok: false, retryAfterMs: 0 };
    const next = await storeCommands(async () => {
      again = await limiter.consume(scope, r);
    });
    assert.equal(again.ok, true, 'the scope is admitted once the wait is over');
    assert.equal(next.length, 1, 'and the decision is the store’s again');
    // The shared state (read after the counted intervals: MONITOR may show these reads late): one hash, the main
    // bucket's theoretical arrival time about a second ahead of Redis' clock (5 intervals, less the wait, plus 1).
    const [sec, usec] = await raw.time();
    const m = Number(await raw.hget(`${prefix}gcra:${scope}`, 'm'));
    const ahead = m - (Number(sec) * 1000 + Number(usec) / 1000);
    assert.ok(ahead > 500 && ahead <= 1000, `TAT ${ahead.toFixed(1)} ms ahead`);
    assert.equal(await raw.hget(`${prefix}gcra:${scope}`, 'b'), null, 'no burst bucket without a burst');
    assert.ok((await raw.pttl(`${prefix}gcra:${scope}`)) <= 1001, 'the key lives no longer than its state matters');
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
    assert.equal((await limiter.consume(scope, rule(1))).ok, true, 'admitted once the wait is over');
  });

  test('a block holds for its rule and scope only: another rule or another scope still asks the store', async () => {
    const scope = 'inbound:dfsp2';
    await storeCommands(async () => {
      assert.equal((await many(3, scope, rule(2))).at(-1)!.ok, false);
    });
    // Two admitted under rps 2 put the scope's TAT 1 s ahead: it conforms to rps 2 after 500 ms, to rps 10
    // (tolerance 900 ms) after 100 ms.
    await sleep(150);
    const cmds = await storeCommands(async () => {
      assert.equal((await limiter.consume(scope, rule(2))).ok, false, 'blocked under rps 2');
      // A run-time override raising the DFSP's rate: the same shared state conforms to the new rule.
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
    // 2 by the main bucket, the 3rd and 4th by the burst bucket, the 5th refused by both: one script each,
    // and from then on the rule and scope are blocked in process.
    assert.equal(spend.length, 5, JSON.stringify(spend));
    let refused: Decision[] = [];
    const local = await storeCommands(async () => {
      refused = await many(20, scope, r);
    });
    assert.equal(local.length, 0, JSON.stringify(local));
    assert.ok(
      refused.every((d) => !d.ok && d.retryAfterMs <= 1000),
      'the wait is the main bucket’s (the sooner of the two: 500 ms against 30 s)',
    );
    assert.notEqual(await raw.hget(`${prefix}gcra:${scope}`, 'b'), null, 'the burst bucket is in the same hash');
  });
});

test('store down: the per-process fallback decides, its first refusal blocks the rest of its wait in process', async () => {
  // A client that never connects (port 1 on loopback refuses): it is never ready, the fallback decides.
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
    assert.equal(fallbacks, 4, 'the fallback decided until its first refusal; a refusal changes no state, so the block is exact');
    // A small share makes a long fallback wait (rps 1 over 64 processes: 64 s); neither the block nor Retry-After
    // outlasts one interval of the shared rule, so the store decides again soon after it returns.
    const small = new Limiter({ backend: { kind: 'redis', client, keyPrefix: 'sg-test-limiter-down:' }, share: 1 / 64, leaseMs: 60_000 });
    assert.equal((await small.consume('inbound:dfsp2', rule(1))).ok, true, 'a bucket of at least one');
    const d = await small.consume('inbound:dfsp2', rule(1));
    assert.equal(d.ok, false);
    if (!d.ok) assert.ok(d.retryAfterMs <= 1000, `retryAfterMs ${d.retryAfterMs}`);
  } finally {
    client.disconnect();
  }
});

test('a store reply that is not a whole number of microseconds is no decision: the fallback decides, never an admission by default', async () => {
  // A protocol fault no real Redis produces (a misbehaving proxy in between): this unit test stands in a client
  // whose script answers garbage; the real store is exercised above.
  for (const reply of [null, 'x', -5, 1.5, Number.NaN]) {
    let fallbacks = 0;
    const client = { status: 'ready', defineCommand() {}, sgRate: async () => reply };
    const limiter = new Limiter({
      backend: { kind: 'redis', client: client as never, keyPrefix: 'sg-test-limiter-garbage:' },
      share: 1,
      leaseMs: 60_000,
      onFallback: () => fallbacks++,
    });
    const out: boolean[] = [];
    for (let i = 0; i < 3; i++) out.push((await limiter.consume('inbound:dfsp1', rule(2))).ok);
    assert.deepEqual(out, [true, true, false], `reply ${String(reply)}: the fallback's bucket of 2 decided`);
    assert.equal(fallbacks, 3, `reply ${String(reply)}: every decision counted as the fallback's`);
  }
});
