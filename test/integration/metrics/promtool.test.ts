// Runs promtool over alerts/ (Debian's prometheus package; .ci/install-prometheus.sh installs it).
// A missing promtool fails this test on purpose: CI must run the alert unit tests.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { createTelemetry } from '../../../src/metrics/registry.js';
import { exportedNames, metricNames } from '../../helpers/promql.js';

const ALERTS = new URL('../../../alerts/', import.meta.url).pathname;

const promtool = (...args: string[]) => {
  const r = spawnSync('promtool', args, { cwd: ALERTS, encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.error, undefined, `promtool could not run (install it with .ci/install-prometheus.sh): ${r.error?.message}`);
  return r;
};

interface Rule {
  alert: string;
  expr: string;
  annotations: Record<string, string>;
}
const rules: Rule[] = (parse(readFileSync(`${ALERTS}switchguard.rules.yml`, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);

describe('alerts/ with promtool', () => {
  test('promtool check rules passes and finds every rule', () => {
    const r = promtool('check', 'rules', 'switchguard.rules.yml');
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`SUCCESS: ${rules.length} rules found`));
  });

  test('promtool test rules passes', () => {
    const r = promtool('test', 'rules', 'switchguard.rules.test.yml');
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /SUCCESS/);
    assert.doesNotMatch(r.stdout + r.stderr, /FAILED/);
  });

  test('the required alerts exist, with summary, description and a runbook section', () => {
    const names = rules.map((x) => x.alert);
    for (const n of [
      'HighJWSFailureRate',
      'JWSFailuresFromCleanDFSP',
      'ILPValidationFailures',
      'HighTLSHandshakeFailureRate',
      'CertificateExpiringSoon',
      'JWSKeyExpiringSoon',
      'JWSNextSigningKeyPublishedLate',
      'JWSSigningKeyRotationOverdue',
      'HighUpstreamErrorRatio',
      'StoreDown',
      'DFSPRateLimited',
      'OCSPResponderFailing',
    ])
      assert.ok(names.includes(n), n);
    const doc = readFileSync(new URL('../../../docs/operations.md', import.meta.url), 'utf8');
    for (const r of rules) {
      assert.ok(r.annotations.summary && r.annotations.description, r.alert);
      assert.equal(r.annotations.runbook, `docs/operations.md#${r.alert.toLowerCase()}`);
      assert.match(doc, new RegExp(`^#+ ${r.alert}$`, 'm'), `runbook section for ${r.alert}`);
    }
  });

  test('every alert has a firing and a not-firing unit test', () => {
    type Case = { alertname: string; exp_alerts?: unknown[] };
    const doc = parse(readFileSync(`${ALERTS}switchguard.rules.test.yml`, 'utf8')) as { tests: { alert_rule_test?: Case[] }[] };
    const cases = doc.tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const r of rules) {
      assert.ok(
        cases.some((c) => c.alertname === r.alert && (c.exp_alerts?.length ?? 0) > 0),
        `${r.alert} firing`,
      );
      assert.ok(
        cases.some((c) => c.alertname === r.alert && (c.exp_alerts?.length ?? 0) === 0),
        `${r.alert} not firing`,
      );
    }
  });

  test('rules only use metrics the gateway exports', async () => {
    const exported = await exportedNames(createTelemetry());
    for (const r of rules) for (const name of metricNames(r.expr)) assert.ok(exported.has(name), `${r.alert} uses ${name}`);
    assert.deepEqual(metricNames('sum by (dfsp) (rate(a_total{x="y"}[5m])) / ignoring (q) group_left sum(b_count) > 0.01'), ['a_total', 'b_count']);
    assert.deepEqual(metricNames('increase(c_total[1d] offset 10m) * 1e9 + d2 - time() < 14 * 86400'), ['c_total', 'd2']);
  });
});
