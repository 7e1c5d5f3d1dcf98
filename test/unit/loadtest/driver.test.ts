import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseDriverArgs } from '../../../loadtest/driver/args.js';
import { assertLoopback, type PreparedSet, requestAt } from '../../../loadtest/driver/dataset.js';
import { readCpuMs, readRssBytes } from '../../../loadtest/driver/proc.js';
import { buildSchedules, type Profile, parseDuration } from '../../../loadtest/driver/profile.js';
import { fspiopErrorCode } from '../../../loadtest/driver/stats.js';
import { evaluateThresholds, parseThreshold } from '../../../loadtest/driver/thresholds.js';

describe('profiles', () => {
  test('parses k6 durations', () => {
    assert.equal(parseDuration('60s'), 60_000);
    assert.equal(parseDuration('1m30s'), 90_000);
    assert.equal(parseDuration('250ms'), 250);
    assert.throws(() => parseDuration('ten seconds'), /invalid duration/);
    assert.throws(() => parseDuration('10x'), /invalid duration/);
  });

  test('constant-arrival-rate honours timeUnit and overrides', () => {
    const p: Profile = {
      name: 't',
      thresholds: {},
      scenarios: { a: { executor: 'constant-arrival-rate', rate: 30, timeUnit: '1m', duration: '2m', maxVUs: 7 } },
    };
    const [s] = buildSchedules(p);
    assert.equal(s?.rateAt(0), 0.5);
    assert.equal(s?.startsBy(120_000), 60);
    assert.equal(s?.maxInFlight, 7);
    const [o] = buildSchedules(p, { rate: 100, durationSeconds: 5 });
    assert.equal(o?.startsBy(10_000), 500);
  });

  test('ramping-arrival-rate integrates the ramp (k6 linear interpolation)', () => {
    const p: Profile = {
      name: 't',
      thresholds: {},
      scenarios: {
        r: {
          executor: 'ramping-arrival-rate',
          startRate: 0,
          stages: [
            { duration: '10s', target: 100 },
            { duration: '10s', target: 100 },
          ],
        },
      },
    };
    const [s] = buildSchedules(p);
    assert.equal(s?.durationMs, 20_000);
    assert.equal(s?.rateAt(5_000), 50);
    assert.equal(s?.startsBy(10_000), 500);
    assert.equal(s?.startsBy(20_000), 1500);
    const [scaled] = buildSchedules(p, { rate: 200 });
    assert.equal(scaled?.startsBy(20_000), 3000);
  });

  test('rejects closed-model executors', () => {
    const p = { name: 't', thresholds: {}, scenarios: { c: { executor: 'constant-vus', duration: '1s' } } } as unknown as Profile;
    assert.throws(() => buildSchedules(p), /not an open-model executor/);
  });
});

describe('thresholds', () => {
  test('parses and evaluates k6 expressions, object form and tag filters', () => {
    assert.deepEqual(parseThreshold('p(99.9)<=12.5'), { aggregation: 'p(99.9)', op: '<=', bound: 12.5 });
    assert.throws(() => parseThreshold('p95 < 10'), /unsupported threshold/);
    const values: Record<string, number> = { 'http_req_duration p(95)': 40, 'http_req_failed rate': 0.02 };
    const res = evaluateThresholds(
      {
        'http_req_duration{expected_response:true}': ['p(95)<50'],
        http_req_failed: [{ threshold: 'rate<0.01', abortOnFail: true }],
        custom_metric: ['count>0'],
      },
      { value: (m, a) => values[`${m} ${a}`] },
    );
    assert.deepEqual(
      res.map((r) => r.ok),
      [true, false, undefined],
    );
  });
});

describe('helpers', () => {
  test('extracts the FSPIOP error code from error bodies only', () => {
    assert.equal(fspiopErrorCode('{"errorInformation":{"errorCode":"3105","errorDescription":"Invalid signature"}}'), '3105');
    assert.equal(fspiopErrorCode('not json'), '');
    assert.equal(fspiopErrorCode('{"errorInformation":{"errorCode":3105}}'), '');
    assert.equal(fspiopErrorCode(''), '');
  });

  test('refuses non-loopback targets', () => {
    assert.equal(assertLoopback('https://127.0.0.1:8443/').port, '8443');
    assert.equal(assertLoopback('http://[::1]:1/').hostname, '[::1]');
    assert.throws(() => assertLoopback('https://10.1.2.3:8443'), /non-loopback/);
    assert.throws(() => assertLoopback('https://example.com'), /non-loopback/);
    assert.throws(() => assertLoopback('ftp://127.0.0.1'), /http/);
  });

  test('a non-reusable set is exhausted, a reusable one wraps', () => {
    const r = { kind: 'postQuotes', method: 'POST', path: '/quotes', fsp: 'a', destination: 'b', headers: {}, body: '{}', expectStatus: 202 } as const;
    const set: PreparedSet = {
      version: 1,
      createdAt: '',
      validUntil: '',
      skewSeconds: 300,
      reusable: false,
      fsps: ['a'],
      ilpVersion: '1',
      badShare: 0,
      requests: [r],
    };
    assert.equal(requestAt(set, 0), r);
    assert.equal(requestAt(set, 1), undefined);
    assert.equal(requestAt({ ...set, reusable: true }, 5), r);
  });

  test('driver arguments: defaults, overrides and bad input', () => {
    const a = parseDriverArgs(['--profile', 'smoke', '--rate', '20', '--gateway-pid', '12,13']);
    assert.equal(a.target, 'https://127.0.0.1:8443');
    assert.equal(a.rate, 20);
    assert.deepEqual(a.gatewayPids, [12, 13]);
    assert.equal(a.fsps.length, 8);
    assert.equal(a.fsps[7], 'perffsp-8');
    assert.throws(() => parseDriverArgs(['--rate=-5']), /positive/);
    assert.throws(() => parseDriverArgs(['--bogus']), /Unknown option/);
  });

  test('reads CPU and RSS of a live process from /proc, undefined for a missing one', () => {
    assert.ok((readCpuMs(process.pid) ?? -1) >= 0);
    assert.ok((readRssBytes(process.pid) ?? 0) > 10 * 1024 * 1024);
    assert.equal(readCpuMs(2 ** 22 + 12345), undefined);
  });
});

describe('breakpoint', () => {
  test('the first of two consecutive failing seconds ends the search; a single bad second does not', async () => {
    const { Recorder } = await import('../../../loadtest/driver/stats.js');
    const { findBreakpoint } = await import('../../../loadtest/driver/analysis.js');
    const rec = new Recorder();
    // second s: 100*(s+1) starts, 1 ms latency, except a 90 ms blip at s=2 and from s=5 on.
    for (let s = 0; s < 8; s++) {
      const n = 100 * (s + 1);
      for (let i = 0; i < n; i++) {
        const at = s * 1000 + i;
        rec.start(at);
        rec.finish(at, s === 2 || s >= 5 ? 90_000 : 1000, { status: 202, code: '', expected: true }, true);
      }
    }
    const b = findBreakpoint(rec, { p99Ms: 50, maxErrorRate: 0.001 });
    assert.equal(b.brokeAt?.second, 5);
    assert.equal(b.rate, 500);
    assert.equal(b.windows[3]?.p99Ms, 1);
    assert.deepEqual(
      b.tolerated.map((w) => w.second),
      [2],
    );
  });
});
