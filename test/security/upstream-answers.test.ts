// Hostile reviews of the forwarding path (2026-12-02; docs/security.md, "Fifth review"): what an upstream or a peer
// answering the gateway can hold, and what a client reads as the answer to a forwarded request. Real sockets: a test
// gateway on port 0, a peer behind PEER_ENDPOINT (outbound) or INBOUND_UPSTREAM_URL (inbound). Each case failed before
// src/proxy/upstream.ts had one deadline per exchange and src/http/listener-limits.ts stopped writing a parser error or
// a timeout in place of an owed answer.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fspiopHeaders, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { exchange, rawRequest, recordingPeer } from './raw.js';

const QUOTE = JSON.stringify({ quoteId: 'q1', transactionId: 't1', amount: { currency: 'USD', amount: '1' } });
const SIDES = ['outbound', 'inbound'] as const;
/** The FSPIOP head of a POST /quotes from the side's own FSP (payeefsp outbound, the payerfsp peer inbound). */
const quoteHead = (side: (typeof SIDES)[number]) =>
  Object.entries(fspiopHeaders('quotes', side === 'outbound' ? 'payeefsp' : 'payerfsp'))
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n');

describe('a peer that trickles its answer body', () => {
  let gw: TestGateway;
  let peer: Awaited<ReturnType<typeof recordingPeer>>;
  const timers = new Set<NodeJS.Timeout>();
  before(async () => {
    // Headers at once, then one byte of a 1000-byte body every 100 ms: each byte well within the 300 ms body
    // timeout, the whole answer 100 s.
    peer = await recordingPeer((s) => {
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
    await gw.close();
    peer.close();
  });

  for (const side of SIDES) {
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
  let peer: Awaited<ReturnType<typeof recordingPeer>>;
  before(async () => {
    // An honest upstream that answers 202 after 300 ms.
    peer = await recordingPeer((s) => {
      setTimeout(() => s.writable && s.write('HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n'), 300);
    });
    gw = await startTestGateway({ env: { PEER_ENDPOINT: peer.url, INBOUND_UPSTREAM_URL: peer.url } });
  });
  after(async () => {
    await gw.close();
    peer.close();
  });

  for (const side of SIDES) {
    test(`${side}: the first request, which was forwarded, is never answered with the parser's 3101`, async () => {
      const bytes = `POST /quotes HTTP/1.1\r\nhost: localhost\r\n${quoteHead(side)}\r\ncontent-length: ${QUOTE.length}\r\n\r\n${QUOTE}GET /quotes/q1 HTTP/1.1\r\nhost: localhost\r\nnot a header line\r\n\r\n`;
      const before = peer.seen();
      const { answer, closedAfterMs } = await exchange({ side, gw }, (s) => s.write(bytes), 2000);
      assert.equal(peer.seen(), before + 1, `the first request reached the upstream; answer ${JSON.stringify(answer.slice(0, 300))}`);
      const first = answer.split('\r\n')[0] ?? '';
      // The first answer on the connection is the first request's (RFC 9112 §9.3.2): it was forwarded, so it is not a
      // refusal. It gets the upstream's answer, and the connection is closed after it: the malformed one is not answered.
      assert.ok(!/^HTTP\/1\.1 400/.test(first), `the forwarded request was answered ${JSON.stringify(answer.slice(0, 160))}`);
      assert.equal(first, 'HTTP/1.1 202 Accepted');
      assert.equal(answer.match(/HTTP\/1\.1 /g)?.length, 1, 'one answer only');
      assert.ok(closedAfterMs < 1500, 'the connection was closed after the answer, not left open');
    });
  }

  for (const side of SIDES) {
    test(`${side}: a client that half-closes inside a request body is closed at once, the request never forwarded`, async () => {
      const before = peer.seen();
      // Half the body, then FIN: node's parser refuses the end of the stream inside the body.
      const { answer, closedAfterMs } = await exchange(
        { side, gw },
        (s) => s.end(`POST /quotes HTTP/1.1\r\nhost: localhost\r\n${quoteHead(side)}\r\ncontent-length: ${QUOTE.length}\r\n\r\n${QUOTE.slice(0, 10)}`),
        3000,
      );
      assert.ok(closedAfterMs < 1500, `closed after ${Math.round(closedAfterMs)} ms`);
      assert.doesNotMatch(answer, /HTTP\/1\.1 2/);
      await new Promise((r) => setTimeout(r, 400));
      assert.equal(peer.seen(), before, 'nothing reached the upstream');
    });
  }
});

describe('a malformed chunk in the body of the request being read', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({ env: { HTTP_HEADERS_TIMEOUT_MS: '4000', HTTP_REQUEST_TIMEOUT_MS: '4000' } });
  });
  after(async () => {
    await gw.close();
  });

  // Re-review of 2026-12-02: that request is the one refused, answered 400/3101 and closed at once, not held, paused,
  // until HTTP_REQUEST_TIMEOUT_MS and answered 408 (which the first version of the pipelining fix did).
  for (const side of SIDES) {
    test(`${side}: is refused at once, not held until the request timeout`, async () => {
      const { answer, closedAfterMs } = await exchange(
        { side, gw },
        (s) => {
          s.write(`POST /quotes HTTP/1.1\r\nhost: localhost\r\n${quoteHead(side)}\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{"\r\n`);
          // The app is reading the body by now: the next chunk header is not hexadecimal (HPE_INVALID_CHUNK_SIZE).
          setTimeout(() => s.write('zz\r\nnot a chunk\r\n'), 300);
        },
        8000,
      );
      const status = answer.split('\r\n')[0] ?? '';
      assert.ok(
        closedAfterMs < 2000 && /^HTTP\/1\.1 400/.test(status),
        `the malformed request was answered ${JSON.stringify(status)} and its connection closed after ${Math.round(closedAfterMs)} ms (request timeout 4000 ms)`,
      );
    });
  }
});

describe('a pipelined request refused or timed out behind one being forwarded, whose answer takes longer than the headers timeout', () => {
  let gw: TestGateway;
  let peer: Awaited<ReturnType<typeof recordingPeer>>;
  before(async () => {
    peer = await recordingPeer((s) => {
      setTimeout(() => s.writable && s.write('HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n'), 1200);
    });
    // Headers/request timeouts 300 ms; the upstream deadline stays 10 s + 10 s.
    gw = await startTestGateway({ env: { PEER_ENDPOINT: peer.url, HTTP_HEADERS_TIMEOUT_MS: '300', HTTP_REQUEST_TIMEOUT_MS: '300' } });
  });
  after(async () => {
    await gw.close();
    peer.close();
  });

  // Second re-review of 2026-12-02: node's headers or request timeout of the pipelined message wrote 408 when nothing
  // had been written yet, which the client reads as the forwarded request's answer (HTTP/1.1 answers in order).
  const first = `POST /quotes HTTP/1.1\r\nhost: localhost\r\n${quoteHead('outbound')}\r\ncontent-length: ${QUOTE.length}\r\n\r\n${QUOTE}`;
  const variants: [string, string][] = [
    ['a malformed header line', `${first}GET /quotes/q1 HTTP/1.1\r\nhost: localhost\r\nnot a header line\r\n\r\n`],
    ['headers that never finish', `${first}GET /quotes/q1 HTTP/1.1\r\nhost: localhost\r\n`],
  ];
  for (const [name, bytes] of variants) {
    test(`outbound, ${name}: the forwarded request is answered with the upstream's answer, not 408`, async () => {
      const before = peer.seen();
      const { answer } = await exchange({ side: 'outbound', gw }, (s) => s.write(bytes), 4000);
      assert.equal(peer.seen(), before + 1, 'the first request was forwarded to the upstream');
      const line = answer.split('\r\n')[0] ?? '';
      assert.equal(line, 'HTTP/1.1 202 Accepted', `the forwarded request was answered ${JSON.stringify(answer.slice(0, 160))}`);
    });
  }
});
