// Two gateway replicas sharing the quarantine list through the real Redis store adapter (the in-memory
// cases are in test/unit/admin/quarantine.test.ts). Keys live under a prefix of this run's own.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { parseState, QUARANTINE_KEY, Quarantine } from '../../../src/admin/quarantine.js';
import { createRedisStore } from '../../../src/store/redis.js';
import { NOOP_TELEMETRY } from '../../../src/telemetry/types.js';
import { waitFor } from '../../helpers/wait.js';

const URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

test('two replicas sharing the real Redis agree within the refresh period', async (t) => {
  const prefix = `sgtest:${randomBytes(6).toString('hex')}:`;
  const storeOf = () => createRedisStore({ url: URL, keyPrefix: prefix, timeoutMs: 2000, telemetry: NOOP_TELEMETRY });
  const storeA = storeOf();
  const storeB = storeOf();
  const counts: number[] = [];
  const a = new Quarantine({ store: storeA, refreshMs: 100 });
  const b = new Quarantine({
    store: storeB,
    refreshMs: 100,
    telemetry: {
      ...NOOP_TELEMETRY,
      quarantine: (e) => {
        counts.push(e.count);
      },
    },
  });
  t.after(async () => {
    a.close();
    b.close();
    const redis = new Redis(URL, { maxRetriesPerRequest: 1 });
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await storeA.close();
    await storeB.close();
  });
  await Promise.all([a.start(), b.start()]);
  assert.equal(b.isQuarantined('dfsp1'), false);

  assert.equal(await a.add('dfsp1'), true);
  assert.equal(await a.add('dfsp1'), false);
  await waitFor(() => b.isQuarantined('dfsp1'), { timeoutMs: 3000 });
  assert.deepEqual(b.list(), ['dfsp1']);
  assert.equal(counts.at(-1), 1);

  // concurrent edits from both replicas are not lost (store lock)
  await Promise.all([a.add('dfsp2'), b.add('dfsp3'), a.add('dfsp4'), b.add('dfsp5')]);
  await waitFor(() => a.list().length === 5 && b.list().length === 5, { timeoutMs: 3000 });
  assert.deepEqual(parseState((await storeA.get(QUARANTINE_KEY))!).peers, ['dfsp1', 'dfsp2', 'dfsp3', 'dfsp4', 'dfsp5']);

  assert.equal(await b.remove('dfsp1'), true);
  assert.equal(await b.remove('dfsp1'), false);
  await waitFor(() => !a.isQuarantined('dfsp1'), { timeoutMs: 3000 });
  assert.equal(a.isQuarantined('dfsp2'), true);
});
