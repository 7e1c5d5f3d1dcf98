// A few seconds of the real tooling (pre-signed set → open-model driver → mTLS → stub) so it cannot rot.
// The figures that matter are measured by the benchmark runs (docs/performance/), not here.

import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadTlsMaterial, type TlsMaterial } from '../../../loadtest/driver/clients.js';
import type { PreparedSet } from '../../../loadtest/driver/dataset.js';
import { buildPreparedSet, loadSigningKeys } from '../../../loadtest/driver/prepare-set.js';
import { loadProfile, type Profile } from '../../../loadtest/driver/profile.js';
import { runLoad } from '../../../loadtest/driver/run.js';
import { formatSummary } from '../../../loadtest/driver/summary.js';
import { type Stub, startStub } from '../../../loadtest/stub-upstream.js';
import { makeEcPkiDir } from '../../helpers/pki.js';

const FSPS = ['perffsp-1', 'perffsp-2'];

describe('load driver smoke run through mTLS', () => {
  let dir: string;
  let stub: Stub;
  let tls: TlsMaterial;
  let set: PreparedSet;

  before(async () => {
    dir = makeEcPkiDir(FSPS);
    const t = join(dir, 'tls');
    stub = await startStub({
      tls: { cert: readFileSync(join(t, 'server.pem')), key: readFileSync(join(t, 'server.key')), ca: readFileSync(join(t, 'ca.pem')) },
    });
    tls = loadTlsMaterial(dir, FSPS);
    set = await buildPreparedSet({ count: 200, keys: loadSigningKeys(dir, FSPS), block: 4 });
  });
  after(async () => {
    await stub?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('smoke profile: 50/s for 3 s, rate on target, no errors, no drops, percentiles reported', async () => {
    const r = await runLoad({ profile: loadProfile('smoke'), target: stub.url, requests: set, tls, gatewayPids: [process.pid] });
    const summary = formatSummary(r, 'smoke');
    assert.ok(r.recorder.started >= 142 && r.recorder.started <= 151, `started ${r.recorder.started}`);
    assert.equal(r.recorder.dropped, 0, summary);
    assert.equal(r.recorder.failed, 0, summary);
    assert.equal(r.recorder.completed, r.recorder.started);
    // Every connection was opened before the clock (2 DFSPs × 32), none during the run.
    assert.equal(r.preconnected, 64);
    assert.equal(stub.connections(), r.preconnected);
    assert.equal(stub.count(), r.recorder.completed + r.preconnected);
    assert.match(summary, /p95=\d+\.\d+ p99=\d+\.\d+/);
    assert.match(summary, /gateway cpu\.+ \d+\.\d% of one core/);
    assert.match(summary, /result: PASS/);
    assert.equal(r.passed, true);
  });

  test('without preconnect, connections are opened lazily during the run', async () => {
    const profile: Profile = { name: 'lazy', scenarios: { s: { executor: 'constant-arrival-rate', rate: 20, duration: '1s', maxVUs: 10 } }, thresholds: {} };
    const [conns, count] = [stub.connections(), stub.count()];
    const r = await runLoad({ profile, target: stub.url, requests: set, tls, preconnect: false });
    assert.equal(r.preconnected, 0);
    assert.equal(stub.count() - count, r.recorder.completed);
    assert.ok(stub.connections() - conns >= 2, `opened ${stub.connections() - conns}`);
  });

  test('a failing threshold makes the run fail', async () => {
    const profile: Profile = {
      name: 'strict',
      scenarios: { s: { executor: 'constant-arrival-rate', rate: 20, duration: '1s', maxVUs: 10 } },
      thresholds: { http_req_duration: ['p(99)<0.001'] },
    };
    const r = await runLoad({ profile, target: stub.url, requests: set, tls });
    assert.equal(r.passed, false);
    assert.equal(r.thresholds[0]?.ok, false);
    assert.match(formatSummary(r, 'strict'), /FAIL http_req_duration p\(99\)<0\.001[\s\S]*result: FAIL/);
  });

  test('open model: starts that find every slot busy are dropped, not queued', async () => {
    const slow = await startStub({ delayMs: 300 });
    try {
      const profile: Profile = {
        name: 'drops',
        scenarios: { s: { executor: 'constant-arrival-rate', rate: 40, duration: '1s', maxVUs: 2 } },
        thresholds: { dropped_iterations: ['count==0'] },
      };
      const r = await runLoad({ profile, target: slow.url, requests: set });
      assert.ok(r.recorder.dropped >= 30, `dropped ${r.recorder.dropped}`);
      assert.ok(r.recorder.started <= 10, `started ${r.recorder.started}`);
      assert.equal(r.recorder.dropped + r.recorder.started, 40);
      assert.equal(r.passed, false);
    } finally {
      await slow.close();
    }
  });

  test('a warm-up runs first at the starting rate and is not recorded', async () => {
    const profile: Profile = { name: 'w', scenarios: { s: { executor: 'constant-arrival-rate', rate: 20, duration: '1s', maxVUs: 10 } }, thresholds: {} };
    const before = stub.count();
    const r = await runLoad({ profile, target: stub.url, requests: set, tls, warmupMs: 1000 });
    assert.equal(r.recorder.started, 20);
    assert.ok(stub.count() - before >= 39, `stub saw ${stub.count() - before}`);
    // The measured time is the 1 s run, not the 1 s warm-up as well (with it, about 2000 ms).
    assert.ok(r.elapsedMs < 1900, `measured ${r.elapsedMs} ms`);
  });

  test('unexpected answers are counted by status and FSPIOP code', async () => {
    const bad = await buildPreparedSet({ count: 20, keys: loadSigningKeys(dir, FSPS), badShare: 0.5, quotesOnly: true });
    assert.equal(bad.requests.filter((q) => q.expectStatus === 400 && q.expectCode === '3105').length, 10);
    const profile: Profile = {
      name: 'bad',
      scenarios: { s: { executor: 'constant-arrival-rate', rate: 20, duration: '1s', maxVUs: 10 } },
      thresholds: { http_req_failed: ['rate<0.01'] },
    };
    // The stub accepts everything, so the requests meant to be rejected with 3105 count as failures.
    const r = await runLoad({ profile, target: stub.url, requests: bad, tls });
    assert.equal(r.recorder.unexpected.get('202'), 10);
    assert.equal(r.passed, false);
  });
});
