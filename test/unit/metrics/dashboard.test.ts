import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { createTelemetry } from '../../../src/metrics/registry.js';
import { exportedNames, metricNames } from '../../helpers/promql.js';

interface Panel {
  id: number;
  type: string;
  title: string;
  description?: string;
  targets?: { expr: string }[];
  panels?: Panel[];
}
const dashboard = JSON.parse(readFileSync(new URL('../../../alerts/grafana-dashboard.json', import.meta.url), 'utf8')) as { uid: string; panels: Panel[] };
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);

test('dashboard: required panels, unique ids, every panel described and queried', () => {
  assert.equal(dashboard.uid, 'switchguard');
  const titles = panels.map((p) => p.title);
  for (const t of [
    'Request rate',
    'Error ratio by FSPIOP code',
    'JWS failure ratio by DFSP',
    'Latency percentiles',
    'TLS handshake failures',
    'Certificate expiry',
    'Store up',
  ]) {
    assert.ok(titles.includes(t), t);
  }
  assert.equal(new Set(panels.map((p) => p.id)).size, panels.length);
  for (const p of panels.filter((x) => x.type !== 'row')) {
    assert.ok(p.description && p.description.length > 10, `${p.title} description`);
    assert.ok((p.targets?.length ?? 0) > 0, `${p.title} targets`);
  }
});

test('dashboard: every metric in every panel query is declared in the registry', async () => {
  const exported = await exportedNames(createTelemetry());
  const used = new Set<string>();
  for (const p of panels) {
    for (const t of p.targets ?? []) {
      const names = metricNames(t.expr);
      assert.ok(names.length > 0, `${p.title}: no metric in ${t.expr}`);
      for (const n of names) {
        assert.ok(exported.has(n), `${p.title} uses ${n}, which the gateway does not export`);
        used.add(n);
      }
    }
  }
  // the extractor really sees histogram suffixes and the JWS pair
  for (const n of [
    'switchguard_http_request_duration_seconds_bucket',
    'switchguard_http_request_duration_seconds_count',
    'mojaloop_jws_verification_failed_total',
    'mojaloop_jws_verification_total',
  ]) {
    assert.ok(used.has(n), n);
  }
  assert.equal(exported.has('switchguard_http_request_duration_seconds_total'), false);
});
