// Hostile review of the forwarding and outbound path (2026-12-02; docs/security.md, "Fifth review"): what an upstream
// or a peer answering the gateway can hold, and what a client reads as the answer to a forwarded request. Real
// sockets: a test gateway on port 0, a hostile peer behind PEER_ENDPOINT (outbound) or INBOUND_UPSTREAM_URL (inbound).
// Both failed before src/proxy/upstream.ts had one deadline per exchange and src/http/listener-limits.ts answered a
// parser error only on a connection with no request unanswered.
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { fspiopHeaders, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { rawRequest } from './raw.js';

const QUOTE = JSON.stringify({ quoteId: 'q1', transactionId: 't1', amount: { currency: 'USD', amount: '1' } });

/** A peer that reads each request whole, then answers with `answer(socket)`. */
async function hostilePeer(answer: (s: Socket) => void): Promise<{ url: string; server: Server; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
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
      answer(s);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server, sockets };
}

describe('a peer that trickles its answer body', () => {
  let gw: TestGateway;
  let peer: Awaited<ReturnType<typeof hostilePeer>>;
  const timers = new Set<NodeJS.Timeout>();
  before(async () => {
    // Headers at once, then one byte of a 1000-byte body every 100 ms: each byte well within the 300 ms body
    // timeout, the whole answer 100 s.
    peer = await hostilePeer((s) => {
      s.write('HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n');
      const t = setInterval(() => {
        if (s.destroyed) {
          clearInterval(t);
          timers.delete(t);
        } else s.write(' ');
      }, 100);
      timers.add(t);
    });
    gw = await startTestGateway({
      env: { PEER_ENDPOINT: peer.url, INBOUND_UPSTREAM_URL: peer.url, UPSTREAM_HEADERS_TIMEOUT_MS: '300', UPSTREAM_BODY_TIMEOUT_MS: '300' },
    });
  });
  after(async () => {
    for (const t of timers) clearInterval(t);
    for (const s of peer.sockets) s.destroy();
    await gw.close();
    peer.server.close();
  });

  for (const side of ['outbound', 'inbound'] as const) {
    test(`${side}: the request is answered (2004) within a bound of the upstream timeouts, not held for as long as the peer trickles`, async () => {
      const t0 = performance.now();
      const target =
        side === 'outbound'
          ? { port: gw.gw.outbound.port, tls: false as const }
          : { port: gw.gw.inbound.port, ca: gw.pki.ca.certPem, cert: gw.cert('payerfsp') };
      const source = side === 'outbound' ? 'payeefsp' : 'payerfsp';
      // rawRequest gives up after 10 s: a gateway that still waits on the peer then fails the test.
      const r = await rawRequest(target, 'POST /quotes HTTP/1.1', Object.entries(fspiopHeaders('quotes', source)), QUOTE).catch((e: Error) => e);
      const ms = performance.now() - t0;
      assert.ok(!(r instanceof Error), `no answer after ${Math.round(ms)} ms (upstream timeouts 300 ms + 300 ms): ${r instanceof Error ? r.message : ''}`);
      assert.equal(r.status, 500, r.body);
      assert.equal(r.json().errorInformation.errorCode, '2004');
      assert.ok(ms < 3000, `answered after ${Math.round(ms)} ms`);
    });
  }
});

describe('a pipelined request the HTTP parser refuses, behind one that is being forwarded', () => {
  let gw: TestGateway;
  let peer: Awaited<ReturnType<typeof hostilePeer>>;
  let seen = 0;
  before(async () => {
    // An honest upstream that answers 202 after 300 ms.
    peer = await hostilePeer((s) => {
      seen++;
      setTimeout(() => s.write('HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n'), 300);
    });
    gw = await startTestGateway({ env: { PEER_ENDPOINT: peer.url, INBOUND_UPSTREAM_URL: peer.url } });
  });
  after(async () => {
    for (const s of peer.sockets) s.destroy();
    await gw.close();
    peer.server.close();
  });

  for (const side of ['outbound', 'inbound'] as const) {
    test(`${side}: the first request, which was forwarded, is never answered with the parser's 3101`, async () => {
      const source = side === 'outbound' ? 'payeefsp' : 'payerfsp';
      const head = Object.entries(fspiopHeaders('quotes', source))
        .map(([k, v]) => `${k}: ${v}`)
        .join('\r\n');
      const bytes = `POST /quotes HTTP/1.1\r\nhost: localhost\r\n${head}\r\ncontent-length: ${QUOTE.length}\r\n\r\n${QUOTE}GET /quotes/q1 HTTP/1.1\r\nhost: localhost\r\nnot a header line\r\n\r\n`;
      const before = seen;
      const t0 = performance.now();
      const answer = await new Promise<string>((resolve, reject) => {
        const cert = gw.cert('payerfsp');
        const s =
          side === 'outbound'
            ? tcpConnect({ host: '127.0.0.1', port: gw.gw.outbound.port })
            : tlsConnect({ host: '127.0.0.1', port: gw.gw.inbound.port, servername: 'localhost', ca: gw.pki.ca.certPem, cert: cert.certPem, key: cert.keyPem });
        let out = '';
        s.on('data', (d: Buffer) => {
          out += d.toString('latin1');
        });
        s.once(side === 'outbound' ? 'connect' : 'secureConnect', () => s.write(bytes));
        s.on('error', reject);
        s.on('close', () => resolve(out));
        setTimeout(() => s.destroy(), 2000);
      });
      assert.equal(seen, before + 1, `the first request reached the upstream; answer ${JSON.stringify(answer.slice(0, 300))}`);
      const first = answer.split('\r\n')[0] ?? '';
      // The first answer on the connection is the first request's (RFC 9112 §9.3.2): it was forwarded, so it is not a
      // refusal. It gets the upstream's answer, and the connection is closed after it: the malformed one is not answered.
      assert.ok(!/^HTTP\/1\.1 400/.test(first), `the forwarded request was answered ${JSON.stringify(answer.slice(0, 160))}`);
      assert.equal(first, 'HTTP/1.1 202 Accepted');
      assert.equal(answer.match(/HTTP\/1\.1 /g)?.length, 1, 'one answer only');
      assert.ok(performance.now() - t0 < 1500, 'the connection was closed after the answer, not left open');
    });
  }

  for (const side of ['outbound', 'inbound'] as const) {
    test(`${side}: a client that half-closes inside a request body is closed at once, the request never forwarded`, async () => {
      const source = side === 'outbound' ? 'payeefsp' : 'payerfsp';
      const head = Object.entries(fspiopHeaders('quotes', source))
        .map(([k, v]) => `${k}: ${v}`)
        .join('\r\n');
      const before = seen;
      const t0 = performance.now();
      const answer = await new Promise<string>((resolve, reject) => {
        const cert = gw.cert('payerfsp');
        const s =
          side === 'outbound'
            ? tcpConnect({ host: '127.0.0.1', port: gw.gw.outbound.port })
            : tlsConnect({ host: '127.0.0.1', port: gw.gw.inbound.port, servername: 'localhost', ca: gw.pki.ca.certPem, cert: cert.certPem, key: cert.keyPem });
        let out = '';
        s.on('data', (d: Buffer) => {
          out += d.toString('latin1');
        });
        // Half the body, then FIN: node's parser refuses the end of the stream inside the body.
        s.once(side === 'outbound' ? 'connect' : 'secureConnect', () =>
          s.end(`POST /quotes HTTP/1.1\r\nhost: localhost\r\n${head}\r\ncontent-length: ${QUOTE.length}\r\n\r\n${QUOTE.slice(0, 10)}`),
        );
        s.on('error', reject);
        s.on('close', () => resolve(out));
        setTimeout(() => s.destroy(), 3000);
      });
      assert.ok(performance.now() - t0 < 1500, `closed after ${Math.round(performance.now() - t0)} ms`);
      assert.doesNotMatch(answer, /HTTP\/1\.1 2/);
      await new Promise((r) => setTimeout(r, 400));
      assert.equal(seen, before, 'nothing reached the upstream');
    });
  }
});
