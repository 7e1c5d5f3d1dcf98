// Re-review of the fifth review's fixes (2026-12-02; docs/security.md, "Fifth review"). src/http/listener-limits.ts
// answers a parser error pipelined behind an unanswered request only after that request, pausing the socket. The
// unanswered request may be the very one the parser refused: a chunked body whose chunk header is malformed arrives
// after the request was handed to the app. That request is answered 400/3101 and closed at once, not held, paused,
// until HTTP_REQUEST_TIMEOUT_MS and answered 408 (which the first version of the fix did).
import assert from 'node:assert/strict';
import { connect as tcpConnect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { fspiopHeaders, startTestGateway, type TestGateway } from '../helpers/gateway.js';

describe('a malformed chunk in the body of the request being read', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({ env: { HTTP_HEADERS_TIMEOUT_MS: '4000', HTTP_REQUEST_TIMEOUT_MS: '4000' } });
  });
  after(async () => {
    await gw.close();
  });

  for (const side of ['outbound', 'inbound'] as const) {
    test(`${side}: is refused at once, not held until the request timeout`, async () => {
      const source = side === 'outbound' ? 'payeefsp' : 'payerfsp';
      const head = Object.entries(fspiopHeaders('quotes', source))
        .map(([k, v]) => `${k}: ${v}`)
        .join('\r\n');
      const t0 = performance.now();
      let closedAt = 0;
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
        s.once(side === 'outbound' ? 'connect' : 'secureConnect', () => {
          s.write(`POST /quotes HTTP/1.1\r\nhost: localhost\r\n${head}\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{"\r\n`);
          // The app is reading the body by now: the next chunk header is not hexadecimal (HPE_INVALID_CHUNK_SIZE).
          setTimeout(() => s.write('zz\r\nnot a chunk\r\n'), 300);
        });
        s.on('error', reject);
        s.on('close', () => {
          closedAt = performance.now() - t0;
          resolve(out);
        });
        setTimeout(() => s.destroy(), 8000);
      });
      const status = answer.split('\r\n')[0] ?? '';
      assert.ok(
        closedAt < 2000 && /^HTTP\/1\.1 400/.test(status),
        `the malformed request was answered ${JSON.stringify(status)} and its connection closed after ${Math.round(closedAt)} ms (request timeout 4000 ms)`,
      );
    });
  }
});
