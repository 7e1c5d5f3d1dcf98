// Live check through the real gateway: a real Prometheus (Debian package) scrapes the gateway's
// admin listener on loopback every second while real requests with bad FSPIOP signatures go through the
// mTLS inbound listener; the JWS failure series is read back through Prometheus's HTTP API.

import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ALGORITHMS } from '../../../src/jws/algorithms.js';
import { type SigningKey, signRequest } from '../../../src/jws/sign.js';
import { fspiopHeaders, send, startTestGateway } from '../../helpers/gateway.js';
import { makeTestPki } from '../../helpers/pki.js';
import { eventually, startPrometheus } from '../../helpers/prometheus.js';

const TRANSFER = {
  transferId: '0b3f4b9e-5a4c-4c36-9a0e-2a8f7a3c1d10',
  payerFsp: 'dfsp1',
  payeeFsp: 'payeefsp',
  amount: { currency: 'USD', amount: '10' },
  expiration: '2030-01-01T00:00:00.000Z',
  ilpPacket: 'AYIBgQAAAAAAAASw',
  condition: 'f5sqb7tBTWPd5Y8BDFdMm9BJR_MNI4isf8p8n4D5pHA',
};
const newRsa = (): { signing: SigningKey; publicPem: string } => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { signing: { key: privateKey, alg: ALGORITHMS.RS256 }, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
};

const RULES = new URL('../../../alerts/switchguard.rules.yml', import.meta.url).pathname;
const DASHBOARD = new URL('../../../alerts/grafana-dashboard.json', import.meta.url);

test('Prometheus reads back JWS failures of real bad signatures sent through the gateway', { timeout: 30_000 }, async (t) => {
  const pki = makeTestPki();
  t.after(() => pki.cleanup());
  const keysDir = join(pki.dir, 'jws');
  mkdirSync(keysDir);
  const dfsp1 = newRsa();
  const impostor = newRsa();
  writeFileSync(join(keysDir, 'dfsp1.pem'), dfsp1.publicPem);

  const tg = await startTestGateway({ pki, env: { VALIDATE_INBOUND_JWS: 'true', JWS_VERIFICATION_KEYS_DIRECTORY: keysDir } });
  t.after(() => tg.close());
  const prom = await startPrometheus({ target: `127.0.0.1:${tg.gw.admin.port}`, ruleFiles: [RULES] });
  t.after(() => prom.stop());

  const cert = tg.cert('dfsp1');
  const transfer = (key: typeof dfsp1.signing) => {
    const headers = { ...fspiopHeaders('transfers', 'dfsp1'), 'fspiop-destination': 'payeefsp' };
    // A fresh transferId each time: replay protection is on by default (docs/security.md class 9), so five identical bad
    // requests would be four replays (refused before verification) and one bad signature.
    const signed = signRequest({ method: 'POST', url: '/transfers', headers, json: { ...TRANSFER, transferId: randomUUID() } }, key);
    return send(tg.gw.inbound.port, {
      method: 'POST',
      path: '/transfers',
      headers: { ...headers, ...signed.headers },
      body: signed.body,
      cert,
      ca: pki.ca.certPem,
    });
  };
  const good = await transfer(dfsp1.signing);
  assert.equal(good.status, 202, good.body.toString());
  for (let i = 0; i < 5; i++) {
    const bad = await transfer(impostor.signing);
    assert.equal(bad.status, 400);
    assert.equal(bad.json().errorInformation.errorCode, '3105');
  }

  const failed = await eventually(
    async () => {
      const r = await prom.query('mojaloop_jws_verification_failed_total{dfsp="dfsp1"}');
      return r[0]?.value[1] === '5' ? r : undefined;
    },
    15_000,
    'five JWS failures of dfsp1 in Prometheus',
  );
  assert.equal(failed.length, 1);
  assert.equal(failed[0]!.metric.reason, 'GW_JWS_BAD_SIGNATURE');
  const ratio = await prom.query(
    'sum by (dfsp) (mojaloop_jws_verification_total{dfsp="dfsp1",outcome="failed"}) / sum by (dfsp) (mojaloop_jws_verification_total{dfsp="dfsp1",outcome!="skipped"})',
  );
  assert.deepEqual(
    ratio.map((s) => [s.metric.dfsp, Number(s.value[1]).toFixed(3)]),
    [['dfsp1', (5 / 6).toFixed(3)]],
  );
  const requests = await prom.query('sum by (fspiop_code) (switchguard_http_request_duration_seconds_count{listener="inbound",route="POST /transfers"})');
  assert.deepEqual(Object.fromEntries(requests.map((s) => [s.metric.fspiop_code ?? '', s.value[1]])), { '': '1', '3105': '5' });

  // the rule file loads in a real Prometheus, every alert of it healthy
  const rules = (await prom.get('/api/v1/rules')) as { data: { groups: { rules: { name: string; health: string }[] }[] } };
  const loaded = rules.data.groups.flatMap((g) => g.rules);
  assert.equal(loaded.length, [...readFileSync(RULES, 'utf8').matchAll(/^\s+- alert: /gm)].length);
  assert.ok(loaded.length >= 12, 'the nine original alerts and the three key alerts (issue 12)');
  assert.ok(
    loaded.every((r) => r.health !== 'err'),
    JSON.stringify(loaded),
  );

  // every dashboard query parses and runs against the gateway's real series
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: { title: string; targets?: { expr: string }[] }[] };
  for (const p of dashboard.panels) {
    for (const target of p.targets ?? []) {
      const q = target.expr.replaceAll('$__rate_interval', '1m').replaceAll('$instance', '.*');
      await assert.doesNotReject(prom.query(q), `${p.title}: ${q}`);
    }
  }
});
