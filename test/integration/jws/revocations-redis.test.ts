// Two replicas sharing the key revocation list through the real Redis store adapter, sealed with
// STATE_HMAC_KEY; a FLUSH of their keys (a Redis restart without persistence) does not lift a revocation.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { KeyRevocations, REVOCATIONS_KEY } from '../../../src/jws/revocations.js';
import { createRedisStore } from '../../../src/store/redis.js';
import { NOOP_TELEMETRY } from '../../../src/telemetry/types.js';
import { waitFor } from '../../helpers/wait.js';

const URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const FP = 'c'.repeat(64);

test('replicas on one Redis agree on revocations, and a flushed Redis gets the list back', async (t) => {
  const prefix = `sgtest:${randomBytes(6).toString('hex')}:`;
  const storeOf = () => createRedisStore({ url: URL, keyPrefix: prefix, timeoutMs: 2000, telemetry: NOOP_TELEMETRY });
  const [sa, sb] = [storeOf(), storeOf()];
  const hmacKey = randomBytes(24).toString('hex');
  const losses: string[] = [];
  const a = new KeyRevocations({ store: sa, hmacKey, refreshMs: 100, onLoss: (e) => losses.push(e.reason) });
  const b = new KeyRevocations({ store: sb, hmacKey, refreshMs: 100, onLoss: (e) => losses.push(e.reason) });
  const redis = new Redis(URL, { maxRetriesPerRequest: 1 });
  t.after(async () => {
    a.close();
    b.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await sa.close();
    await sb.close();
  });
  await Promise.all([a.start(), b.start()]);
  await a.add({ fingerprint: FP, fspIds: ['dfsp1'], reason: 'private key on a lost laptop' });
  await waitFor(() => b.get(FP), { timeoutMs: 3000 });

  await redis.del(`${prefix}${REVOCATIONS_KEY}`);
  await waitFor(async () => (await redis.get(`${prefix}${REVOCATIONS_KEY}`)) !== null, { timeoutMs: 3000 });
  assert.ok(a.get(FP) && b.get(FP), 'still enforced on both replicas');
  assert.ok(losses.includes('absent'), 'the replica that found the key gone reported the loss');
  assert.match((await redis.get(`${prefix}${REVOCATIONS_KEY}`)) ?? '', /^hmac1\./);

  await b.lift(FP);
  await waitFor(() => a.get(FP) === undefined, { timeoutMs: 3000 });
});
