// Re-review of the fifth review's fixes (2026-12-02; docs/security.md, stage 1 and "Fifth review"). A request whose
// target or Host @hono/node-server cannot turn into a web Request was answered by the listener's errorHandler before
// the app ran: no peer binding, no quarantine, no limits, no request log line, no request metric. It is now given
// placeholders and its refusal answered by the router after those stages (src/http/client-error.ts admitForRouting).
// A second re-review found Hosts the first check let through, and HTTP/1.1 without Host refused by node itself.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fspiopHeaders, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { exchange, type GatewaySide } from './raw.js';

/** One request written as given on a fresh connection to one side; resolves the first answer's status and error code. */
async function rawOnce(t: GatewaySide, bytes: string): Promise<{ status: number; errorCode: string }> {
  const { answer } = await exchange(
    t,
    (s) => {
      let out = '';
      s.on('data', (d: Buffer) => {
        out += d.toString('latin1');
        const end = out.indexOf('\r\n\r\n');
        const m = /content-length: (\d+)/i.exec(out.slice(0, end));
        if (end >= 0 && m && out.length - end - 4 >= Number(m[1])) s.destroy(); // one whole answer read
      });
      s.write(bytes);
    },
    3000,
  );
  return { status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1] ?? 0), errorCode: /"errorCode":"(\d+)"/.exec(answer)?.[1] ?? '' };
}

describe('request targets refused by @hono/node-server before the app', () => {
  let pki: TestPki;
  let t: TestGateway;
  const logged: { level: string; obj: Record<string, unknown> }[] = [];
  const push = (level: string) => (obj: object) => void logged.push({ level, obj: obj as Record<string, unknown> });
  const logger = { info: push('info'), warn: push('warn'), error: push('error'), debug: push('debug') };

  before(async () => {
    pki = makeTestPki();
    const limitsPath = pki.write('limits.json', JSON.stringify({ fsps: { dfsp1: { rps: 2, burst: 0 } } }));
    const peersPath = pki.write('peers.json', JSON.stringify({ dfsp1: 'http://127.0.0.1:9/' }));
    t = await startTestGateway({
      pki,
      env: { PEERS_PATH: peersPath, PEER_ENDPOINT: 'http://127.0.0.1:9/', RATE_LIMITS_PATH: limitsPath, RATE_LIMIT_HOLD_MS: '0' },
      overrides: { logger },
    });
  });
  after(async () => {
    await t?.close();
    pki?.cleanup();
  });

  const head = Object.entries(fspiopHeaders('parties', 'dfsp1'))
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n');
  const get = (version: string, host: string | undefined) =>
    `GET /parties/MSISDN/1 HTTP/${version}\r\n${host === undefined ? '' : `host: ${host}\r\n`}${head}\r\n\r\n`;
  // The last four from the second re-review: Hosts node-server's own rule refuses (a port over 65535, an IPv6 literal
  // that is not one, an IPv4 literal out of range) and HTTP/1.1 without Host, which node refused itself before
  // (requireHostHeader) with a bare 400.
  const variants: [string, string][] = [
    ['a Host that is not a host name', get('1.1', 'not a host')],
    ['HTTP/1.0 without Host', get('1.0', undefined)],
    ['Host localhost:99999', get('1.1', 'localhost:99999')],
    ['Host [1::2::3]', get('1.1', '[1::2::3]')],
    ['Host 1.2.3.999:80', get('1.1', '1.2.3.999:80')],
    ['HTTP/1.1 without Host', get('1.1', undefined)],
  ];
  for (const [name, bytes] of variants) {
    test(`${name}: a flood of them is charged to the DFSP's rate limit and logged with its peer`, async () => {
      const logsBefore = logged.length;
      const replies: { status: number; errorCode: string }[] = [];
      for (let i = 0; i < 30; i++) replies.push(await rawOnce({ side: 'inbound', gw: t, fspId: 'dfsp1' }, bytes));
      const limited = replies.filter((r) => r.status === 503 && r.errorCode === '2005').length;
      const lines = logged.slice(logsBefore).filter((l) => l.obj.peer === 'dfsp1').length;
      const statuses = [...new Set(replies.map((r) => `${r.status}/${r.errorCode}`))].join(',');
      for (const r of replies) if (!(r.status === 503 && r.errorCode === '2005')) assert.deepEqual(r, { status: 400, errorCode: '3101' });
      assert.ok(
        limited >= 20 && lines === 30,
        `a DFSP limited to 2 rps sent 30 such requests at once: ${limited} refused by its limit (answers ${statuses}), ${lines} log lines name the peer`,
      );
    });
  }

  // Third re-review of 2026-12-02: requests node's http.Server answers or drops itself, before @hono/node-server.
  test('inbound, Expect other than 100-continue: 30 on one connection are charged to the DFSP and logged with its peer', async () => {
    const one = `GET /parties/MSISDN/1 HTTP/1.1\r\nhost: localhost\r\nexpect: x\r\n${head}\r\n\r\n`;
    const logsBefore = logged.length;
    // 30 pipelined on one keep-alive connection; read until the connection has been idle for 1 s.
    const { answer } = await exchange(
      { side: 'inbound', gw: t, fspId: 'dfsp1' },
      (s) => {
        s.write(one.repeat(30));
        let idle = setTimeout(() => s.destroy(), 1000);
        s.on('data', () => {
          clearTimeout(idle);
          idle = setTimeout(() => s.destroy(), 1000);
        });
      },
      15_000,
    );
    const statuses = [...answer.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]);
    const limited = (answer.match(/"errorCode":"2005"/g) ?? []).length;
    const lines = logged.slice(logsBefore).filter((l) => l.obj.peer === 'dfsp1').length;
    assert.ok(!statuses.includes('417'), 'node answered 417 itself');
    assert.ok(limited >= 20 && lines === 30, `${limited} of 30 refused by the DFSP's limit, ${lines} log lines name the peer`);
  });

  for (const side of ['inbound', 'outbound'] as const) {
    test(`${side}: absolute-form, '*' and CONNECT (authority-form) targets get an FSPIOP error`, async () => {
      const got: string[] = [];
      for (const line of ['GET http://localhost/parties/MSISDN/1 HTTP/1.1', 'OPTIONS * HTTP/1.1', 'CONNECT localhost:443 HTTP/1.1']) {
        const r = await rawOnce({ side, gw: t, fspId: 'dfsp1' }, `${line}\r\nhost: localhost\r\n${head}\r\n\r\n`);
        got.push(`${line.split(' ')[0]} -> ${r.status}/${r.errorCode || 'none'}`);
      }
      // Inbound, dfsp1's limit may refuse one first (2005); each is a refusal with an FSPIOP code either way.
      for (const g of got) assert.match(g, /-> (404\/3002|503\/2005)$/, got.join('; '));
    });
  }
});
