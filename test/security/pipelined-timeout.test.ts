// Second re-review of 2026-12-02: a headers or request timeout of a message pipelined behind a request being forwarded
// was answered 408 when nothing had been written yet, which the client reads as the forwarded request's answer
// (HTTP/1.1 answers in order). src/http/listener-limits.ts now writes nothing in place of an owed answer: the earlier
// answers are sent and the connection is closed after them.
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { fspiopHeaders, startTestGateway, type TestGateway } from '../helpers/gateway.js';

const QUOTE = JSON.stringify({ quoteId: 'q1', transactionId: 't1', amount: { currency: 'USD', amount: '1' } });

/** A peer that reads each request whole, then answers 202 after `delayMs`. */
async function slowPeer(delayMs: number): Promise<{ url: string; server: Server; sockets: Set<Socket>; seen: () => number }> {
  const sockets = new Set<Socket>();
  let seen = 0;
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    let d = '';
    s.on('data', (c: Buffer) => {
      d += c.toString('latin1');
      const end = d.indexOf('\r\n\r\n');
      if (end < 0) return;
      const m = /content-length: (\d+)/i.exec(d.slice(0, end));
      if (m && d.length - end - 4 < Number(m[1])) return;
      d = '';
      seen++;
      setTimeout(() => s.writable && s.write('HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n'), delayMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server, sockets, seen: () => seen };
}

describe('a pipelined request refused or timed out behind one being forwarded, whose answer takes longer than the headers timeout', () => {
  let gw: TestGateway;
  let peer: Awaited<ReturnType<typeof slowPeer>>;
  before(async () => {
    peer = await slowPeer(1200);
    // Headers/request timeouts 300 ms; the upstream deadline stays 10 s + 10 s.
    gw = await startTestGateway({ env: { PEER_ENDPOINT: peer.url, HTTP_HEADERS_TIMEOUT_MS: '300', HTTP_REQUEST_TIMEOUT_MS: '300' } });
  });
  after(async () => {
    for (const s of peer.sockets) s.destroy();
    await gw.close();
    peer.server.close();
  });

  const head = Object.entries(fspiopHeaders('quotes', 'payeefsp'))
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n');
  const first = `POST /quotes HTTP/1.1\r\nhost: localhost\r\n${head}\r\ncontent-length: ${QUOTE.length}\r\n\r\n${QUOTE}`;
  const variants: [string, string][] = [
    ['a malformed header line', `${first}GET /quotes/q1 HTTP/1.1\r\nhost: localhost\r\nnot a header line\r\n\r\n`],
    ['headers that never finish', `${first}GET /quotes/q1 HTTP/1.1\r\nhost: localhost\r\n`],
  ];
  for (const [name, bytes] of variants) {
    test(`outbound, ${name}: the forwarded request is answered with the upstream's answer, not 408`, async () => {
      const before = peer.seen();
      const answer = await new Promise<string>((resolve, reject) => {
        const s = tcpConnect({ host: '127.0.0.1', port: gw.gw.outbound.port });
        let out = '';
        s.on('data', (d: Buffer) => {
          out += d.toString('latin1');
        });
        s.once('connect', () => s.write(bytes));
        s.on('error', reject);
        s.on('close', () => resolve(out));
        setTimeout(() => s.destroy(), 4000);
      });
      assert.equal(peer.seen(), before + 1, 'the first request was forwarded to the upstream');
      const line = answer.split('\r\n')[0] ?? '';
      assert.equal(line, 'HTTP/1.1 202 Accepted', `the forwarded request was answered ${JSON.stringify(answer.slice(0, 160))}`);
    });
  }
});
