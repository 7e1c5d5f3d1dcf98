// Second re-review of 2026-12-02 (docs/security.md, "Fifth review"): Hosts @hono/node-server does not turn into a URL
// (a port above 65535, an IPv6 literal that is not one, 1.2.3.999:80) and HTTP/1.1 without Host were answered before
// any stage ran: not bound to the peer, not charged to its limits, not logged with it. admitForRouting
// (src/http/client-error.ts) now follows node-server's own rule, and the listeners no longer let node refuse a missing
// Host itself (requireHostHeader: false).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import type { Issued } from '../../src/pki/forge-pki.js';
import { fspiopHeaders, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { makeTestPki, type TestPki } from '../helpers/pki.js';

function rawOnce(port: number, ca: string, cert: Issued, bytes: string): Promise<{ status: number; errorCode: string }> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ca, cert: cert.certPem, key: cert.keyPem });
    let out = '';
    const timer = setTimeout(() => s.destroy(), 3000);
    s.once('secureConnect', () => s.write(bytes));
    s.on('data', (d: Buffer) => {
      out += d.toString('latin1');
      const end = out.indexOf('\r\n\r\n');
      const m = /content-length: (\d+)/i.exec(out.slice(0, end));
      if (end >= 0 && m && out.length - end - 4 >= Number(m[1])) s.destroy();
    });
    s.on('error', reject);
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(out)?.[1] ?? 0), errorCode: /"errorCode":"(\d+)"/.exec(out)?.[1] ?? '' });
    });
  });
}

describe('Hosts @hono/node-server cannot read, and HTTP/1.1 without Host', () => {
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
  // The last: HTTP/1.1 with no Host at all is answered by node itself (http.Server requireHostHeader, on by default
  // since Node 20: a bare 400, no 'request' event), so admitForRouting never sees it; only HTTP/1.0 is covered.
  for (const host of ['localhost:99999', '[1::2::3]', '1.2.3.999:80', undefined]) {
    test(`Host ${host ?? '(none, HTTP/1.1)'}: a flood of them is charged to the DFSP's rate limit and logged with its peer`, async () => {
      const bytes = `GET /parties/MSISDN/1 HTTP/1.1\r\n${host === undefined ? '' : `host: ${host}\r\n`}${head}\r\n\r\n`;
      const cert = t.cert('dfsp1');
      const logsBefore = logged.length;
      const replies: { status: number; errorCode: string }[] = [];
      for (let i = 0; i < 30; i++) replies.push(await rawOnce(t.gw.inbound.port, pki.ca.certPem, cert, bytes));
      const limited = replies.filter((r) => r.status === 503 && r.errorCode === '2005').length;
      const lines = logged.slice(logsBefore).filter((l) => l.obj.peer === 'dfsp1').length;
      const statuses = [...new Set(replies.map((r) => `${r.status}/${r.errorCode}`))].join(',');
      assert.ok(
        limited >= 20 && lines === 30,
        `a DFSP limited to 2 rps sent 30 such requests at once: ${limited} refused by its limit (answers ${statuses}), ${lines} log lines name the peer`,
      );
    });
  }
});
