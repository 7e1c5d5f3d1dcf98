// The JWS replay guard over the real Redis store adapter (the in-memory cases are in
// test/unit/jws/bad-input.test.ts). Keys live under a prefix of this run's own, removed at the end.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { GatewayError } from '../../../src/errors.js';
import { ALGORITHMS } from '../../../src/jws/algorithms.js';
import { createReplayGuard, signatureFingerprint } from '../../../src/jws/freshness.js';
import { createRedisStore } from '../../../src/store/redis.js';
import { NOOP_TELEMETRY } from '../../../src/telemetry/types.js';
import { PRIVATE_KEYS, signedTransfer } from '../../helpers/jws.js';

const RSA = { key: PRIVATE_KEYS.payerfsp!, alg: ALGORITHMS.RS256 };
const signatureOf = (r: { headers: Record<string, string> }) => (JSON.parse(r.headers['fspiop-signature']!) as { signature: string }).signature;

describe('replay protection over real Redis', () => {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const prefix = `sgtest:replay:${randomBytes(6).toString('hex')}:`;
  const store = createRedisStore({ url, keyPrefix: prefix, timeoutMs: 2000, telemetry: NOOP_TELEMETRY });
  // A plain client only to read the stored key's TTL and to remove this run's keys.
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  after(async () => {
    const ks = await redis.keys(`${prefix}*`);
    if (ks.length) await redis.del(...ks);
    redis.disconnect();
    await store.close();
  });

  test('a replayed signature is rejected (real Redis)', async () => {
    const guard = createReplayGuard(store, 300);
    const signature = signatureOf(signedTransfer(RSA, 'payerfsp'));
    await guard.check(signature);
    await assert.rejects(guard.check(signature), (e: unknown) => e instanceof GatewayError && e.code === 'GW_JWS_REPLAY');
    await guard.check(signatureOf(signedTransfer(RSA, 'payerfsp', { other: 1 })));
  });

  test('the replay key is stored with a TTL of twice the skew window', async () => {
    const guard = createReplayGuard(store, 300);
    const signature = signatureOf(signedTransfer(RSA, 'payerfsp', { ttl: 1 }));
    await guard.check(signature);
    const ttl = await redis.pttl(`${prefix}jws-replay:${signatureFingerprint(signature)}`);
    assert.ok(ttl > 590_000 && ttl <= 600_000, String(ttl));
  });
});
