// Hostile review of the operational surfaces of 2026-12-02 (docs/security.md, "Fifth review"). Each test failed
// against the code as reviewed:
//   1. Per-DFSP rate limits bound what a DFSP can send (docs/operations.md "Traffic control"): a DFSP flooding
//      request targets the router refuses was never counted, and each refusal was logged without its peer.
//   2. A quarantined DFSP's flood wrote one audit record (and one error log line) per request: the audit trail was
//      written at the attacker's rate, while rate refusals are audited once per window.
//   3. The loopback admin listener answered any Host: a web page the operator opens could rebind its name to
//      127.0.0.1 and read /metrics and /ready.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { Agent } from 'node:https';
import { after, before, describe, test } from 'node:test';
import type { AuditEvent, AuditLog } from '../../src/logging/audit.js';
import { fspiopHeaders, type Reply, send, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { makeTestPki, type TestPki } from '../helpers/pki.js';

const TOKEN = 'ops-review-admin-token-0123456789';

function recordingAudit(): AuditLog & { records: AuditEvent[] } {
  const records: AuditEvent[] = [];
  return { records, record: (e) => void records.push(e), flush: async () => {}, close: async () => {} };
}

const is2005 = (r: Reply) => r.status === 503 && r.json().errorInformation.errorCode === '2005';

describe('operational surfaces under a hostile DFSP', () => {
  let pki: TestPki;
  let t: TestGateway;
  const audit = recordingAudit();
  const logged: { level: string; obj: Record<string, unknown> }[] = [];
  const logger = {
    info: (obj: object) => void logged.push({ level: 'info', obj: obj as Record<string, unknown> }),
    warn: (obj: object) => void logged.push({ level: 'warn', obj: obj as Record<string, unknown> }),
    error: (obj: object) => void logged.push({ level: 'error', obj: obj as Record<string, unknown> }),
    debug: (obj: object) => void logged.push({ level: 'debug', obj: obj as Record<string, unknown> }),
  };
  const agents: Agent[] = [];
  const agentFor = (fspId: string) => {
    const c = t.cert(fspId);
    const a = new Agent({ keepAlive: true, maxSockets: 4, ca: pki.ca.certPem, cert: c.certPem, key: c.keyPem, servername: 'localhost' });
    agents.push(a);
    return a;
  };

  before(async () => {
    pki = makeTestPki();
    const peersPath = pki.write('peers.json', JSON.stringify({ dfsp1: 'http://127.0.0.1:9/', dfsp2: 'http://127.0.0.1:9/', dfsp3: 'http://127.0.0.1:9/' }));
    // dfsp1 may send 2 requests a second (a second's worth at once), no burst; no hold, so refusals come at once.
    const limitsPath = pki.write('limits.json', JSON.stringify({ fsps: { dfsp1: { rps: 2, burst: 0 }, dfsp3: { rps: 2, burst: 0 } } }));
    t = await startTestGateway({
      pki,
      env: {
        ADMIN_TOKEN: TOKEN,
        PEERS_PATH: peersPath,
        PEER_ENDPOINT: 'http://127.0.0.1:9/',
        RATE_LIMITS_PATH: limitsPath,
        RATE_LIMIT_HOLD_MS: '0',
        ADMIN_ALLOWED_HOSTS: 'Switchguard-Admin,.svc.cluster.local',
      },
      overrides: { audit, logger },
    });
  });
  after(async () => {
    for (const a of agents) a.destroy();
    await t?.close();
    pki?.cleanup();
  });

  test('requests the router refuses still count against the DFSP rate limit', async () => {
    const agent = agentFor('dfsp1');
    const replies: Reply[] = [];
    // 40 requests in well under a second at a DFSP allowed 2 per second: a bad target (3002) or a wrong method (3000).
    for (let i = 0; i < 40; i++) {
      const path = i % 2 === 0 ? `/no-such-resource/${i}` : '/parties/MSISDN/1/2/3/4/5';
      replies.push(await send(t.gw.inbound.port, { path, headers: fspiopHeaders('parties', 'dfsp1'), ca: pki.ca.certPem, agent }));
    }
    // Within the limit, each is refused for its target, as the DFSP's own (the log names the peer).
    const own = replies.filter((r) => !is2005(r)).map((r) => `${r.status}/${r.json().errorInformation.errorCode}`);
    assert.ok(own.length >= 1 && own.length <= 4, `${own.length} answered for their target`);
    for (const o of own) assert.match(o, /^(404\/3002|405\/3000|400\/3101)$/);
    const rejected = logged.filter((l) => l.obj.route === 'unmatched' && l.level === 'warn');
    assert.equal(rejected.length, own.length);
    assert.ok(rejected.every((l) => l.obj.peer === 'dfsp1'));
    assert.equal(logged.filter((l) => l.obj.route === 'unmatched' && l.level === 'debug').length, 40 - own.length, 'the rest logged at debug as limited');
    const refusedByLimit = replies.filter(is2005).length;
    const warnLines = logged.filter((l) => l.level === 'warn' && l.obj.peer === undefined && l.obj.route === 'unmatched').length;
    assert.ok(
      refusedByLimit >= 30,
      `a DFSP limited to 2 rps sent 40 requests at once and ${refusedByLimit} were refused by its limit ` +
        `(statuses ${[...new Set(replies.map((r) => r.status))].join(',')}; ${warnLines} "request rejected" warn lines written for them)`,
    );
  });

  test('a quarantined DFSP flooding the gateway does not write one audit record per request', async () => {
    const r = await fetch(`http://127.0.0.1:${t.gw.admin.port}/admin/quarantine/dfsp3`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(r.status, 200);
    const agent = agentFor('dfsp3');
    const before = audit.records.length;
    const errorsBefore = logged.filter((l) => l.level === 'error').length;
    for (let i = 0; i < 50; i++) {
      const rep = await send(t.gw.inbound.port, {
        path: `/parties/MSISDN/${i}`,
        headers: fspiopHeaders('parties', 'dfsp3', { 'fspiop-destination': 'dfsp2' }),
        ca: pki.ca.certPem,
        agent,
      });
      assert.equal(rep.status, 503);
    }
    const records = audit.records.slice(before).filter((e) => e.event === 'peer_rejected' && e.reason === 'GW_PEER_QUARANTINED');
    const quarantineRecords = records.length;
    const errorLines = logged.filter((l) => l.level === 'error').length - errorsBefore;
    // The first at once, with its request id; the other 49 in the window's closing record (src/logging/audit-window.ts).
    assert.deepEqual(
      records.map((e) => [e.fspId, 'count' in e ? e.count : undefined, typeof e.requestId]),
      [['dfsp3', 1, 'string']],
    );
    assert.equal(errorLines, 0, 'no error-level line for a quarantine refusal');
    // The rate_limited rule (src/limits/middleware.ts): the first refusal at once, the rest counted once per window.
    assert.ok(
      quarantineRecords <= 2,
      `50 requests of a quarantined DFSP (limited to 2 rps) wrote ${quarantineRecords} audit records and ${errorLines} error-level log lines`,
    );
  });

  test('the loopback admin listener refuses a Host that is not its own (DNS rebinding)', async () => {
    const get = (path: string, host: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        httpRequest({ host: '127.0.0.1', port: t.gw.admin.port, path, headers: { host } }, (res) => {
          let b = '';
          res.on('data', (c) => (b += c));
          res.on('end', () => resolve({ status: res.statusCode!, body: b }));
        })
          .on('error', reject)
          .end();
      });
    for (const host of [
      `127.0.0.1:${t.gw.admin.port}`,
      `localhost:${t.gw.admin.port}`,
      'LOCALHOST.',
      `[::1]:${t.gw.admin.port}`,
      'switchguard-admin:9464',
      'sg.ns.svc.cluster.local',
    ])
      assert.equal((await get('/metrics', host)).status, 200, host);
    for (const host of ['sg.svc.cluster.local.attacker.example', 'svc.cluster.local', '127.0.0.1.nip.io', 'localhost.attacker.example', '2130706433']) {
      const r = await get('/health', host);
      assert.equal(r.status, 421, host);
      assert.equal(JSON.parse(r.body).errorInformation.errorCode, '3000');
    }
    const rebound = await get('/metrics', `rebind.attacker.example:${t.gw.admin.port}`);
    const ready = await get('/ready', `rebind.attacker.example:${t.gw.admin.port}`);
    assert.ok(
      rebound.status >= 400 && ready.status !== 200 && ready.status !== 503,
      `a page served from rebind.attacker.example read /metrics (${rebound.status}, ${rebound.body.length} bytes, ` +
        `${/switchguard_quarantined_peers \d+/.exec(rebound.body)?.[0]}) and /ready (${ready.status}: ${ready.body.slice(0, 80)})`,
    );
  });
});
