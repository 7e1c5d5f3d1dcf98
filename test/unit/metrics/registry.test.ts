import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { createTelemetry, declareMetrics } from '../../../src/metrics/registry.js';
import { NOOP_TELEMETRY } from '../../../src/telemetry/types.js';

const seriesLines = (text: string) => text.split('\n').filter((l) => l.length > 0 && !l.startsWith('#'));
const seriesValue = (text: string, series: string) => {
  const line = seriesLines(text).find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe('metrics registry', () => {
  test('NOOP_TELEMETRY implements every member createTelemetry implements', () => {
    const t = createTelemetry({ processMetrics: false });
    const members = Object.keys(t)
      .filter((k) => !['registry', 'contentType', 'metricsText'].includes(k))
      .sort();
    assert.deepEqual(Object.keys(NOOP_TELEMETRY).sort(), members);
  });

  test('docs/operations.md lists every metric with its type and labels, and nothing else', () => {
    const doc = readFileSync(new URL('../../../docs/operations.md', import.meta.url), 'utf8');
    const rows = new Map([...doc.matchAll(/^\| `([a-z_:]+)` \| (counter|gauge|histogram) \| ([^|]*) \|/gm)].map((m) => [m[1], `${m[2]} ${m[3]!.trim()}`]));
    const declared = Object.values(declareMetrics(new Registry())) as unknown as { name: string; labelNames: string[]; constructor: { name: string } }[];
    for (const m of declared) {
      const labels = m.labelNames.length ? m.labelNames.map((l) => `\`${l}\``).join(', ') : '–';
      assert.equal(rows.get(m.name), `${m.constructor.name.toLowerCase()} ${labels}`, m.name);
    }
    assert.equal(rows.size, declared.length);
  });

  test('uses its own registry, not the prom-client global one', async () => {
    const { register } = await import('prom-client');
    const t = createTelemetry({ processMetrics: false });
    assert.notEqual(t.registry, register);
    assert.equal(register.getSingleMetric('mojaloop_jws_verification_total'), undefined);
  });

  test('JWS failures are counted by dfsp and reason, with a matching total', async () => {
    const t = createTelemetry({ processMetrics: false });
    t.knownPeers(['dfsp1', 'dfsp2']);
    t.jwsVerify({ source: 'dfsp1', outcome: 'ok', form: 'raw', seconds: 0.001 });
    t.jwsVerify({ source: 'dfsp1', outcome: 'failed', reason: 'GW_JWS_BAD_SIGNATURE', seconds: 0.001 });
    t.jwsVerify({ source: 'dfsp1', outcome: 'failed', reason: 'GW_JWS_BAD_SIGNATURE', seconds: 0.001 });
    t.jwsVerify({ source: 'evil', outcome: 'failed', reason: 'GW_JWS_KEY_UNKNOWN', seconds: 0.001 });
    t.jwsVerify({ source: 'dfsp2', outcome: 'failed', reason: 'NOT_A_CODE', seconds: 0.001 });
    const text = await t.metricsText();
    assert.equal(seriesValue(text, 'mojaloop_jws_verification_failed_total{dfsp="dfsp1",reason="GW_JWS_BAD_SIGNATURE"}'), 2);
    assert.equal(seriesValue(text, 'mojaloop_jws_verification_failed_total{dfsp="unknown",reason="GW_JWS_KEY_UNKNOWN"}'), 1);
    assert.equal(seriesValue(text, 'mojaloop_jws_verification_failed_total{dfsp="dfsp2",reason="other"}'), 1);
    assert.equal(seriesValue(text, 'mojaloop_jws_verification_total{dfsp="dfsp1",outcome="ok"}'), 1);
    assert.equal(seriesValue(text, 'mojaloop_jws_verification_total{dfsp="dfsp1",outcome="failed"}'), 2);
    // known peers start at zero so the "new failures" alert sees the first failure
    assert.equal(seriesValue(text, 'mojaloop_jws_verification_total{dfsp="dfsp2",outcome="ok"}'), 0);
    assert.equal(seriesValue(text, 'mojaloop_jws_verify_duration_seconds_count{outcome="failed",form="none"}'), 4);
    assert.ok(!text.includes('evil'));
  });

  test('requests, ILP, TLS, upstream, store, key cache, expiry, reload, quarantine, store_up', async () => {
    const t = createTelemetry({ processMetrics: false });
    t.request({ listener: 'inbound', route: 'POST /transfers', method: 'POST', status: 202, fspiopCode: '', seconds: 0.01 });
    t.request({ listener: 'inbound', route: 'POST /transfers', method: 'POST', status: 400, fspiopCode: '3105', seconds: 0.01 });
    t.request({ listener: 'outbound', route: 'PUT /quotes/{ID}', method: 'BREW', status: 999, fspiopCode: '9999', seconds: 0.01 });
    t.ilp({ check: 'fulfilment', outcome: 'failed', errorType: 'GW_ILP_FULFILMENT_INVALID', seconds: 0.001 });
    t.ilp({ check: 'fulfilment', outcome: 'ok', seconds: 0.001 });
    t.tlsHandshakeFailed('ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE');
    t.upstream({ target: 'inbound', outcome: 'timeout', seconds: 10 });
    t.knownPeers(['dfsp9']);
    for (let i = 0; i < 60; i++) t.upstream({ target: `x${i}`, outcome: 'ok', seconds: 0.01 });
    t.upstream({ target: 'dfsp9', outcome: 'ok', seconds: 0.01 });
    t.store({ op: 'take', outcome: 'error', seconds: 0.5 });
    t.keyCache({ event: 'hit', size: 3 });
    t.keyCache({ event: 'negative_hit', size: 3 });
    t.keyCache({ event: 'miss', size: 3 });
    t.keyCache({ event: 'load_failed', size: 4 });
    t.expiry({ kind: 'tls_server', file: '/k/server.pem', notAfter: 1900000000 });
    t.expiry({ kind: 'jws_key', file: '/k/jws/dfsp1.pem', notAfter: 1800000000 });
    t.expiry({ kind: 'jws_key', file: '/k/jws/dfsp2.pem', notAfter: 1800000001 });
    t.expiry({ kind: 'jws_key', file: '/k/jws/dfsp2.pem', notAfter: undefined });
    t.reload({ what: 'tls', outcome: 'failed' });
    t.quarantine({ count: 2 });
    t.storeUp(false);
    const text = await t.metricsText();
    assert.equal(
      seriesValue(text, 'switchguard_http_request_duration_seconds_count{listener="inbound",route="POST /transfers",method="POST",fspiop_code=""}'),
      1,
    );
    assert.equal(
      seriesValue(text, 'switchguard_http_request_duration_seconds_count{listener="inbound",route="POST /transfers",method="POST",fspiop_code="3105"}'),
      1,
    );
    assert.equal(
      seriesValue(text, 'switchguard_http_request_duration_seconds_count{listener="outbound",route="PUT /quotes/{ID}",method="OTHER",fspiop_code="other"}'),
      1,
    );
    assert.equal(seriesValue(text, 'mojaloop_ilp_validation_failed_total{error_type="GW_ILP_FULFILMENT_INVALID"}'), 1);
    assert.equal(seriesValue(text, 'mojaloop_ilp_validation_total{check="fulfilment",outcome="ok"}'), 1);
    assert.equal(seriesValue(text, 'switchguard_tls_handshake_failures_total{reason="ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE"}'), 1);
    assert.equal(seriesValue(text, 'switchguard_upstream_requests_total{target="inbound",outcome="timeout"}'), 1);
    assert.equal(seriesValue(text, 'switchguard_store_errors_total{op="take"}'), 1);
    assert.equal(seriesValue(text, 'switchguard_upstream_requests_total{target="dfsp9",outcome="ok"}'), 1); // known peers beyond the cap
    assert.equal(seriesValue(text, 'switchguard_upstream_requests_total{target="other",outcome="ok"}'), 11);
    assert.equal(seriesValue(text, 'switchguard_jws_key_cache_hits_total{kind="key"}'), 1);
    assert.equal(seriesValue(text, 'switchguard_jws_key_cache_hits_total{kind="negative"}'), 1);
    assert.equal(seriesValue(text, 'switchguard_jws_key_cache_misses_total'), 1);
    assert.equal(seriesValue(text, 'switchguard_jws_key_loads_total{outcome="failed"}'), 1);
    assert.equal(seriesValue(text, 'switchguard_jws_key_cache_size'), 4);
    assert.equal(seriesValue(text, 'switchguard_certificate_expiry_timestamp_seconds{kind="tls_server",file="/k/server.pem"}'), 1900000000);
    assert.equal(seriesValue(text, 'switchguard_jws_key_expiry_timestamp_seconds{file="/k/jws/dfsp1.pem"}'), 1800000000);
    assert.equal(seriesValue(text, 'switchguard_jws_key_expiry_timestamp_seconds{file="/k/jws/dfsp2.pem"}'), undefined);
    assert.equal(seriesValue(text, 'switchguard_reload_total{what="tls",outcome="failed"}'), 1);
    assert.equal(seriesValue(text, 'switchguard_quarantined_peers'), 2);
    assert.equal(seriesValue(text, 'switchguard_store_up'), 0);
  });

  test('bad values from a caller never throw into the request path', async () => {
    const t = createTelemetry({ processMetrics: false });
    assert.doesNotThrow(() => {
      t.request({ listener: 'inbound', route: 'POST /transfers', method: 'POST', status: 202, fspiopCode: '', seconds: Number.NaN });
      t.jwsVerify({ source: 'x', outcome: 'ok', seconds: -1 });
      t.upstream({ target: 'upstream', outcome: 'ok', seconds: Infinity });
      t.expiry({ kind: 'tls_server', file: '/k/s.pem', notAfter: Number.NaN });
      t.keyCache({ event: 'hit', size: Number.NaN });
      t.quarantine({ count: Number.NaN });
    });
    const text = await t.metricsText();
    assert.equal(
      seriesValue(text, 'switchguard_http_request_duration_seconds_sum{listener="inbound",route="POST /transfers",method="POST",fspiop_code=""}'),
      0,
    );
    assert.equal(seriesValue(text, 'switchguard_certificate_expiry_timestamp_seconds{kind="tls_server",file="/k/s.pem"}'), undefined);
  });

  test('default process metrics are on the registry', async () => {
    const t = createTelemetry();
    const text = await t.metricsText();
    assert.match(text, /^process_cpu_user_seconds_total /m);
    assert.match(t.contentType, /^text\/plain/);
  });

  test('10 000 requests with random FSPIOP-Source values leave the number of series bounded', async () => {
    const t = createTelemetry({ processMetrics: false });
    t.knownPeers(Array.from({ length: 8 }, (_, i) => `perffsp-${i + 1}`));
    const before = seriesLines(await t.metricsText()).length;
    const reasons = ['GW_JWS_BAD_SIGNATURE', 'GW_JWS_KEY_UNKNOWN', 'made-up'];
    const flood = () => {
      for (let i = 0; i < 10_000; i++) {
        const source = randomBytes(8).toString('hex');
        t.jwsVerify({ source, outcome: i % 2 ? 'failed' : 'ok', reason: reasons[i % 3], seconds: 0.0001 });
        t.request({ listener: 'inbound', route: `POST /x/${source}`, method: source, status: 400, fspiopCode: source, seconds: 0.001 });
        t.tlsHandshakeFailed(`random-${source}`);
        t.upstream({ target: `peer-${source}`, outcome: 'error', seconds: 0.001 });
      }
    };
    flood();
    const first = seriesLines(await t.metricsText()).length;
    flood();
    const text = await t.metricsText();
    const after = seriesLines(text).length;
    assert.equal(after, first, 'a second flood of random values added series');
    // jws: 3 failure reasons + 2 duration histograms (16 lines each); request: 101 route values x 16;
    // tls: 51 reasons; upstream: 51 non-peer targets x (1 counter + 16 histogram lines)
    assert.ok(after - before <= 3 + 2 * 16 + 101 * 16 + 51 + 51 * 17, `series grew by ${after - before}`);
    const dfspValues = new Set([...text.matchAll(/mojaloop_jws_verification_(?:failed_)?total\{dfsp="([^"]*)"/g)].map((x) => x[1]));
    assert.deepEqual([...dfspValues].sort(), [...Array.from({ length: 8 }, (_, i) => `perffsp-${i + 1}`), 'unknown'].sort());
    const tlsValues = new Set([...text.matchAll(/switchguard_tls_handshake_failures_total\{reason="([^"]*)"/g)].map((x) => x[1]));
    assert.equal(tlsValues.size, 51); // 50 distinct kept, then 'other'
  });
});

describe('OCSP metrics', () => {
  test('decisions by outcome and decision; responder latency by purpose and outcome; failure reasons bounded; staples', async () => {
    const t = createTelemetry({ processMetrics: false });
    t.ocspCheck({ outcome: 'good', decision: 'allow' });
    t.ocspCheck({ outcome: 'error', decision: 'allow' });
    t.ocspCheck({ outcome: 'revoked', decision: 'refuse' });
    t.ocspResponder({ purpose: 'client', outcome: 'good', reason: undefined, seconds: 0.02 });
    t.ocspResponder({ purpose: 'client', outcome: 'error', reason: 'timeout', seconds: 2 });
    for (let i = 0; i < 30; i++) t.ocspResponder({ purpose: 'staple', outcome: 'error', reason: `r${i}`, seconds: Number.NaN });
    t.ocspStaple({ stapled: true });
    t.ocspStaple({ stapled: false });
    const text = await t.metricsText();
    assert.equal(seriesValue(text, 'switchguard_ocsp_checks_total{outcome="error",decision="allow"}'), 1);
    assert.equal(seriesValue(text, 'switchguard_ocsp_checks_total{outcome="revoked",decision="refuse"}'), 1);
    assert.equal(seriesValue(text, 'switchguard_ocsp_responder_duration_seconds_count{purpose="client",outcome="error"}'), 1);
    assert.equal(seriesValue(text, 'switchguard_ocsp_responder_duration_seconds_bucket{le="0.025",purpose="client",outcome="good"}'), 1);
    assert.equal(seriesValue(text, 'switchguard_ocsp_responder_failures_total{purpose="client",reason="timeout"}'), 1);
    assert.equal(seriesValue(text, 'switchguard_ocsp_responder_failures_total{purpose="staple",reason="other"}'), 11); // 20 distinct kept (timeout + 19)
    assert.equal(seriesValue(text, 'switchguard_ocsp_staples_total{outcome="stapled"}'), 1);
    assert.equal(seriesValue(text, 'switchguard_ocsp_staples_total{outcome="none"}'), 1);
  });
});

describe('metrics across cluster workers', () => {
  test('AggregatorRegistry adds counters but not timestamps, up flags or list sizes', async () => {
    const { AggregatorRegistry } = await import('prom-client');
    const workers = [createTelemetry({ processMetrics: false }), createTelemetry({ processMetrics: false })];
    workers.forEach((w, i) => {
      w.knownPeers(['dfsp1']);
      w.jwsVerify({ source: 'dfsp1', outcome: 'failed', reason: 'GW_JWS_BAD_SIGNATURE', seconds: 0.001 });
      w.expiry({ kind: 'tls_server', file: '/k/server.pem', notAfter: 1_900_000_000 });
      w.quarantine({ count: 2 });
      w.storeUp(i === 0);
    });
    const merged = AggregatorRegistry.aggregate(await Promise.all(workers.map((w) => w.registry.getMetricsAsJSON())));
    const text = await merged.metrics();
    const v = (s: string) =>
      Number(
        text
          .split('\n')
          .find((l) => l.startsWith(`${s} `))
          ?.slice(s.length + 1),
      );
    assert.equal(v('mojaloop_jws_verification_failed_total{dfsp="dfsp1",reason="GW_JWS_BAD_SIGNATURE"}'), 2);
    assert.equal(v('switchguard_certificate_expiry_timestamp_seconds{kind="tls_server",file="/k/server.pem"}'), 1_900_000_000);
    assert.equal(v('switchguard_quarantined_peers'), 2);
    assert.equal(v('switchguard_store_up'), 0);
  });
});
