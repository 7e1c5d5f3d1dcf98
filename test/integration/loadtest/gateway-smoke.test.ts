// The driver through the real gateway in the hub role (in-process): mTLS, FSPIOP checks, JWS verify,
// ILP condition store and fulfilment check, forward to the stub. A few seconds at a low rate.

import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { loadTlsMaterial } from '../../../loadtest/driver/clients.js';
import { blockFor, buildPreparedSet, loadSigningKeys } from '../../../loadtest/driver/prepare-set.js';
import { loadProfile, type Profile } from '../../../loadtest/driver/profile.js';
import { runLoad } from '../../../loadtest/driver/run.js';
import { formatSummary } from '../../../loadtest/driver/summary.js';
import { type Stub, startStub } from '../../../loadtest/stub-upstream.js';
import { loadConfig } from '../../../src/config/load.js';
import { startGateway } from '../../../src/gateway.js';
import { makeEcPkiDir } from '../../helpers/pki.js';

const FSPS = ['perffsp-1', 'perffsp-2'];

describe('load driver through the hub-role gateway', () => {
  let dir: string;
  let stub: Stub;
  let gw: Awaited<ReturnType<typeof startGateway>>;
  let target: string;

  before(async () => {
    dir = makeEcPkiDir(['hub', ...FSPS]);
    stub = await startStub();
    const config = loadConfig({
      SWITCHGUARD_PROFILE: 'development',
      GATEWAY_ROLE: 'hub',
      KEYS_DIR: dir,
      STORE: 'memory',
      LOG_LEVEL: 'silent',
      AUDIT_LOG: 'off',
      INBOUND_LISTEN_HOST: '127.0.0.1',
      INBOUND_LISTEN_PORT: '0',
      OUTBOUND_LISTEN_PORT: '0',
      ADMIN_LISTEN_PORT: '0',
      INBOUND_UPSTREAM_URL: stub.url,
    });
    gw = await startGateway(config);
    target = `https://127.0.0.1:${gw.inbound.port}`;
  });
  after(async () => {
    await gw?.close(1000);
    await stub?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('quote → transfer journeys at 50/s for 3 s: all accepted and forwarded, none dropped', async () => {
    const set = await buildPreparedSet({ count: 220, keys: loadSigningKeys(dir, FSPS), block: blockFor(50) });
    const r = await runLoad({ profile: loadProfile('smoke'), target, requests: set, tls: loadTlsMaterial(dir, FSPS), warmupMs: 1000 });
    const summary = formatSummary(r, 'hub smoke');
    assert.equal(r.recorder.failed, 0, summary);
    assert.equal(r.recorder.dropped, 0, summary);
    assert.ok(r.recorder.started >= 142 && r.recorder.started <= 151, summary);
    assert.equal(r.recorder.byStatus.get('202'), r.recorder.completed, summary);
    assert.ok(
      ['postQuotes', 'putQuotes', 'postTransfers', 'putTransfers'].every((k) => set.requests.slice(0, 200).some((q) => q.kind === k)),
      'the run covers every step of the journey',
    );
    assert.ok(stub.count() >= r.recorder.completed, `every accepted request reached the upstream\n${summary}`);
    assert.match(summary, /p95=\d+\.\d+ p99=\d+\.\d+/);
    assert.equal(r.passed, true, summary);
  });

  test('broken signatures are rejected with 3105 and counted as expected; a threshold failure fails the run', async () => {
    const set = await buildPreparedSet({ count: 40, keys: loadSigningKeys(dir, FSPS), badShare: 0.25, quotesOnly: true });
    const profile: Profile = {
      name: 'bad',
      scenarios: { s: { executor: 'constant-arrival-rate', rate: 40, duration: '1s', maxVUs: 20 } },
      thresholds: { http_req_failed: ['rate<0.01'], http_req_duration: ['p(99)<0.001'] },
    };
    const before = stub.count();
    const r = await runLoad({ profile, target, requests: set, tls: loadTlsMaterial(dir, FSPS) });
    assert.equal(r.recorder.byStatus.get('400 3105'), 10, formatSummary(r, 'bad'));
    assert.equal(r.recorder.failed, 0);
    assert.equal(stub.count() - before, 30, 'rejected requests are not forwarded');
    assert.deepEqual(
      r.thresholds.map((t) => t.ok),
      [true, false],
    );
    assert.equal(r.passed, false);
  });
});
